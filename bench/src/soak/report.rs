//! The soak's short report (requests by step and status, mail, RSS) and its
//! verdict: the list of reasons it failed, empty when it passed.

use std::fmt::Write as _;

use super::mail_audit::MailAudit;
use super::rss::Summary;
use super::tally::{Step, Tally};

/// What one backend's run produced.
pub struct Outcome<'a> {
    pub tally: &'a Tally,
    /// `Err`: the marker's mail never came, so the audit is not complete.
    pub marker: &'a anyhow::Result<String>,
    pub mail: &'a MailAudit,
    pub rss: Option<&'a Summary>,
    pub rss_limit_pct: f64,
}

pub fn render(outcome: &Outcome<'_>) -> String {
    let tally = outcome.tally;
    let mut out = String::new();
    let _ = writeln!(out, "  {:<28} {:>9}  answers", "request", "count");
    for step in Step::ALL {
        let answers: Vec<String> = tally
            .statuses
            .iter()
            .filter(|((s, _), _)| *s == step)
            .map(|((_, status), n)| format!("{status} ×{n}"))
            .chain(tally.no_answer.get(&step).map(|n| format!("none ×{n}")))
            .collect();
        let _ = writeln!(
            out,
            "  {:<28} {:>9}  {}",
            step.label(),
            tally.requests(step),
            answers.join(", ")
        );
    }
    let _ = writeln!(out, "  journeys completed: {}", tally.journeys);
    let mail = outcome.mail;
    let _ = writeln!(
        out,
        "  mail: {} registrations, {} verification mails ({} delivered in all); \
         lost {}, duplicated {}, unexpected {}, repeated Message-ID {}",
        mail.registrations,
        mail.verification_mails,
        mail.delivered,
        mail.lost.len(),
        mail.duplicated.len(),
        mail.unexpected.len(),
        mail.repeated_ids
    );
    let Some(rss) = outcome.rss else {
        let _ = writeln!(out, "  RSS: too few samples (the run is too short)");
        return out;
    };
    let _ = writeln!(
        out,
        "  RSS (MiB, {} samples): warm-up {:.1}, highest after it {:.1} ({:+.1} %, limit {} %), \
         end {:.1}, peak {:.1}",
        rss.samples,
        rss.warm_up_mib,
        rss.after_mib,
        rss.growth_pct,
        outcome.rss_limit_pct,
        rss.end_mib,
        rss.peak_mib
    );
    let fifths: Vec<String> = rss
        .fifths
        .iter()
        .map(|(low, high)| format!("{low:.1}–{high:.1}"))
        .collect();
    let _ = writeln!(
        out,
        "  RSS by fifth of the run (lowest–highest MiB): {}",
        fifths.join(" | ")
    );
    out
}

/// Why the run failed; empty when it passed.
pub fn failures(outcome: &Outcome<'_>) -> Vec<String> {
    let tally = outcome.tally;
    let mut failures = Vec::new();
    let (server_errors, other_statuses) = tally.unexpected();
    let unanswered: u64 = tally.no_answer.values().sum();
    for (n, what) in [
        (server_errors, "5xx answers"),
        (other_statuses, "answers with another status than expected"),
        (unanswered, "requests without an answer"),
        (
            tally.wrong_bodies,
            "answers with the right status but the wrong content",
        ),
        (
            tally.mail_waits_failed,
            "users who waited in vain for their verification mail",
        ),
    ] {
        if n > 0 {
            failures.push(format!("{what}: {n}"));
        }
    }
    if tally.journeys == 0 {
        failures.push("no journey completed".into());
    }
    if let Err(e) = outcome.marker {
        failures.push(format!("{e:#}"));
    }
    let mail = outcome.mail;
    for (list, what) in [
        (
            &mail.lost,
            "lost mail: registrations without their verification mail",
        ),
        (
            &mail.duplicated,
            "duplicated mail: registrations with more than one verification mail",
        ),
        (&mail.unexpected, "unexpected mail"),
    ] {
        if !list.is_empty() {
            let first: Vec<&str> = list.iter().take(3).map(String::as_str).collect();
            failures.push(format!(
                "{what}: {} (first: {})",
                list.len(),
                first.join(", ")
            ));
        }
    }
    if mail.repeated_ids > 0 {
        failures.push(format!(
            "duplicated mail: messages with an earlier message's Message-ID: {}",
            mail.repeated_ids
        ));
    }
    match outcome.rss {
        Some(rss) if rss.growth_pct > outcome.rss_limit_pct => failures.push(format!(
            "RSS grew {:.1} % after warm-up ({:.1} → {:.1} MiB), over the {} % limit",
            rss.growth_pct, rss.warm_up_mib, rss.after_mib, outcome.rss_limit_pct
        )),
        Some(_) => {}
        None => failures.push("too few RSS samples to judge growth (run longer)".into()),
    }
    failures
}
