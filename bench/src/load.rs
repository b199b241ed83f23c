//! Closed-loop HTTP/1.1 load, as wrk makes it: each connection sends its next
//! request as soon as the previous answer is in, until the duration is over.
//! Every latency goes into an HDR histogram (microseconds, 3 significant digits).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// What one connection sends, and what it keeps of the answers.
pub trait Script: Send + 'static {
    /// The next request.
    fn request(&mut self) -> Request<Full<Bytes>>;
    /// The status a good answer has.
    fn expected(&self) -> StatusCode;
    /// Sees every good answer's body (a refresh takes the next token from it).
    fn answered(&mut self, _body: Bytes) {}
}

/// The figures of one row: answers, failures, time, latencies.
pub struct Stats {
    pub count: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub latency_us: Histogram<u64>,
}

impl Stats {
    pub fn new() -> Self {
        Self {
            count: 0,
            errors: 0,
            elapsed: Duration::ZERO,
            // 1 µs to 60 s.
            latency_us: Histogram::new_with_bounds(1, 60_000_000, 3)
                .unwrap_or_else(|_| unreachable!("constant bounds are valid")),
        }
    }

    pub fn record(&mut self, took: Duration, ok: bool) {
        self.count += 1;
        if !ok {
            self.errors += 1;
        }
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency_us.saturating_record(us.max(1));
    }

    pub fn merge(&mut self, other: &Stats) {
        self.count += other.count;
        self.errors += other.errors;
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency_us.add(&other.latency_us);
    }

    pub fn rate(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn p50_ms(&self) -> f64 {
        self.latency_us.value_at_quantile(0.50) as f64 / 1000.0
    }

    pub fn p99_ms(&self) -> f64 {
        self.latency_us.value_at_quantile(0.99) as f64 / 1000.0
    }
}

/// One HTTP/1.1 keep-alive connection.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP/1.1 handshake")?;
        tokio::spawn(connection);
        Ok(Self { sender })
    }

    /// Sends one request; the status and the whole body.
    pub async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// A request to the service (`Host` is required by HTTP/1.1, not by axum).
pub fn request(
    method: &str,
    path: &str,
    bearer: Option<&str>,
    json: Option<String>,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1");
    if let Some(token) = bearer {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let body = match json {
        Some(json) => {
            builder = builder.header("content-type", "application/json");
            Full::new(Bytes::from(json))
        }
        None => Full::new(Bytes::new()),
    };
    builder
        .body(body)
        .unwrap_or_else(|_| unreachable!("method, path and headers are valid"))
}

/// Runs one script per connection against `addr` for `duration`; the merged
/// figures and the scripts (with what they kept).
pub async fn run<S: Script>(
    addr: SocketAddr,
    scripts: Vec<S>,
    duration: Duration,
) -> anyhow::Result<(Stats, Vec<S>)> {
    let mut connections = Vec::with_capacity(scripts.len());
    for _ in 0..scripts.len() {
        connections.push(Connection::open(addr).await?);
    }
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = scripts
        .into_iter()
        .zip(connections)
        .map(|(script, connection)| tokio::spawn(drive(addr, connection, script, deadline)))
        .collect();
    let mut total = Stats::new();
    let mut scripts = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (stats, script) = task.await.context("a load connection panicked")?;
        total.merge(&stats);
        scripts.push(script);
    }
    total.elapsed = start.elapsed();
    Ok((total, scripts))
}

async fn drive<S: Script>(
    addr: SocketAddr,
    mut connection: Connection,
    mut script: S,
    deadline: Instant,
) -> (Stats, S) {
    let mut stats = Stats::new();
    while Instant::now() < deadline {
        let request = script.request();
        let expected = script.expected();
        let sent = Instant::now();
        let answer = connection.send(request).await;
        let took = sent.elapsed();
        match answer {
            Ok((status, body)) if status == expected => {
                stats.record(took, true);
                script.answered(body);
            }
            Ok(_) => stats.record(took, false),
            Err(_) => {
                stats.record(took, false);
                // The connection broke: a new one, or give up on this one.
                match Connection::open(addr).await {
                    Ok(fresh) => connection = fresh,
                    Err(_) => break,
                }
            }
        }
    }
    (stats, script)
}
