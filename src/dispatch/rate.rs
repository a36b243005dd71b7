//! Rate limits: one token bucket per channel and provider.
//!
//! Each caller reserves its slot under a short lock and then sleeps outside it, so
//! waiting tasks are served in the order they asked (fair), and no lock is held
//! while waiting.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::settings::PerChannel;
use crate::domain::Channel;

/// A token bucket that can run into debt: a reservation always succeeds and says how
/// long its holder must wait.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket refilling `rate` tokens per second, holding at most `burst`.
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        let burst = burst.max(1.0);
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            updated: now,
        }
    }

    /// Takes one token at `now`; returns how long to wait before using it.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.updated = self.updated.max(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            // Whole microseconds keep float noise out of the schedule.
            Duration::from_micros((-self.tokens / self.rate * 1e6).round() as u64)
        }
    }
}

/// The buckets of every channel and provider, created on first use.
#[derive(Debug)]
pub struct RateLimits {
    rates: PerChannel<f64>,
    buckets: Mutex<HashMap<(Channel, String), TokenBucket>>,
}

impl RateLimits {
    /// Limits of `rates` sends per second per channel; a bucket holds one second's worth.
    pub fn new(rates: &PerChannel<f64>) -> Self {
        RateLimits {
            rates: rates.clone(),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until one more send on `channel` through `provider` is allowed.
    pub async fn acquire(&self, channel: Channel, provider: &str) {
        let wait = self.reserve(channel, provider, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    fn reserve(&self, channel: Channel, provider: &str, now: Instant) -> Duration {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let rate = *self.rates.get(channel);
        buckets
            .entry((channel, provider.to_owned()))
            .or_insert_with(|| TokenBucket::new(rate, rate, now))
            .reserve(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_full_bucket_allows_a_burst_then_paces() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 3.0, t0);
        let waits: Vec<_> = (0..5).map(|_| bucket.reserve(t0)).collect();
        assert_eq!(waits, [ms(0), ms(0), ms(0), ms(100), ms(200)]);
    }

    #[test]
    fn tokens_come_back_with_time_up_to_the_burst() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(2.0, 2.0, t0);
        assert_eq!(bucket.reserve(t0), ms(0));
        assert_eq!(bucket.reserve(t0), ms(0));
        assert_eq!(bucket.reserve(t0), ms(500));
        // Ten seconds idle refill only up to the burst of two.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(bucket.reserve(later), ms(0));
        assert_eq!(bucket.reserve(later), ms(0));
        assert_eq!(bucket.reserve(later), ms(500));
    }

    #[test]
    fn a_clock_going_backwards_does_not_mint_tokens() {
        let t0 = Instant::now() + Duration::from_secs(5);
        let mut bucket = TokenBucket::new(1.0, 1.0, t0);
        assert_eq!(bucket.reserve(t0), ms(0));
        assert_eq!(
            bucket.reserve(t0 - Duration::from_secs(3)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn channels_and_providers_have_their_own_buckets() {
        let rates = PerChannel {
            email: 1.0,
            sms: 1.0,
            push: 1.0,
            letter: 1.0,
            phone: 1.0,
        };
        let limits = RateLimits::new(&rates);
        let t0 = Instant::now();
        assert_eq!(limits.reserve(Channel::Sms, "twilio", t0), ms(0));
        assert_eq!(
            limits.reserve(Channel::Sms, "twilio", t0),
            Duration::from_secs(1)
        );
        assert_eq!(limits.reserve(Channel::Sms, "webhook", t0), ms(0));
        assert_eq!(limits.reserve(Channel::Email, "smtp", t0), ms(0));
    }

    /// With tokio's paused clock time only moves when every task waits, so the
    /// virtual instants below are exact.
    #[tokio::test(start_paused = true)]
    async fn waiting_tasks_are_served_in_turn_at_the_configured_pace() {
        let rates = PerChannel {
            email: 4.0,
            sms: 2.0,
            push: 1.0,
            letter: 1.0,
            phone: 1.0,
        };
        let limits = std::sync::Arc::new(RateLimits::new(&rates));
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let limits = limits.clone();
            tasks.push(tokio::spawn(async move {
                limits.acquire(Channel::Sms, "twilio").await;
                Instant::now() - t0
            }));
            tokio::task::yield_now().await;
        }
        let mut done = Vec::new();
        for task in tasks {
            done.push(task.await.unwrap());
        }
        assert_eq!(done, [ms(0), ms(0), ms(500), ms(1000), ms(1500), ms(2000)]);
    }
}
