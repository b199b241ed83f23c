//! The one table `make bench` prints: the rows, the baselines in the same
//! columns, the ratios the targets are written in, and the memory.

use std::fmt::Write as _;

use crate::load::Stats;
use crate::run::{BackendRows, MemoryRow, Settings};

pub struct Baselines {
    pub bare: Stats,
    pub libargon2: Option<f64>,
    pub libargon2_fastapi: Option<f64>,
}

const LABEL: usize = 46;

pub fn render(
    settings: &Settings<'_>,
    base: &Baselines,
    backends: &[(&str, BackendRows)],
) -> String {
    let mut out = String::new();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        out,
        "\nauth-service, release build: {} connections, {} s per row, {cores} cores \
         (load generator on the same machine); argon2id m={} KiB t={} p={}",
        settings.connections,
        settings.duration.as_secs_f64(),
        settings.service_argon2.m_kib,
        settings.service_argon2.t,
        settings.service_argon2.p,
    );
    let mut header = format!("{:<LABEL$}", "");
    let mut sub = format!("{:<LABEL$}", "");
    for (name, _) in backends {
        let _ = write!(header, "| {name:<30}");
        let _ = write!(sub, "| {:>9} {:>9} {:>9} ", "req/s", "p50 ms", "p99 ms");
    }
    let _ = writeln!(out, "{header}\n{sub}");
    let line = "-".repeat(LABEL + 32 * backends.len());
    let _ = writeln!(out, "{line}");

    let row = |out: &mut String, label: &str, pick: &dyn Fn(&BackendRows) -> &Stats| {
        let _ = write!(out, "{label:<LABEL$}");
        for (_, rows) in backends {
            let _ = write!(out, "{}", cells(pick(rows)));
        }
        let _ = writeln!(out);
    };
    row(&mut out, "POST /register", &|r| &r.register);
    row(&mut out, "POST /login", &|r| &r.login);
    row(
        &mut out,
        "POST /login (m=64 MiB t=3 p=4, fastapi-users)",
        &|r| &r.login_fastapi,
    );
    row(&mut out, "POST /refresh", &|r| &r.refresh);
    row(&mut out, "GET /me", &|r| &r.me);
    row(
        &mut out,
        "GET /me while logins fill the hashing slots",
        &|r| &r.me_mixed,
    );
    row(&mut out, "  (those logins)", &|r| &r.login_mixed);
    row(&mut out, "GET /healthz", &|r| &r.healthz);
    row(&mut out, "base: refresh's database work (sqlx)", &|r| {
        &r.database_refresh
    });
    let argon2 = format!("base: argon2 verify, {cores} threads");
    row(&mut out, &argon2, &|r| &r.argon2);
    row(&mut out, "base: argon2 verify m=64 MiB t=3 p=4", &|r| {
        &r.argon2_fastapi
    });
    let same = |out: &mut String, label: &str, stats: &Stats| {
        let _ = write!(out, "{label:<LABEL$}");
        for _ in backends {
            let _ = write!(out, "{}", cells(stats));
        }
        let _ = writeln!(out);
    };
    same(&mut out, "base: bare axum route", &base.bare);
    let fixed = |out: &mut String, label: &str, value: Option<f64>| {
        let _ = write!(out, "{label:<LABEL$}");
        for _ in backends {
            let cell = value.map_or_else(|| "not measured".to_owned(), |v| format!("{v:.1}"));
            let _ = write!(out, "| {cell:>9} {:>20}", "");
        }
        let _ = writeln!(out);
    };
    fixed(
        &mut out,
        &format!("base: libargon2 verify, {cores} threads"),
        base.libargon2,
    );
    fixed(
        &mut out,
        "base: libargon2 verify m=64 MiB t=3 p=4",
        base.libargon2_fastapi,
    );
    let _ = writeln!(out, "{line}");

    let ratio = |out: &mut String, label: &str, f: &dyn Fn(&BackendRows) -> Option<f64>| {
        let _ = write!(out, "{label:<LABEL$}");
        for (_, rows) in backends {
            let cell = f(rows).map_or_else(|| "-".to_owned(), |r| format!("{:.0} %", r * 100.0));
            let _ = write!(out, "| {cell:>30} ");
        }
        let _ = writeln!(out);
    };
    let of = |a: &Stats, b: &Stats| Some(a.rate() / b.rate().max(1e-9));
    ratio(&mut out, "login / argon2 verify (target >= 95 %)", &|r| {
        of(&r.login, &r.argon2)
    });
    ratio(
        &mut out,
        "login / libargon2 verify (target >= 100 %)",
        &|r| base.libargon2.map(|c| r.login.rate() / c),
    );
    ratio(
        &mut out,
        "fastapi login / argon2 verify at its params",
        &|r| of(&r.login_fastapi, &r.argon2_fastapi),
    );
    ratio(&mut out, "refresh / database work (target >= 70 %)", &|r| {
        of(&r.refresh, &r.database_refresh)
    });
    ratio(&mut out, "/me / bare route (target >= 50 %)", &|r| {
        of(&r.me, &base.bare)
    });
    ratio(
        &mut out,
        "/me p99 with logins / 20 ms (target <= 100 %)",
        &|r| Some(r.me_mixed.p99_ms() / 20.0),
    );
    ratio(&mut out, "/healthz / bare route", &|r| {
        of(&r.healthz, &base.bare)
    });
    let _ = writeln!(out, "{line}");

    let memory = |out: &mut String, label: &str, pick: &dyn Fn(&BackendRows) -> MemoryRow| {
        let _ = write!(out, "{label:<LABEL$}");
        for (_, rows) in backends {
            let m = pick(rows);
            let cell = format!("{:.0} / {:.0} / {:.0}", m.idle_mib, m.peak_mib, m.after_mib);
            let _ = write!(out, "| {cell:>30} ");
        }
        let _ = writeln!(out);
    };
    memory(
        &mut out,
        "RSS MiB idle / peak (register+login) / after",
        &|r| r.memory,
    );
    memory(
        &mut out,
        "RSS MiB, same at m=64 MiB t=3 p=4 (login)",
        &|r| r.memory_fastapi,
    );
    let errors: u64 = backends
        .iter()
        .map(|(_, r)| {
            [
                &r.register,
                &r.login,
                &r.login_fastapi,
                &r.refresh,
                &r.me,
                &r.me_mixed,
                &r.login_mixed,
                &r.healthz,
                &r.database_refresh,
            ]
            .iter()
            .map(|s| s.errors)
            .sum::<u64>()
        })
        .sum::<u64>()
        + base.bare.errors;
    let _ = writeln!(out, "failed requests (any row): {errors}");
    out
}

fn cells(stats: &Stats) -> String {
    let mut rate = format!("{:.1}", stats.rate());
    if stats.errors > 0 {
        rate = format!("{rate}!{}", stats.errors);
    }
    format!(
        "| {rate:>9} {:>9.2} {:>9.2} ",
        stats.p50_ms(),
        stats.p99_ms()
    )
}
