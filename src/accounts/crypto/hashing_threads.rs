//! A fixed set of threads that run password hashes, behind a bounded queue.
//!
//! A hashing slot *is* a thread: at most `threads` hashes run at once, whatever
//! their callers do. (A semaphore permit held by the caller's future was released
//! when the request timed out or the client went away, while the hash ran on in
//! tokio's blocking pool; a burst then ran dozens of hashes at once.) Each thread
//! lends its one [`HashMemory`] to every hash it runs, and gives it back to the
//! system after [`KEEP_MEMORY_FOR`] without work, so that an idle service holds
//! no hashing memory (before, each thread kept its `m_cost` for good: 19 MiB
//! from the start-up hash on, 64 MiB per thread at fastapi-users' parameters).
//! At most `max_queued` jobs wait for a thread; past that, callers are turned
//! away at once with [`HashError::Busy`] instead of queueing without bound.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::anyhow;
use tokio::sync::oneshot;

use super::argon2_buffer::HashMemory;
use crate::telemetry::metrics::Metrics;

/// Why a hash did not run.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every thread is busy and the queue in front of them is full.
    #[error("too many password hashes are waiting")]
    Busy,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

type Job = Box<dyn FnOnce(&mut HashMemory) + Send>;

/// How long a hashing thread keeps its memory without work. Under load a
/// thread is never idle this long, so the buffer is reused hash after hash;
/// once the load is over the process is back near its idle size.
pub const KEEP_MEMORY_FOR: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct HashingThreads {
    jobs: flume::Sender<Job>,
    counters: Arc<Counters>,
    /// Counts each hash's wait for a thread, and the callers turned away.
    metrics: Metrics,
}

/// What the threads are doing, for the metrics and the tests of the bound.
#[derive(Default)]
struct Counters {
    running: AtomicUsize,
    peak: AtomicUsize,
}

impl HashingThreads {
    /// Starts `threads` hashing threads. They end when the last clone is dropped.
    pub fn start(threads: usize, max_queued: usize, metrics: Metrics) -> anyhow::Result<Self> {
        Self::start_keeping(threads, max_queued, KEEP_MEMORY_FOR, metrics)
    }

    /// [`Self::start`], with threads that free their memory after `keep` idle.
    fn start_keeping(
        threads: usize,
        max_queued: usize,
        keep: Duration,
        metrics: Metrics,
    ) -> anyhow::Result<Self> {
        let (jobs, queue) = flume::bounded::<Job>(max_queued);
        let counters = Arc::new(Counters::default());
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            let counters = counters.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || serve(&queue, &counters, keep))
                .map_err(|e| anyhow!("cannot start a password hashing thread: {e}"))?;
        }
        Ok(Self {
            jobs,
            counters,
            metrics,
        })
    }

    /// Runs `work` on a hashing thread, in the caller's tracing span (so its log
    /// lines carry the request id). Dropping the returned future does not stop a
    /// hash that has started; one still waiting in the queue is skipped.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut HashMemory) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (done, result) = oneshot::channel();
        let span = tracing::Span::current();
        let (queued_at, metrics) = (std::time::Instant::now(), self.metrics.clone());
        let job: Job = Box::new(move |memory| {
            // The caller gave up while queued: nobody is waiting for this hash.
            if done.is_closed() {
                return;
            }
            metrics.hash_started(queued_at.elapsed());
            let _ = done.send(span.in_scope(|| work(memory)));
        });
        self.jobs.try_send(job).map_err(|e| match e {
            flume::TrySendError::Full(_) => {
                self.metrics.hash_rejected();
                HashError::Busy
            }
            flume::TrySendError::Disconnected(_) => anyhow!("password hashing stopped").into(),
        })?;
        result
            .await
            .map_err(|_| anyhow!("password hashing job failed").into())
    }

    /// Hashes waiting for a thread now.
    pub fn queued(&self) -> usize {
        self.jobs.len()
    }

    /// Hashes running now.
    pub fn running(&self) -> usize {
        self.counters.running.load(Ordering::SeqCst)
    }

    /// The most hashes that ever ran at once.
    #[cfg(test)]
    pub fn peak(&self) -> usize {
        self.counters.peak.load(Ordering::SeqCst)
    }

    /// Whether no job runs or waits.
    #[cfg(test)]
    pub fn idle(&self) -> bool {
        self.counters.running.load(Ordering::SeqCst) == 0 && self.jobs.is_empty()
    }
}

/// One hashing thread: takes jobs until every sender is gone, freeing its
/// memory whenever it has waited `keep` for one.
fn serve(queue: &flume::Receiver<Job>, counters: &Counters, keep: Duration) {
    let mut memory = HashMemory::default();
    loop {
        let job = match queue.recv_timeout(keep) {
            Ok(job) => job,
            Err(flume::RecvTimeoutError::Timeout) => {
                memory = HashMemory::default();
                match queue.recv() {
                    Ok(job) => job,
                    Err(_) => return,
                }
            }
            Err(flume::RecvTimeoutError::Disconnected) => return,
        };
        let running = counters.running.fetch_add(1, Ordering::SeqCst) + 1;
        counters.peak.fetch_max(running, Ordering::SeqCst);
        // A panicking job is logged by the panic hook and its caller gets an error
        // (its sender is dropped); the thread, and so the slot, lives on.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
        counters.running.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Waits (at most 10 s, a failure bound) until `ready` holds.
    async fn until(what: &str, ready: impl Fn() -> bool) {
        let wait = async {
            while !ready() {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
    }

    #[tokio::test]
    async fn past_the_queue_bound_callers_are_turned_away_at_once() {
        let threads = HashingThreads::start(1, 1, Metrics::new()).expect("threads");
        let running = Arc::new(AtomicUsize::new(0));
        let (release, gate) = flume::unbounded::<()>();
        let gated = |threads: &HashingThreads| {
            let (threads, gate, running) = (threads.clone(), gate.clone(), running.clone());
            tokio::spawn(async move {
                threads
                    .run(move |_| {
                        running.fetch_add(1, Ordering::SeqCst);
                        gate.recv().is_ok()
                    })
                    .await
            })
        };
        let first = gated(&threads);
        until("the first job to run", || {
            running.load(Ordering::SeqCst) == 1
        })
        .await;
        let second = gated(&threads);
        until("the second job to queue", || threads.jobs.len() == 1).await;

        let third = threads.run(|_| true).await;
        assert!(matches!(third, Err(HashError::Busy)), "{third:?}");

        release.send(()).expect("release");
        release.send(()).expect("release");
        for job in [first, second] {
            assert!(job.await.expect("task").expect("ran"));
        }
        assert!(threads.run(|_| true).await.expect("ran again"));
        assert_eq!(threads.peak(), 1);
    }

    #[tokio::test]
    async fn an_idle_thread_gives_its_memory_back() {
        let threads =
            HashingThreads::start_keeping(1, 4, Duration::from_millis(50), Metrics::new())
                .expect("threads");
        let params = argon2::Params::new(8_192, 2, 1, None).expect("params");
        let held = threads
            .run(move |memory| {
                super::super::argon2_buffer::hash(&params, b"pw", memory).expect("hash");
                memory.held_bytes()
            })
            .await
            .expect("ran");
        assert_eq!(held, 8_192 * 1024);
        let reused = threads
            .run(|memory| memory.held_bytes())
            .await
            .expect("ran");
        assert_eq!(reused, held, "kept between jobs that follow each other");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let after = threads
            .run(|memory| memory.held_bytes())
            .await
            .expect("ran");
        assert_eq!(after, 0, "freed after a pause");
    }

    #[tokio::test]
    async fn a_job_that_panics_frees_its_thread_for_the_next() {
        let threads = HashingThreads::start(1, 4, Metrics::new()).expect("threads");
        let failed = threads.run(|_| -> bool { panic!("argon2 broke") }).await;
        assert!(matches!(failed, Err(HashError::Failed(_))), "{failed:?}");
        assert!(threads.run(|_| true).await.expect("ran"));
    }
}
