//! A time budget for one invocation, as a decorator over the readers: no read starts once the
//! remaining time is under what the alert still needs (publish + complete the dedup claim), and
//! a read still running at that point is cut. The check then fails cleanly, before Lambda would
//! kill the invocation between publishing and marking the alert complete.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::ports::ReadError;

/// The readers of `inner`, within a deadline.
#[derive(Debug)]
pub struct Budgeted<'a, R> {
    inner: &'a R,
    deadline: Instant,
    reserve: Duration,
}

impl<'a, R> Budgeted<'a, R> {
    /// Reads through `inner` until `reserve` before `deadline`.
    pub fn new(inner: &'a R, deadline: Instant, reserve: Duration) -> Self {
        Budgeted {
            inner,
            deadline,
            reserve,
        }
    }

    async fn run<T>(
        &self,
        api: &'static str,
        read: impl Future<Output = Result<T, ReadError>>,
    ) -> Result<T, ReadError> {
        let left = self
            .deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(self.reserve);
        if left.is_zero() {
            return Err(ReadError::OutOfTime { api });
        }
        tokio::time::timeout(left, read)
            .await
            .unwrap_or(Err(ReadError::OutOfTime { api }))
    }
}

decorate_reads!(Budgeted<'_, R>, reads = run, listings = run);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::fixture::{self, CONTAINER_INSTANCE};
    use crate::facts::fake::FakeAws;
    use crate::ports::Ec2Reader;

    fn world() -> FakeAws {
        FakeAws::from_facts(&fixture::seed(), CONTAINER_INSTANCE, "10.0.3.7")
    }

    #[tokio::test]
    async fn no_read_starts_once_only_the_reserve_is_left() {
        let aws = world();
        let budgeted = Budgeted::new(
            &aws,
            Instant::now() + Duration::from_secs(5),
            Duration::from_secs(22),
        );
        let read = budgeted.route_tables("vpc-1").await;
        assert!(matches!(
            read,
            Err(ReadError::OutOfTime {
                api: crate::domain::api::EC2_DESCRIBE_ROUTE_TABLES
            })
        ));
        assert!(aws.calls().is_empty(), "the read was not started");
        let roomy = Budgeted::new(
            &aws,
            Instant::now() + Duration::from_secs(60),
            Duration::ZERO,
        );
        assert!(roomy.route_tables("vpc-1").await.is_ok());
    }

    #[tokio::test]
    async fn a_read_running_into_the_reserve_is_cut() {
        let aws = world();
        let budgeted = Budgeted::new(
            &aws,
            Instant::now() + Duration::from_millis(50),
            Duration::ZERO,
        );
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        };
        let start = Instant::now();
        let result = budgeted
            .run(crate::domain::api::EC2_DESCRIBE_SUBNETS, slow)
            .await;
        assert!(matches!(result, Err(ReadError::OutOfTime { .. })));
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
