//! GET /metrics as Prometheus scrapes it: each sample of the text format as
//! `series -> value`.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::StatusCode;

use super::TestApp;

/// The bucket bounds of every latency histogram, as rendered.
pub const BUCKETS: [&str; 14] = [
    "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5",
    "10", "+Inf",
];

/// One scrape: the whole text, and each sample as `series -> value`.
pub struct Scrape {
    pub text: String,
    pub samples: BTreeMap<String, f64>,
}

impl Scrape {
    /// The samples of one metric (`name` alone or `name{labels}`).
    pub fn of(&self, name: &str) -> BTreeMap<String, f64> {
        let labelled = format!("{name}{{");
        self.samples
            .iter()
            .filter(|(series, _)| *series == name || series.starts_with(&labelled))
            .map(|(series, value)| (series.clone(), *value))
            .collect()
    }

    #[track_caller]
    pub fn value(&self, series: &str) -> f64 {
        *self
            .samples
            .get(series)
            .unwrap_or_else(|| panic!("no series {series} in:\n{}", self.text))
    }
}

/// `(series, value)` pairs as a map, for comparing a metric's samples whole.
pub fn samples(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(s, v)| ((*s).to_owned(), *v)).collect()
}

/// GET /metrics, asserting a 200 in the Prometheus text format.
pub async fn scraped(app: &TestApp) -> Scrape {
    let reply = app.get("/metrics").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let samples = reply
        .text
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("`series value`");
            let value: f64 = value.parse().expect("a number");
            (series.to_owned(), value)
        })
        .collect();
    Scrape {
        text: reply.text,
        samples,
    }
}

/// Scrapes until `ready` holds for a scrape (at most 15 s), and returns it.
pub async fn scrape_until(app: &TestApp, what: &str, ready: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let scrape = scraped(app).await;
        if ready(&scrape) {
            return scrape;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}:\n{}",
            scrape.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
