//! Delivery policy: exponential backoff with jitter for a person's transient
//! failures, relay-wide failures that spend nobody's attempts, and a retry window in
//! time after which a person moves to their next channel whatever the relay does.

use std::time::Duration;

use chrono::NaiveDateTime;
use rand::Rng;

use super::channels::Outcome;
use super::settings::ChannelSettings;
use crate::domain::Channel;
use crate::store::delivery::Disposition;

/// How one channel retries transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    /// Delay before the first retry, before jitter.
    pub base: Duration,
    /// Longest delay between two attempts.
    pub cap: Duration,
    /// How long a person may wait on one channel before moving to the next.
    pub window: Duration,
}

impl RetryPolicy {
    /// The configured policy of `channel`.
    pub fn for_channel(settings: &ChannelSettings, channel: Channel) -> Self {
        let limits = settings.retry.get(channel);
        RetryPolicy {
            max_attempts: limits.max_attempts,
            base: limits.base,
            cap: limits.cap,
            window: limits.window,
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

/// What one send came to, with what the worker knows beside the outcome.
#[derive(Debug, Clone)]
pub struct SendReport<'a> {
    /// What the adapter said.
    pub outcome: &'a Outcome,
    /// Who carried it.
    pub provider: &'a str,
    /// Attempts so far on this channel, this one included.
    pub attempt: u32,
    /// When the person was queued on this channel.
    pub queued_at: NaiveDateTime,
    /// How long to wait for a receipt, when the provider sends them.
    pub receipt_window: Option<Duration>,
    /// Until when the relay is paused, after a relay-wide failure.
    pub relay_paused_until: Option<NaiveDateTime>,
}

/// How a send is recorded: sent, handed off, retried (the person's failure, the
/// attempt counts), deferred (the relay's failure, it does not), or failed for good
/// — a permanent refusal, the attempts spent, or the retry window passed.
pub fn dispose(
    report: &SendReport<'_>,
    policy: &RetryPolicy,
    now: NaiveDateTime,
    rng: &mut impl Rng,
) -> Disposition {
    let provider = report.provider.to_owned();
    let after = |d: Duration| now + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    let window = chrono::Duration::from_std(policy.window).unwrap_or(chrono::Duration::MAX);
    let window_passed = now - report.queued_at >= window;
    let gave_up = |why: &str| Disposition::Failed {
        provider: provider.clone(),
        detail: format!(
            "gave up after the channel's retry window of {} h: {why}",
            policy.window.as_secs() / 3600
        ),
    };
    match report.outcome {
        Outcome::Sent { provider_id } => Disposition::Sent {
            provider,
            provider_id: provider_id.clone(),
            receipt_due_at: report.receipt_window.map(after),
        },
        Outcome::HandedOff { location } => Disposition::HandedOff {
            provider,
            location: location.clone(),
        },
        Outcome::Permanent(why) => Disposition::Failed {
            provider,
            detail: format!("permanent: {why}"),
        },
        Outcome::Transient(why) if window_passed => gave_up(why),
        Outcome::Transient(why) => match policy.next_delay(report.attempt, rng) {
            Some(delay) => Disposition::Retry {
                provider,
                run_at: after(delay),
                detail: format!("transient: {why}"),
            },
            None => Disposition::Failed {
                provider,
                detail: format!("gave up after {} attempts: {why}", report.attempt),
            },
        },
        Outcome::RelayDown(why) if window_passed => gave_up(why),
        Outcome::RelayDown(why) => Disposition::RelayDeferred {
            provider,
            run_at: report
                .relay_paused_until
                .unwrap_or_else(|| after(Duration::from_secs(1))),
            detail: format!("relay: {why}"),
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
            window: Duration::from_secs(3600),
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

    fn report<'a>(outcome: &'a Outcome, attempt: u32, queued_secs_ago: i64) -> SendReport<'a> {
        SendReport {
            outcome,
            provider: "smtp",
            attempt,
            queued_at: now() - chrono::Duration::seconds(queued_secs_ago),
            receipt_window: None,
            relay_paused_until: Some(now() + chrono::Duration::seconds(4)),
        }
    }

    fn now() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn dispositions_follow_the_outcome() {
        let mut rng = StdRng::seed_from_u64(5);
        let p = policy();
        let sent = Outcome::Sent { provider_id: None };
        assert!(matches!(
            dispose(&report(&sent, 1, 0), &p, now(), &mut rng),
            Disposition::Sent { .. }
        ));
        let bounced = Outcome::Permanent("smtp 550".into());
        assert!(matches!(
            dispose(&report(&bounced, 1, 0), &p, now(), &mut rng),
            Disposition::Failed { detail, .. } if detail.contains("550")
        ));
        let later = Outcome::Transient("smtp 450".into());
        assert!(matches!(
            dispose(&report(&later, 1, 0), &p, now(), &mut rng),
            Disposition::Retry { .. }
        ));
        assert!(matches!(
            dispose(&report(&later, 6, 0), &p, now(), &mut rng),
            Disposition::Failed { detail, .. } if detail.contains("6 attempts")
        ));
    }

    #[test]
    fn relay_failures_spend_no_attempts_until_the_window_passes() {
        let mut rng = StdRng::seed_from_u64(5);
        let p = policy();
        let down = Outcome::RelayDown("smtp 421".into());
        let d = dispose(&report(&down, 50, 3599), &p, now(), &mut rng);
        assert_eq!(
            d,
            Disposition::RelayDeferred {
                provider: "smtp".into(),
                run_at: now() + chrono::Duration::seconds(4),
                detail: "relay: smtp 421".into(),
            },
            "even the 50th relay failure is not the person's"
        );
        assert!(matches!(
            dispose(&report(&down, 1, 3600), &p, now(), &mut rng),
            Disposition::Failed { detail, .. } if detail.contains("retry window of 1 h")
        ));
    }

    #[test]
    fn settings_give_each_channel_its_policy() {
        let s = crate::config::Settings::load_from(None, |_| None).unwrap();
        let email = RetryPolicy::for_channel(&s.channels, Channel::Email);
        assert_eq!(email.max_attempts, 8);
        assert_ne!(email, RetryPolicy::for_channel(&s.channels, Channel::Sms));
    }
}
