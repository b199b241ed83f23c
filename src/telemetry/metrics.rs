//! The service's metrics, served at GET /metrics in the Prometheus text format.
//!
//! Each application has its own recorder ([`Metrics`]), not the `metrics`
//! facade's global one: several applications in one process (the tests, a
//! sibling instance) each count only their own requests, and nothing is left in
//! a global after an application ends. Recording goes through
//! `metrics::with_local_recorder`, so the facade's macros still do the work.
//!
//! Every label value is a fixed word chosen here or by the caller (`&'static
//! str`), a route template, a method, a status, or a served gRPC service and
//! method: never an email, a token or a path with an id in it.

use std::sync::Arc;
use std::time::Duration;

use ::metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
    with_local_recorder,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Bucket bounds (seconds) of every latency histogram: from a cached /me to a
/// request that waited for a hashing slot or timed out.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

const HTTP_REQUESTS: &str = "auth_http_requests_total";
const HTTP_DURATION: &str = "auth_http_request_duration_seconds";
const GRPC_REQUESTS: &str = "auth_grpc_requests_total";
const GRPC_DURATION: &str = "auth_grpc_request_duration_seconds";
const LOGINS: &str = "auth_logins_total";
const REFRESHES: &str = "auth_refreshes_total";
const RATE_LIMITED: &str = "auth_rate_limited_total";
const HASH_WAIT: &str = "auth_password_hash_wait_seconds";
const HASH_REJECTED: &str = "auth_password_hash_rejected_total";
const HASH_QUEUED: &str = "auth_password_hash_queue_depth";
const HASH_RUNNING: &str = "auth_password_hash_running";
const OUTBOX_DEPTH: &str = "auth_outbox_depth";
const OUTBOX_SENT: &str = "auth_outbox_sent_total";
const OUTBOX_FAILURES: &str = "auth_outbox_send_failures_total";
const RETENTION_DELETED: &str = "auth_retention_deleted_total";

/// The labels of a gRPC call's series.
fn grpc_labels(service: &str, method: &str, code: &'static str) -> [(&'static str, String); 3] {
    [
        ("service", service.to_owned()),
        ("method", method.to_owned()),
        ("code", code.to_owned()),
    ]
}

/// One application's metrics: cheap to clone, every clone counting into the same
/// recorder.
#[derive(Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
}

/// Which outbox a message waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    Mail,
    Webhooks,
}

impl Queue {
    fn label(self) -> &'static str {
        match self {
            Queue::Mail => "mail",
            Queue::Webhooks => "webhooks",
        }
    }
}

/// How a failed send ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// It will be tried again.
    Retry,
    /// Given up on (too many attempts, or a permanent refusal).
    Dead,
}

/// What is measured at scrape time rather than counted as it happens.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Password hashes waiting for a hashing thread.
    pub hashes_queued: usize,
    /// Password hashes running now.
    pub hashes_running: usize,
    /// Messages waiting in each outbox; `None` when the database did not answer
    /// (the last known depth stays).
    pub outbox: Option<(i64, i64)>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        // `set_buckets` makes every histogram a Prometheus histogram (without it,
        // the exporter renders summaries); the bounds are valid, so it cannot fail.
        let builder = PrometheusBuilder::new();
        let recorder = match builder.set_buckets(LATENCY_BUCKETS) {
            Ok(builder) => builder.build_recorder(),
            Err(_) => PrometheusBuilder::new().build_recorder(),
        };
        let handle = recorder.handle();
        let metrics = Metrics {
            recorder: Arc::new(recorder),
            handle,
        };
        metrics.describe();
        metrics
    }

    fn record(&self, f: impl FnOnce()) {
        with_local_recorder(self.recorder.as_ref(), f);
    }

    /// The HELP lines, and every series that exists from the start (so that a
    /// dashboard sees zeroes rather than nothing).
    fn describe(&self) {
        self.record(|| {
            describe_counter!(
                HTTP_REQUESTS,
                "HTTP requests by route template, method and status"
            );
            describe_histogram!(
                HTTP_DURATION,
                Unit::Seconds,
                "HTTP request latency by route template, method and status"
            );
            describe_counter!(
                GRPC_REQUESTS,
                "gRPC calls by service, method and status code, counted when the call ends"
            );
            describe_histogram!(
                GRPC_DURATION,
                Unit::Seconds,
                "gRPC call duration (to the status; a stream's whole life) by service, method and status code"
            );
            describe_counter!(LOGINS, "Logins by method and outcome");
            describe_counter!(REFRESHES, "Refresh-token exchanges by outcome");
            describe_counter!(
                RATE_LIMITED,
                "Requests refused by the rate limiter, by policy"
            );
            describe_histogram!(
                HASH_WAIT,
                Unit::Seconds,
                "Time a password hash waited for a hashing thread"
            );
            describe_counter!(
                HASH_REJECTED,
                "Password hashes turned away because the hashing queue was full"
            );
            describe_gauge!(HASH_QUEUED, "Password hashes waiting for a hashing thread");
            describe_gauge!(HASH_RUNNING, "Password hashes running now");
            describe_gauge!(
                OUTBOX_DEPTH,
                "Messages waiting to be sent, by outbox (the whole database's, on every instance)"
            );
            describe_counter!(OUTBOX_SENT, "Messages sent, by outbox");
            describe_counter!(
                OUTBOX_FAILURES,
                "Failed sends, by outbox and whether the message will be retried or is dead"
            );
            describe_counter!(
                RETENTION_DELETED,
                "Rows deleted by retention on this instance, by kind"
            );
            counter!(HASH_REJECTED).absolute(0);
            for queue in [Queue::Mail, Queue::Webhooks] {
                counter!(OUTBOX_SENT, "queue" => queue.label()).absolute(0);
                for result in ["retry", "dead"] {
                    counter!(OUTBOX_FAILURES, "queue" => queue.label(), "result" => result)
                        .absolute(0);
                }
            }
        });
    }

    /// One HTTP request: `route` is the matched route template (e.g.
    /// `/sessions/{id}`), or a fixed word for requests that matched none.
    pub fn http_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let labels = [
            ("route", route.to_owned()),
            ("method", method.to_owned()),
            ("status", status.to_string()),
        ];
        self.timed(HTTP_REQUESTS, HTTP_DURATION, &labels, elapsed);
    }

    /// One gRPC call ended with status `code` (`OK`, `UNAUTHENTICATED`, ...):
    /// `service` and `method` are one of the served methods (e.g.
    /// `auth.v1.AuthService`, `Login`), or a fixed word for a call to none.
    pub fn grpc_request(&self, service: &str, method: &str, code: &'static str, elapsed: Duration) {
        let labels = grpc_labels(service, method, code);
        self.timed(GRPC_REQUESTS, GRPC_DURATION, &labels, elapsed);
    }

    /// Counts one request (or call) in `total` and its latency in `latency`.
    fn timed(
        &self,
        total: &'static str,
        latency: &'static str,
        labels: &[(&'static str, String)],
        elapsed: Duration,
    ) {
        self.record(|| {
            counter!(total, labels).increment(1);
            histogram!(latency, labels).record(elapsed.as_secs_f64());
        });
    }

    /// The gRPC methods served, each counted as zero successful calls until it
    /// is called, so that a dashboard sees zeroes rather than nothing.
    pub fn grpc_served<'a>(&self, methods: impl IntoIterator<Item = (&'a str, &'a str)>) {
        self.record(|| {
            for (service, method) in methods {
                counter!(GRPC_REQUESTS, &grpc_labels(service, method, "OK")).increment(0);
            }
        });
    }

    /// A login attempt ended: `method` is how (`password`, `mfa`, `passkey`),
    /// `outcome` what came of it (`succeeded`, `mfa_required`, or an error code).
    pub fn login(&self, method: &'static str, outcome: &'static str) {
        self.record(|| counter!(LOGINS, "method" => method, "outcome" => outcome).increment(1));
    }

    /// A refresh ended: `rotated`, `grace`, `reuse_detected`, or an error code.
    pub fn refresh(&self, outcome: &'static str) {
        self.record(|| counter!(REFRESHES, "outcome" => outcome).increment(1));
    }

    /// The rate limiter refused a request under `policy`.
    pub fn rate_limited(&self, policy: &'static str) {
        self.record(|| counter!(RATE_LIMITED, "policy" => policy).increment(1));
    }

    /// A password hash started on a thread after waiting `wait` in the queue.
    pub fn hash_started(&self, wait: Duration) {
        self.record(|| histogram!(HASH_WAIT).record(wait.as_secs_f64()));
    }

    /// A password hash was turned away: the queue was full.
    pub fn hash_rejected(&self) {
        self.record(|| counter!(HASH_REJECTED).increment(1));
    }

    /// A message of `queue` was sent.
    pub fn sent(&self, queue: Queue) {
        self.record(|| counter!(OUTBOX_SENT, "queue" => queue.label()).increment(1));
    }

    /// Sending a message of `queue` failed.
    pub fn send_failed(&self, queue: Queue, failure: Failure) {
        let result = match failure {
            Failure::Retry => "retry",
            Failure::Dead => "dead",
        };
        self.record(|| {
            counter!(OUTBOX_FAILURES, "queue" => queue.label(), "result" => result).increment(1);
        });
    }

    /// Retention deleted `rows` rows of `kind` (zero too: the series exists
    /// from the first run on).
    pub fn retention_deleted(&self, kind: &'static str, rows: u64) {
        self.record(|| counter!(RETENTION_DELETED, "kind" => kind).increment(rows));
    }

    /// Every series in the Prometheus text format, with the gauges measured now.
    pub fn render(&self, gauges: Gauges) -> String {
        self.record(|| {
            gauge!(HASH_QUEUED).set(gauges.hashes_queued as f64);
            gauge!(HASH_RUNNING).set(gauges.hashes_running as f64);
            if let Some((mail, webhooks)) = gauges.outbox {
                gauge!(OUTBOX_DEPTH, "queue" => Queue::Mail.label()).set(mail as f64);
                gauge!(OUTBOX_DEPTH, "queue" => Queue::Webhooks.label()).set(webhooks as f64);
            }
        });
        self.handle.render()
    }

    /// Folds recorded histogram samples into their buckets every few seconds
    /// until `stop`, so that memory stays bounded between scrapes (or without any).
    pub async fn run_upkeep(self, stop: tokio_util::sync::CancellationToken) {
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(Duration::from_secs(5)) => self.handle.run_upkeep(),
            }
        }
    }
}
