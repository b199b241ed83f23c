//! `auth-bench soak` (`make soak`): the service under a mixed workload for a
//! while (5 minutes by default), with email verification on and its mail going
//! to a real SMTP server that the soak owns. Fails on any 5xx or other
//! unexpected answer, on any lost or duplicated mail, and on resident memory
//! growing more than a limit (10 %) after warm-up. See `scripts/soak.sh`.

mod journey;
mod mail_audit;
mod mailbox;
mod report;
mod rss;
mod tally;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::service::{Database, Service, Target};
use journey::Plan;
use mailbox::Mailbox;
use tally::Tally;

/// Where the service's links point (never visited: the soak reads the token).
const PUBLIC_URL: &str = "http://soak.test";
/// The first part of the run, in which memory may still grow.
const WARM_UP_SHARE: f64 = 0.2;
/// Shortest access-token lifetime the soak sets (see [`access_token_ttl`]).
const SHORTEST_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(60);

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: Target,
    /// How long the load runs on each backend.
    #[arg(long, env = "SOAK_DURATION", default_value = "5m", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Virtual users, each going through journeys one after the other. The
    /// service answers 503 past 16 waiting hashes per core: stay under that.
    #[arg(long, env = "SOAK_USERS", default_value_t = 16)]
    users: usize,
    /// Refreshes, and then GET /me calls, per session.
    #[arg(long, env = "SOAK_REPEAT", default_value_t = 5)]
    repeat: usize,
    /// Most RSS growth after warm-up, in per cent.
    #[arg(long, env = "SOAK_RSS_LIMIT", default_value_t = 10.0)]
    rss_limit: f64,
}

/// Soaks each backend asked for: whether all passed (each printed why not).
pub async fn run(args: Args) -> anyhow::Result<bool> {
    let mut backends = Vec::new();
    if args.target.sqlite {
        backends.push(("SQLite", None));
    }
    if let Some(url) = &args.target.postgres {
        backends.push(("PostgreSQL", Some(url.clone())));
    }
    if backends.is_empty() {
        bail!("nothing to soak: give --sqlite and/or --postgres URL");
    }
    let mut failed = Vec::new();
    for (label, postgres) in backends {
        let dir = crate::temp_dir("soak")?;
        let database = match postgres {
            Some(url) => Database::Postgres(url),
            None => Database::Sqlite(dir.clone()),
        };
        if soak(&args, &database, &dir, label).await? {
            let _ = std::fs::remove_dir_all(&dir);
        } else {
            println!("  the service's log and data are kept in {}", dir.display());
            failed.push(label);
        }
    }
    if failed.is_empty() {
        println!("soak passed");
    } else {
        println!("soak FAILED on {}", failed.join(" and "));
    }
    Ok(failed.is_empty())
}

/// One backend: true when it passed.
async fn soak(args: &Args, database: &Database, dir: &Path, label: &str) -> anyhow::Result<bool> {
    let mailbox = Arc::new(Mailbox::start().await?);
    let warm_up = args.duration.mul_f64(WARM_UP_SHARE);
    let ttl = access_token_ttl(warm_up);
    let env = [
        ("REQUIRE_EMAIL_VERIFICATION", "true".to_owned()),
        ("SMTP_URL", mailbox.url()),
        ("PUBLIC_URL", PUBLIC_URL.to_owned()),
        ("ACCESS_TOKEN_TTL", format!("{}s", ttl.as_secs())),
    ];
    let port = free_port()?;
    let argon2 = crate::SERVICE_ARGON2;
    let service =
        Service::start_with(&args.target.service, port, dir, database, argon2, &env).await?;
    let service = Arc::new(service);
    let plan = Arc::new(Plan {
        addr: service.addr,
        repeat: args.repeat,
        mail_wait: Duration::from_secs(30),
        run_id: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
        verify_link: format!("{PUBLIC_URL}/verify-email?token="),
    });
    eprintln!(
        "soak on {label}: {:?} with {} virtual users (register, mail, verify, login, \
         {} × refresh and GET /me, logout), ACCESS_TOKEN_TTL={ttl:?} …",
        args.duration, args.users, args.repeat
    );

    let sampler = rss::Sampler::start(Arc::clone(&service));
    let deadline = Instant::now() + args.duration;
    let users: Vec<_> = (0..args.users)
        .map(|n| {
            let user = journey::virtual_user(n, Arc::clone(&plan), Arc::clone(&mailbox), deadline);
            tokio::spawn(user)
        })
        .collect();
    let mut tally = Tally::default();
    for user in users {
        tally.merge(user.await?);
    }
    let samples = sampler.stop().await?;

    let marker = mail_audit::deliver_marker(&plan, &mailbox).await;
    let marker_address = marker.as_deref().unwrap_or_default();
    let mail = mailbox.with_delivered(|delivered| {
        mail_audit::audit(
            &tally.registered,
            delivered,
            marker_address,
            &plan.verify_link,
        )
    });
    let rss = rss::summarize(&samples, warm_up);
    drop(service);

    let outcome = report::Outcome {
        tally: &tally,
        marker: &marker,
        mail: &mail,
        rss: rss.as_ref(),
        rss_limit_pct: args.rss_limit,
    };
    println!("soak on {label}, {:?}:", args.duration);
    print!("{}", report::render(&outcome));
    let failures = report::failures(&outcome);
    if failures.is_empty() {
        println!("  PASS");
        return Ok(true);
    }
    println!("  FAIL on {label}:");
    for failure in &failures {
        println!("    - {failure}");
    }
    for example in &tally.examples {
        println!("    e.g. {example}");
    }
    Ok(false)
}

/// The access tokens' lifetime for the soak: the warm-up, at least a minute.
/// The service remembers each verified access token until it expires (bounded
/// by SESSION_CACHE_SIZE), about 1 KiB each, one per journey: with the default
/// 15 minutes that memory fills for 15 minutes, which a 5-minute run would
/// read as growth. Expiring within the warm-up, it is full by the time the
/// warm-up level is taken, and any growth after that is something else.
fn access_token_ttl(warm_up: Duration) -> Duration {
    warm_up.max(SHORTEST_ACCESS_TOKEN_TTL)
}

/// A port nothing listens on now (the service binds it a moment later).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
