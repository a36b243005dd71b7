//! Delivery policy: exponential backoff with jitter for transient failures, and what
//! the worker does next after each outcome.

use std::time::Duration;

use rand::Rng;

use super::channels::Outcome;
use super::settings::ChannelSettings;
use crate::domain::Channel;

/// How one channel retries transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    /// Delay before the first retry, before jitter.
    pub base: Duration,
    /// Longest delay between two attempts.
    pub cap: Duration,
}

impl RetryPolicy {
    /// The configured policy of `channel`.
    pub fn for_channel(settings: &ChannelSettings, channel: Channel) -> Self {
        let limits = settings.retry.get(channel);
        RetryPolicy {
            max_attempts: limits.max_attempts,
            base: limits.base,
            cap: limits.cap,
        }
    }

    /// The wait after `attempt` failed (1 = the first attempt), or `None` when
    /// `attempt` was the last one allowed.
    ///
    /// The ceiling doubles per attempt, `min(cap, base × 2^(attempt-1))`, and the delay
    /// is drawn uniformly from its upper half ("equal jitter"), so retries of many
    /// messages spread out but never come sooner than half the ceiling.
    pub fn next_delay(&self, attempt: u32, rng: &mut impl Rng) -> Option<Duration> {
        if attempt == 0 || attempt >= self.max_attempts {
            return None;
        }
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        let jitter = rng.random_range(0..=(ceiling - half).as_millis() as u64);
        Some(half + Duration::from_millis(jitter))
    }

    /// `min(cap, base × 2^(attempt-1))`, without overflow.
    fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.checked_pow(attempt - 1).unwrap_or(u32::MAX);
        self.base
            .checked_mul(factor)
            .unwrap_or(self.cap)
            .min(self.cap)
    }
}

/// What the worker does after one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Done: record `sent` (wait for a receipt if the adapter has them) or `handed_off`.
    Done,
    /// Try the same channel again after this delay.
    RetryAfter(Duration),
    /// Give up on this channel and move the person to their next one.
    NextChannel(String),
}

/// The decision after `outcome` of attempt number `attempt` (1 = the first).
pub fn decide(
    outcome: &Outcome,
    attempt: u32,
    policy: &RetryPolicy,
    rng: &mut impl Rng,
) -> Decision {
    match outcome {
        Outcome::Sent { .. } | Outcome::HandedOff { .. } => Decision::Done,
        Outcome::Permanent(why) => Decision::NextChannel(why.clone()),
        Outcome::Transient(why) => match policy.next_delay(attempt, rng) {
            Some(delay) => Decision::RetryAfter(delay),
            None => Decision::NextChannel(format!("gave up after {attempt} attempts: {why}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 6,
            base: Duration::from_secs(10),
            cap: Duration::from_secs(60),
        }
    }

    #[test]
    fn delays_grow_stay_within_cap_and_jitter_within_bounds() {
        let mut rng = StdRng::seed_from_u64(7);
        let p = policy();
        let ceilings = [10, 20, 40, 60, 60];
        for (attempt, ceiling) in (1..).zip(ceilings) {
            let ceiling = Duration::from_secs(ceiling);
            for _ in 0..200 {
                let d = p.next_delay(attempt, &mut rng).unwrap();
                assert!(d >= ceiling / 2 && d <= ceiling, "attempt {attempt}: {d:?}");
            }
        }
        // The floor of attempt 3 (20 s) lies above the ceiling of attempt 1 (10 s).
        assert!(p.next_delay(3, &mut rng) > Some(Duration::from_secs(10)));
    }

    #[test]
    fn jitter_spreads_delays() {
        let mut rng = StdRng::seed_from_u64(1);
        let distinct: std::collections::HashSet<_> =
            (0..20).map(|_| policy().next_delay(2, &mut rng)).collect();
        assert!(distinct.len() > 10);
    }

    #[test]
    fn gives_up_after_max_attempts_and_never_overflows() {
        let mut rng = StdRng::seed_from_u64(3);
        let p = policy();
        assert!(p.next_delay(5, &mut rng).is_some());
        assert_eq!(p.next_delay(6, &mut rng), None);
        assert_eq!(p.next_delay(0, &mut rng), None);
        let long = RetryPolicy {
            max_attempts: u32::MAX,
            ..p
        };
        assert!(long.next_delay(200, &mut rng).unwrap() <= p.cap);
    }

    #[test]
    fn decisions_follow_the_outcome() {
        let mut rng = StdRng::seed_from_u64(5);
        let p = policy();
        let sent = Outcome::Sent { provider_id: None };
        assert_eq!(decide(&sent, 1, &p, &mut rng), Decision::Done);
        let bounced = Outcome::Permanent("smtp 550".into());
        assert_eq!(
            decide(&bounced, 1, &p, &mut rng),
            Decision::NextChannel("smtp 550".into())
        );
        let later = Outcome::Transient("smtp 450".into());
        assert!(matches!(
            decide(&later, 1, &p, &mut rng),
            Decision::RetryAfter(_)
        ));
        assert!(
            matches!(decide(&later, 6, &p, &mut rng), Decision::NextChannel(why) if why.contains("6 attempts"))
        );
    }

    #[test]
    fn settings_give_each_channel_its_policy() {
        let s = crate::config::Settings::load_from(None, |_| None).unwrap();
        let email = RetryPolicy::for_channel(&s.channels, Channel::Email);
        assert_eq!(email.max_attempts, 8);
        assert_ne!(email, RetryPolicy::for_channel(&s.channels, Channel::Sms));
    }
}
