//! What the virtual users saw: every answer's status by step, broken
//! connections, and the problems that are not a status (a missing mail, a
//! body that says something else than it should), with the first few examples.

use std::collections::BTreeMap;

use hyper::StatusCode;

/// One request of the journey.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    Register,
    VerifyEmail,
    Login,
    Refresh,
    Me,
    Logout,
    /// The last refresh token of the session, once more after its logout.
    RefreshAfterLogout,
}

impl Step {
    pub const ALL: [Step; 7] = [
        Step::Register,
        Step::VerifyEmail,
        Step::Login,
        Step::Refresh,
        Step::Me,
        Step::Logout,
        Step::RefreshAfterLogout,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Step::Register => "POST /register",
            Step::VerifyEmail => "POST /verify-email",
            Step::Login => "POST /login",
            Step::Refresh => "POST /refresh",
            Step::Me => "GET /me",
            Step::Logout => "POST /logout",
            Step::RefreshAfterLogout => "POST /refresh after logout",
        }
    }

    /// The one status a good answer has (API.md with verification on).
    pub fn expected(self) -> StatusCode {
        match self {
            Step::Register => StatusCode::ACCEPTED,
            Step::VerifyEmail | Step::Login | Step::Refresh | Step::Me => StatusCode::OK,
            Step::Logout => StatusCode::NO_CONTENT,
            Step::RefreshAfterLogout => StatusCode::UNAUTHORIZED,
        }
    }
}

/// Examples kept per tally (the counts are complete).
const EXAMPLES: usize = 5;

#[derive(Default)]
pub struct Tally {
    /// Answers by step and status.
    pub statuses: BTreeMap<(Step, u16), u64>,
    /// Requests that got no answer (connection broken, or no answer in time).
    pub no_answer: BTreeMap<Step, u64>,
    /// Addresses whose registration was answered 202.
    pub registered: Vec<String>,
    /// Journeys that went from registration to the refresh after logout.
    pub journeys: u64,
    /// Verification mails that did not arrive while their user waited.
    pub mail_waits_failed: u64,
    /// Answers with the right status but the wrong content.
    pub wrong_bodies: u64,
    /// The first few of every kind of failure, for the report.
    pub examples: Vec<String>,
}

impl Tally {
    pub fn answered(&mut self, step: Step, status: StatusCode) {
        *self.statuses.entry((step, status.as_u16())).or_default() += 1;
    }

    pub fn unanswered(&mut self, step: Step, why: &str) {
        *self.no_answer.entry(step).or_default() += 1;
        self.example(format!("{}: no answer: {why}", step.label()));
    }

    pub fn example(&mut self, what: String) {
        if self.examples.len() < EXAMPLES {
            self.examples.push(what);
        }
    }

    pub fn merge(&mut self, other: Tally) {
        for (key, n) in other.statuses {
            *self.statuses.entry(key).or_default() += n;
        }
        for (step, n) in other.no_answer {
            *self.no_answer.entry(step).or_default() += n;
        }
        self.registered.extend(other.registered);
        self.journeys += other.journeys;
        self.mail_waits_failed += other.mail_waits_failed;
        self.wrong_bodies += other.wrong_bodies;
        for example in other.examples {
            self.example(example);
        }
    }

    /// Requests of `step`, answered or not.
    pub fn requests(&self, step: Step) -> u64 {
        let answered: u64 = self
            .statuses
            .iter()
            .filter(|((s, _), _)| *s == step)
            .map(|(_, n)| n)
            .sum();
        answered + self.no_answer.get(&step).copied().unwrap_or(0)
    }

    /// Answers whose status is not the step's expected one: (5xx, others).
    pub fn unexpected(&self) -> (u64, u64) {
        let mut server_errors = 0;
        let mut others = 0;
        for ((step, status), n) in &self.statuses {
            if *status >= 500 {
                server_errors += n;
            } else if *status != step.expected().as_u16() {
                others += n;
            }
        }
        (server_errors, others)
    }
}
