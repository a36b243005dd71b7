//! A tenant's send window: the local hours in which messages on some channels may
//! go out (no SMS or calls at night). Pure: instants are naive UTC, the wall clock
//! is the window's IANA zone, so daylight-saving changes move the window with it.

use chrono::{Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Channel, Field, FieldError, Reader};

/// Local hours in which messages on `channels` may be sent; other channels send at
/// any hour. Stored in the tenant profile as
/// `{"start": "08:00", "end": "21:00", "time_zone": "Asia/Tokyo", "channels": ["sms"]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredWindow", into = "StoredWindow")]
pub struct SendWindow {
    /// Opening time, local (inclusive).
    pub start: NaiveTime,
    /// Closing time, local (exclusive); earlier than `start` for a window across midnight.
    pub end: NaiveTime,
    /// The zone `start` and `end` are read in.
    pub time_zone: Tz,
    /// The channels the window holds back, sorted.
    pub channels: Vec<Channel>,
}

/// The stored (and API) form.
#[derive(Serialize, Deserialize)]
struct StoredWindow {
    start: String,
    end: String,
    time_zone: String,
    channels: Vec<Channel>,
}

const FIELDS: &[&str] = &["start", "end", "time_zone", "channels"];

/// Longest wall-clock gap a zone has skipped (Samoa skipped a whole day in 2011), in minutes.
const LONGEST_GAP_MINUTES: u32 = 24 * 60;

impl SendWindow {
    /// Validates a `send_window` object; field paths are relative (`start`, `time_zone`).
    /// Leaving `channels` out holds back every channel.
    pub fn parse(map: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut r = Reader::new(map, FIELDS);
        let start = required(&mut r, "start").and_then(|t| checked(&mut r, "start", clock(&t)));
        let end = required(&mut r, "end").and_then(|t| checked(&mut r, "end", clock(&t)));
        let time_zone =
            required(&mut r, "time_zone").and_then(|t| checked(&mut r, "time_zone", zone(&t)));
        let channels = match r.words::<Channel>("channels") {
            Field::Set(list) if list.is_empty() => {
                r.reject(
                    "channels",
                    "list at least one channel, or leave channels out for all",
                );
                Vec::new()
            }
            Field::Set(list) => list,
            Field::Absent | Field::Null => Channel::ALL.to_vec(),
        };
        if start.is_some() && start == end {
            r.reject(
                "end",
                "must differ from start (to send at any hour, leave send_window out)",
            );
        }
        let window = match (start, end, time_zone) {
            (Some(start), Some(end), Some(time_zone)) => Some(Self {
                start,
                end,
                time_zone,
                channels,
            }),
            _ => None, // each missing part was rejected above
        };
        r.finish(window)?
            .ok_or_else(|| vec![FieldError::new("start", "required")])
    }

    /// When a message on `channel` at `at` must wait: the next opening, else `None`.
    pub fn held_until(&self, channel: Channel, at: NaiveDateTime) -> Option<NaiveDateTime> {
        (self.channels.contains(&channel) && !self.is_open(at)).then(|| self.next_opening(at))
    }

    /// Whether the window's wall clock shows a time inside it at `at`.
    pub fn is_open(&self, at: NaiveDateTime) -> bool {
        let local = self.time_zone.from_utc_datetime(&at).time();
        if self.start < self.end {
            self.start <= local && local < self.end
        } else {
            local >= self.start || local < self.end
        }
    }

    /// The first instant after `after` at which the window is open, from its wall
    /// clock: a `start` skipped by a daylight-saving gap opens when the gap ends, a
    /// `start` shown twice opens at whichever reading comes next.
    pub fn next_opening(&self, after: NaiveDateTime) -> NaiveDateTime {
        let today = self.time_zone.from_utc_datetime(&after).date_naive();
        (0..4)
            .filter_map(|days| today.checked_add_days(Days::new(days)))
            .flat_map(|date| self.openings_on(date))
            .find(|at| *at > after && self.is_open(*at))
            .unwrap_or(after + TimeDelta::days(1)) // no real zone gets here
    }

    /// The first instant after `after` at which the window is closed again.
    pub fn next_closing(&self, after: NaiveDateTime) -> NaiveDateTime {
        let today = self.time_zone.from_utc_datetime(&after).date_naive();
        (0..4)
            .filter_map(|days| today.checked_add_days(Days::new(days)))
            .flat_map(|date| self.instants_on(date, self.end))
            .find(|at| *at > after && !self.is_open(*at))
            .unwrap_or(after + TimeDelta::days(1)) // no real zone gets here
    }

    /// When `work` of sending on `channel`, started at `start`, is done if it runs
    /// only while the window is open (all at once for a channel it does not hold).
    pub fn finish(&self, channel: Channel, start: NaiveDateTime, work: TimeDelta) -> NaiveDateTime {
        if !self.channels.contains(&channel) {
            return start + work;
        }
        let (mut at, mut left) = (start, work);
        // A year of daily windows; longer work is counted as if sent at once after it.
        for _ in 0..366 {
            if !self.is_open(at) {
                at = self.next_opening(at);
            }
            let closing = self.next_closing(at);
            if left <= closing - at {
                return at + left;
            }
            left -= closing - at;
            at = closing;
        }
        at + left
    }

    /// The instants at which the wall clock reaches `start` on `date` (two when a
    /// change repeats it; the end of the gap when a change skips it).
    fn openings_on(&self, date: NaiveDate) -> Vec<NaiveDateTime> {
        self.instants_on(date, self.start)
    }

    /// The instants at which the wall clock reaches `time` on `date`.
    fn instants_on(&self, date: NaiveDate, time: NaiveTime) -> Vec<NaiveDateTime> {
        let mut local = date.and_time(time);
        for _ in 0..=LONGEST_GAP_MINUTES {
            match self.time_zone.from_local_datetime(&local) {
                LocalResult::Single(at) => return vec![at.naive_utc()],
                LocalResult::Ambiguous(first, second) => {
                    return vec![first.naive_utc(), second.naive_utc()];
                }
                LocalResult::None => local += TimeDelta::minutes(1),
            }
        }
        Vec::new()
    }
}

fn required(r: &mut Reader<'_>, key: &str) -> Option<String> {
    match r.text(key, 64) {
        Field::Set(text) => Some(text),
        _ if r.has_error_for(key) => None,
        _ => {
            r.reject(key, "required");
            None
        }
    }
}

fn checked<T>(r: &mut Reader<'_>, key: &str, parsed: Result<T, String>) -> Option<T> {
    parsed.map_err(|reason| r.reject(key, reason)).ok()
}

/// `HH:MM`, 00:00 to 23:59.
fn clock(text: &str) -> Result<NaiveTime, String> {
    let shaped = text.len() == 5 && text.as_bytes()[2] == b':';
    shaped
        .then(|| NaiveTime::parse_from_str(text, "%H:%M").ok())
        .flatten()
        .ok_or_else(|| format!("expected a time HH:MM from 00:00 to 23:59, got '{text}'"))
}

fn zone(text: &str) -> Result<Tz, String> {
    text.parse::<Tz>()
        .map_err(|_| format!("unknown IANA time zone '{text}', e.g. Asia/Tokyo"))
}

impl TryFrom<StoredWindow> for SendWindow {
    type Error = String;

    fn try_from(s: StoredWindow) -> Result<Self, String> {
        Ok(Self {
            start: clock(&s.start)?,
            end: clock(&s.end)?,
            time_zone: zone(&s.time_zone)?,
            channels: s.channels,
        })
    }
}

impl From<SendWindow> for StoredWindow {
    fn from(w: SendWindow) -> Self {
        Self {
            start: w.start.format("%H:%M").to_string(),
            end: w.end.format("%H:%M").to_string(),
            time_zone: w.time_zone.name().to_owned(),
            channels: w.channels,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::parse_instant;

    fn window(start: &str, end: &str, zone: &str) -> SendWindow {
        parse(json!({"start": start, "end": end, "time_zone": zone})).unwrap()
    }

    fn at(text: &str) -> NaiveDateTime {
        parse_instant(text).unwrap()
    }

    fn parse(value: Value) -> Result<SendWindow, Vec<FieldError>> {
        SendWindow::parse(value.as_object().unwrap())
    }

    fn fields(value: Value) -> Vec<String> {
        parse(value)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn parses_validates_and_round_trips() {
        let w = parse(json!({"start": "08:00", "end": "21:00",
            "time_zone": "Asia/Tokyo", "channels": ["sms", "push", "sms"]}))
        .unwrap();
        assert_eq!(w.channels, vec![Channel::Sms, Channel::Push]);
        let stored = serde_json::to_value(&w).unwrap();
        assert_eq!(
            stored,
            json!({"start": "08:00", "end": "21:00", "time_zone": "Asia/Tokyo", "channels": ["sms", "push"]})
        );
        assert_eq!(serde_json::from_value::<SendWindow>(stored).unwrap(), w);
        assert_eq!(window("08:00", "21:00", "UTC").channels, Channel::ALL);
        assert_eq!(
            fields(json!({"start": "8:00", "end": "24:00", "time_zone": "Mars/Olympus"})),
            vec!["start", "end", "time_zone"]
        );
        assert_eq!(
            fields(
                json!({"start": "08:00", "end": "08:00", "time_zone": "UTC", "channels": [], "days": 1})
            ),
            vec!["days", "channels", "end"]
        );
        assert_eq!(fields(json!({})), vec!["start", "end", "time_zone"]);
        assert_eq!(
            fields(
                json!({"start": "08:00", "end": "09:00", "time_zone": "UTC", "channels": ["fax"]})
            ),
            vec!["channels"]
        );
    }

    #[test]
    fn holds_back_only_its_channels_outside_its_hours() {
        let mut w = window("08:00", "21:00", "Asia/Tokyo");
        w.channels = vec![Channel::Sms];
        let night = at("2026-06-01T23:30:00+09:00");
        assert_eq!(w.held_until(Channel::Email, night), None);
        assert_eq!(
            w.held_until(Channel::Sms, night),
            Some(at("2026-06-02T08:00:00+09:00"))
        );
        assert_eq!(
            w.held_until(Channel::Sms, at("2026-06-02T08:00:00+09:00")),
            None
        );
        assert_eq!(
            w.held_until(Channel::Sms, at("2026-06-02T20:59:59+09:00")),
            None
        );
        assert_eq!(
            w.held_until(Channel::Sms, at("2026-06-02T21:00:00+09:00")),
            Some(at("2026-06-03T08:00:00+09:00"))
        );
        assert_eq!(
            w.held_until(Channel::Sms, at("2026-06-02T06:10:00+09:00")),
            Some(at("2026-06-02T08:00:00+09:00")),
            "early morning opens the same day"
        );
    }

    #[test]
    fn work_runs_only_while_the_window_is_open() {
        let w = parse(
            json!({"start": "08:00", "end": "21:00", "time_zone": "Asia/Shanghai",
            "channels": ["sms"]}),
        )
        .unwrap(); // 00:00-13:00 UTC
        let hour = TimeDelta::hours(1);
        // Two hours of SMS started at 22:00 local (14:00 UTC) run 08:00-10:00 local.
        assert_eq!(
            w.finish(Channel::Sms, at("2026-03-02T14:00:00Z"), hour * 2),
            at("2026-03-03T02:00:00Z")
        );
        // Started at 20:00 local: one hour today, the rest from 08:00 tomorrow.
        assert_eq!(
            w.finish(Channel::Sms, at("2026-03-02T12:00:00Z"), hour * 3),
            at("2026-03-03T02:00:00Z")
        );
        // E-mail is not held.
        assert_eq!(
            w.finish(Channel::Email, at("2026-03-02T14:00:00Z"), hour),
            at("2026-03-02T15:00:00Z")
        );
    }

    #[test]
    fn a_window_across_midnight() {
        let w = window("21:00", "08:00", "Asia/Tokyo");
        assert!(w.is_open(at("2026-06-01T23:00:00+09:00")));
        assert!(w.is_open(at("2026-06-02T07:59:00+09:00")));
        assert!(w.is_open(at("2026-06-01T21:00:00+09:00")));
        assert!(!w.is_open(at("2026-06-02T08:00:00+09:00")));
        assert_eq!(
            w.next_opening(at("2026-06-02T08:00:00+09:00")),
            at("2026-06-02T21:00:00+09:00")
        );
        assert_eq!(
            w.next_opening(at("2026-06-02T20:59:30+09:00")),
            at("2026-06-02T21:00:00+09:00")
        );
    }

    #[test]
    fn daylight_saving_moves_the_window_with_the_wall_clock() {
        // New York springs forward on 2026-03-08: 02:00 EST becomes 03:00 EDT.
        let w = window("08:00", "21:00", "America/New_York");
        assert_eq!(
            w.next_opening(at("2026-03-07T22:00:00-05:00")),
            at("2026-03-08T08:00:00-04:00"),
            "08:00 EDT, an hour earlier in UTC than the day before"
        );
        assert_eq!(
            w.next_opening(at("2026-03-06T22:00:00-05:00")),
            at("2026-03-07T08:00:00-05:00")
        );
        // A start inside the skipped hour opens when the gap ends.
        let w = window("02:30", "21:00", "America/New_York");
        assert_eq!(
            w.next_opening(at("2026-03-08T01:00:00-05:00")),
            at("2026-03-08T03:00:00-04:00")
        );
        // New York falls back on 2026-11-01: 01:00-02:00 is shown twice.
        let w = window("01:30", "21:00", "America/New_York");
        assert_eq!(
            w.next_opening(at("2026-11-01T00:10:00-04:00")),
            at("2026-11-01T01:30:00-04:00")
        );
        assert_eq!(
            w.next_opening(at("2026-11-01T01:10:00-05:00")),
            at("2026-11-01T01:30:00-05:00"),
            "the second 01:30 comes before the next day's"
        );
    }
}
