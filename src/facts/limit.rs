//! An API budget per execution environment, as a decorator between the fact cache and AWS: a
//! token bucket per AWS service (EC2, ECS, Elastic Load Balancing) in front of every read, so
//! that however many events arrive, the function draws at most `rate` calls a second (after a
//! burst) from each service's request buckets, which every caller of the account shares. A
//! deploy must never fail because the guard emptied the account's EC2 budget; the SDK's
//! adaptive retry is the backstop when others empty it. Cache hits take no token.

use std::future::Future;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::ports::ReadError;

/// How fast one execution environment may call each AWS service.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApiBudget {
    /// Calls a second, sustained.
    pub rate: f64,
    /// Calls that may go at once after a quiet spell (the bucket's size).
    pub burst: f64,
}

impl ApiBudget {
    /// No limit (the CLI: an operator's one-off run).
    pub const UNLIMITED: ApiBudget = ApiBudget {
        rate: f64::INFINITY,
        burst: f64::INFINITY,
    };
}

/// A token bucket: `burst` tokens, refilled at `rate` a second; a caller waits for its token.
#[derive(Debug)]
pub struct TokenBucket {
    budget: ApiBudget,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(budget: ApiBudget) -> Self {
        TokenBucket {
            budget,
            state: Mutex::new((budget.burst, Instant::now())),
        }
    }

    /// Takes one token, waiting for it when the bucket is empty. Callers are served in turn:
    /// the lock is held while waiting, so a later caller cannot take an earlier one's token.
    pub async fn acquire(&self) {
        if self.budget.rate.is_infinite() {
            return;
        }
        let mut state = self.state.lock().await;
        let (tokens, at) = *state;
        let now = Instant::now();
        let refilled = (tokens + now.duration_since(at).as_secs_f64() * self.budget.rate)
            .min(self.budget.burst);
        if refilled >= 1.0 {
            *state = (refilled - 1.0, now);
            return;
        }
        let wait = Duration::from_secs_f64((1.0 - refilled) / self.budget.rate);
        tokio::time::sleep(wait).await;
        *state = (0.0, now + wait);
    }
}

/// The readers of `inner`, each call within its service's budget.
#[derive(Debug)]
pub struct Limited<R> {
    inner: R,
    ec2: TokenBucket,
    ecs: TokenBucket,
    elb: TokenBucket,
}

impl<R> Limited<R> {
    /// `inner` with one bucket of `budget` per AWS service.
    pub fn new(inner: R, budget: ApiBudget) -> Self {
        Limited {
            inner,
            ec2: TokenBucket::new(budget),
            ecs: TokenBucket::new(budget),
            elb: TokenBucket::new(budget),
        }
    }

    /// The listings of the Config scan and the audit (List*, DescribeTasks of listed tasks):
    /// paged walks of the account, not the deploy burst the budget is for, and a scan of many
    /// clusters must finish within one invocation.
    async fn unlimited<T>(
        &self,
        _api: &'static str,
        read: impl Future<Output = Result<T, ReadError>>,
    ) -> Result<T, ReadError> {
        Box::pin(read).await
    }

    async fn run<T>(
        &self,
        api: &'static str,
        read: impl Future<Output = Result<T, ReadError>>,
    ) -> Result<T, ReadError> {
        let bucket = match api.split(':').next() {
            Some("ec2") => &self.ec2,
            Some("ecs") => &self.ecs,
            _ => &self.elb,
        };
        bucket.acquire().await;
        // Boxed: one more decorator layer would otherwise grow every read's future on the
        // stack (debug-build test threads have 2 MiB).
        Box::pin(read).await
    }
}

decorate_reads!(Limited<R>, reads = run, listings = unlimited);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_bucket_lets_a_burst_through_then_paces_at_its_rate() {
        let bucket = TokenBucket::new(ApiBudget {
            rate: 2.0,
            burst: 3.0,
        });
        let start = Instant::now();
        for _ in 0..3 {
            bucket.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst goes at once");
        for _ in 0..4 {
            bucket.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(2), "then 2 a second");
        tokio::time::sleep(Duration::from_secs(10)).await;
        let rested = Instant::now();
        for _ in 0..3 {
            bucket.acquire().await;
        }
        assert_eq!(
            rested.elapsed(),
            Duration::ZERO,
            "refilled to the burst, no more"
        );
        bucket.acquire().await;
        assert_eq!(rested.elapsed(), Duration::from_millis(500));
    }
}
