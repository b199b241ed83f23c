//! The service's resident memory through the run: `VmRSS` from
//! `/proc/PID/status` once a second, and what the series says about growth.
//! The level after warm-up (the first part of the run, while caches, pools and
//! the hashing threads' buffers fill) is the highest sample of that part; a
//! leak shows as samples after it rising above that level.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::service::Service;

/// One reading: seconds since the load began, MiB.
#[derive(Clone, Copy)]
pub struct Sample {
    pub at_s: f64,
    pub rss_mib: f64,
}

/// Reads the service's RSS every second until [`Sampler::stop`].
pub struct Sampler {
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<Vec<Sample>>>,
}

impl Sampler {
    pub fn start(service: Arc<Service>) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let start = Instant::now();
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let memory = service.memory()?;
                        samples.push(Sample { at_s: start.elapsed().as_secs_f64(), rss_mib: memory.rss_mib });
                    }
                    _ = stopped.changed() => return Ok(samples),
                }
            }
        });
        Self { stop, task }
    }

    pub async fn stop(self) -> anyhow::Result<Vec<Sample>> {
        let _ = self.stop.send(true);
        self.task.await?
    }
}

/// What the series says.
pub struct Summary {
    /// The highest sample of the warm-up.
    pub warm_up_mib: f64,
    /// The highest sample after the warm-up.
    pub after_mib: f64,
    pub end_mib: f64,
    pub peak_mib: f64,
    /// `after` over `warm_up`, in per cent.
    pub growth_pct: f64,
    pub samples: usize,
    /// (lowest, highest) of each fifth of the run, in order.
    pub fifths: Vec<(f64, f64)>,
}

/// `None` when the warm-up or the rest of the run has no sample.
pub fn summarize(samples: &[Sample], warm_up: Duration) -> Option<Summary> {
    let warm_up_s = warm_up.as_secs_f64();
    let highest = |part: &mut dyn Iterator<Item = &Sample>| {
        part.map(|s| s.rss_mib).fold(None, |max: Option<f64>, v| {
            Some(max.map_or(v, |m| m.max(v)))
        })
    };
    let warm_up_mib = highest(&mut samples.iter().filter(|s| s.at_s < warm_up_s))?;
    let after_mib = highest(&mut samples.iter().filter(|s| s.at_s >= warm_up_s))?;
    let peak_mib = highest(&mut samples.iter())?;
    let end_mib = samples.last()?.rss_mib;
    let n = samples.len();
    let fifths = (0..5)
        .map(|k| &samples[k * n / 5..(k + 1) * n / 5])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let low = part.iter().map(|s| s.rss_mib).fold(f64::INFINITY, f64::min);
            let high = part.iter().map(|s| s.rss_mib).fold(0.0, f64::max);
            (low, high)
        })
        .collect();
    Some(Summary {
        warm_up_mib,
        after_mib,
        end_mib,
        peak_mib,
        growth_pct: (after_mib / warm_up_mib - 1.0) * 100.0,
        samples: samples.len(),
        fifths,
    })
}
