//! Every transition of the delivery state machine, one test each, on the store
//! functions themselves (both databases).

use std::time::Duration;

use breachline::db::schema::{delivery_attempts, dispatch_recipients, outbox};
use breachline::db::{Db, DbConnection};
use breachline::domain::{Channel, MessageRef, Receipt, ReceiptStatus, now_micros};
use breachline::error::AppResult;
use breachline::store::delivery::{self, Disposition};
use breachline::store::dispatches;
use breachline::store::outbox::{self as queue, Claimed, PutBack};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::delivery_props::seed;
use crate::helpers::TestDb;

struct Fixture {
    db: Db,
    dispatch: String,
    _test_db: TestDb,
}

impl Fixture {
    /// A dispatch whose people have these channels, approved and queued.
    fn new(people: &[Vec<&'static str>]) -> Self {
        let test_db = TestDb::new();
        let db = Db::connect(&test_db.settings().database).unwrap();
        let dispatch = db.write_blocking(|c| Ok(seed(c, people))).unwrap();
        Fixture {
            db,
            dispatch,
            _test_db: test_db,
        }
    }

    fn write<T>(&self, f: impl FnOnce(&mut DbConnection) -> AppResult<T>) -> T {
        self.db.write_blocking(f).unwrap()
    }

    fn claim(&self, worker: &str, at: NaiveDateTime) -> Vec<Claimed> {
        self.write(|c| queue::claim(c, worker, at, 10))
    }

    fn rows(&self) -> Vec<(String, String, i32, Option<String>, String)> {
        self.db
            .read_blocking(|c| {
                Ok(outbox::table
                    .order(outbox::created_at)
                    .select((
                        outbox::external_id,
                        outbox::status,
                        outbox::attempts,
                        outbox::locked_by,
                        outbox::channel,
                    ))
                    .load(c)?)
            })
            .unwrap()
    }

    fn person(&self, id: &str) -> (String, i32, Option<String>) {
        let key = (self.dispatch.clone(), id.to_owned());
        self.db
            .read_blocking(move |c| {
                Ok(dispatch_recipients::table
                    .find(key)
                    .select((
                        dispatch_recipients::state,
                        dispatch_recipients::next_channel,
                        dispatch_recipients::covered_by,
                    ))
                    .first(c)?)
            })
            .unwrap()
    }

    fn ledger(&self) -> Vec<String> {
        self.db
            .read_blocking(|c| {
                Ok(delivery_attempts::table
                    .order(delivery_attempts::at)
                    .select(delivery_attempts::result)
                    .load(c)?)
            })
            .unwrap()
    }

    fn status(&self) -> String {
        let id = self.dispatch.clone();
        self.db
            .read_blocking(move |c| Ok(dispatches::by_id(c, &id)?.status.as_str().to_owned()))
            .unwrap()
    }

    fn record(&self, worker: &str, row: Claimed, d: Disposition) -> usize {
        self.write(|c| delivery::record(c, worker, &[(row, d)], now_micros()))
    }
}

fn sent() -> Disposition {
    Disposition::Sent {
        provider: "smtp".into(),
        provider_id: None,
        receipt_due_at: None,
    }
}

fn failed() -> Disposition {
    Disposition::Failed {
        provider: "smtp".into(),
        detail: "permanent: smtp 550".into(),
    }
}

fn later(secs: i64) -> NaiveDateTime {
    now_micros() + chrono::Duration::seconds(secs)
}

#[test]
fn claim_takes_due_rows_once_with_a_lease_and_an_attempt() {
    let f = Fixture::new(&[vec!["email"], vec!["email"]]);
    let first = f.claim("w1", later(1));
    assert_eq!(first.len(), 2);
    assert!(
        first
            .iter()
            .all(|c| c.attempts == 1 && c.channel == Channel::Email)
    );
    assert!(f.claim("w2", later(1)).is_empty(), "never shared");
    assert!(
        f.rows()
            .iter()
            .all(|r| r.1 == "sending" && r.3.as_deref() == Some("w1"))
    );
}

#[test]
fn renew_keeps_a_live_workers_leases_and_reclaim_takes_back_a_dead_ones() {
    let f = Fixture::new(&[vec!["email"], vec!["email"]]);
    let rows = f.claim("w1", later(1));
    let lease = Duration::from_secs(60);
    let kept = vec![rows[0].id.clone()];
    assert_eq!(f.write(|c| queue::renew(c, "w1", &kept, later(50))), 1);
    assert_eq!(
        f.write(|c| queue::renew(c, "w2", &kept, later(50))),
        0,
        "only its own"
    );
    assert_eq!(f.write(|c| queue::reclaim_expired(c, later(70), lease)), 1);
    let rows = f.rows();
    assert_eq!(
        rows.iter()
            .filter(|r| r.1 == "queued" && r.3.is_none())
            .count(),
        1,
        "{rows:?}"
    );
    assert_eq!(
        rows.iter().filter(|r| r.2 == 1).count(),
        2,
        "the attempt stays counted: it may have gone out"
    );
}

#[test]
fn put_back_returns_untried_rows_uncounted() {
    let f = Fixture::new(&[vec!["email"], vec!["sms"], vec!["push"]]);
    let rows = f.claim("w1", later(1));
    let until = later(3600);
    let by = |ch: Channel| rows.iter().find(|r| r.channel == ch).unwrap().id.clone();
    let stop = vec![(by(Channel::Email), later(0))];
    let window = vec![(by(Channel::Sms), until)];
    let relay = vec![(by(Channel::Push), until)];
    assert_eq!(
        f.write(|c| queue::put_back(c, "w2", &stop, PutBack::Shutdown)),
        0,
        "only its own"
    );
    assert_eq!(
        f.write(|c| queue::put_back(c, "w1", &stop, PutBack::Shutdown)),
        1
    );
    assert_eq!(
        f.write(|c| queue::put_back(c, "w1", &window, PutBack::Window)),
        1
    );
    assert_eq!(
        f.write(|c| queue::put_back(c, "w1", &relay, PutBack::RelayPaused)),
        1
    );
    let held: Vec<(String, i32, String)> =
        f.db.read_blocking(|c| {
            Ok(outbox::table
                .select((outbox::status, outbox::attempts, outbox::send_window))
                .load(c)?)
        })
        .unwrap();
    assert!(
        held.iter().all(|(s, a, _)| s == "queued" && *a == 0),
        "{held:?}"
    );
    assert_eq!(
        held.iter().filter(|(_, _, w)| w == "held").count(),
        1,
        "{held:?}"
    );
    assert!(
        f.claim("w1", later(1)).len() == 1,
        "only the shutdown row is due now"
    );
}

#[test]
fn a_sent_message_notifies_the_person_and_completes_the_dispatch() {
    let f = Fixture::new(&[vec!["email"]]);
    let row = f.claim("w1", later(1)).remove(0);
    assert_eq!(f.record("w1", row, sent()), 1);
    assert_eq!(f.rows()[0].1, "sent");
    assert_eq!(f.person("p0").0, "sent");
    assert_eq!(f.ledger(), ["sent"]);
    assert_eq!(f.status(), "completed");
}

#[test]
fn a_handed_off_message_notifies_the_person() {
    let f = Fixture::new(&[vec!["letter"]]);
    let row = f.claim("w1", later(1)).remove(0);
    let d = Disposition::HandedOff {
        provider: "print".into(),
        location: "outbox/letter/x.html".into(),
    };
    f.record("w1", row, d);
    assert_eq!(
        (f.rows()[0].1.as_str(), f.person("p0").0.as_str()),
        ("handed_off", "handed_off")
    );
}

#[test]
fn a_persons_transient_failure_retries_later_and_counts() {
    let f = Fixture::new(&[vec!["email"]]);
    let row = f.claim("w1", later(1)).remove(0);
    let d = Disposition::Retry {
        provider: "smtp".into(),
        run_at: later(120),
        detail: "transient: smtp 450".into(),
    };
    f.record("w1", row, d);
    let rows = f.rows();
    assert_eq!((rows[0].1.as_str(), rows[0].2), ("queued", 1), "{rows:?}");
    assert!(f.claim("w1", later(60)).is_empty(), "not before its time");
    assert_eq!(f.claim("w1", later(121))[0].attempts, 2);
    assert_eq!(f.ledger(), ["retry"]);
}

#[test]
fn a_relay_failure_gives_the_attempt_back() {
    let f = Fixture::new(&[vec!["email"]]);
    let row = f.claim("w1", later(1)).remove(0);
    let d = Disposition::RelayDeferred {
        provider: "smtp".into(),
        run_at: later(2),
        detail: "relay: smtp 421".into(),
    };
    f.record("w1", row, d);
    let rows = f.rows();
    assert_eq!((rows[0].1.as_str(), rows[0].2), ("queued", 0), "{rows:?}");
    assert_eq!(f.ledger(), ["relay_deferred"]);
    assert_eq!(f.person("p0").0, "queued");
}

#[test]
fn failures_move_the_person_along_their_channels_then_make_them_unreachable() {
    let f = Fixture::new(&[vec!["email", "sms"]]);
    let row = f.claim("w1", later(1)).remove(0);
    f.record("w1", row, failed());
    let rows = f.rows();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!((rows[1].1.as_str(), rows[1].4.as_str()), ("queued", "sms"));
    assert_eq!(f.person("p0").0, "queued");
    assert_eq!(f.person("p0").1, 1);
    assert_eq!(f.status(), "sending");
    let row = f.claim("w1", later(1)).remove(0);
    f.record("w1", row, failed());
    assert_eq!(f.person("p0").0, "unreachable");
    assert_eq!(f.status(), "completed");
}

#[test]
fn a_result_for_a_row_another_worker_took_over_is_not_written() {
    let f = Fixture::new(&[vec!["email"]]);
    let row = f.claim("w1", later(1)).remove(0);
    f.write(|c| queue::reclaim_expired(c, later(120), Duration::from_secs(60)));
    let taken = f.claim("w2", later(121)).remove(0);
    assert_eq!(f.record("w1", row, sent()), 0, "w1 lost its lease");
    assert_eq!(f.record("w2", taken, sent()), 1);
    assert_eq!(f.ledger(), ["sent"]);
}

fn receipt(id: &str, status: ReceiptStatus) -> Receipt {
    Receipt {
        message_ref: MessageRef::MessageId(format!("<{id}@breachline>")),
        status,
        detail: None,
    }
}

#[test]
fn receipts_deliver_or_bounce_and_repeat_harmlessly() {
    let f = Fixture::new(&[vec!["sms"], vec!["sms", "email"]]);
    let rows = f.claim("w1", later(1));
    let id_of = |p: &str| rows.iter().find(|r| r.external_id == p).unwrap().id.clone();
    let (a, b) = (&id_of("p0"), &id_of("p1"));
    for row in rows.clone() {
        f.record("w1", row, sent());
    }
    f.write(|c| delivery::record_receipt(c, &receipt(a, ReceiptStatus::Delivered), None));
    f.write(|c| delivery::record_receipt(c, &receipt(a, ReceiptStatus::Delivered), None));
    assert_eq!(f.person("p0").0, "delivered");
    f.write(|c| delivery::record_receipt(c, &receipt(b, ReceiptStatus::Bounced), None));
    assert_eq!((f.person("p1").0.as_str(), f.person("p1").1), ("queued", 1));
    let ledger = f.ledger();
    assert_eq!(
        ledger.iter().filter(|l| *l == "receipt: delivered").count(),
        1,
        "a resent receipt changes nothing: {ledger:?}"
    );
    assert!(
        ledger.contains(&"receipt: bounced".to_owned()),
        "{ledger:?}"
    );
    let unknown = f.db.write_blocking(|c| {
        delivery::record_receipt(c, &receipt("nope", ReceiptStatus::Delivered), None)
    });
    assert!(unknown.is_err(), "an unknown message is not found");
}

#[test]
fn an_overdue_receipt_fails_the_message_and_a_late_one_is_noted_once() {
    let f = Fixture::new(&[vec!["sms", "email"]]);
    let row = f.claim("w1", later(1)).remove(0);
    let id = row.id.clone();
    let d = Disposition::Sent {
        provider: "webhook".into(),
        provider_id: Some("x1".into()),
        receipt_due_at: Some(later(10)),
    };
    f.record("w1", row, d);
    assert_eq!(f.write(|c| delivery::expire_receipts(c, later(5), 10)), 0);
    assert_eq!(f.write(|c| delivery::expire_receipts(c, later(11), 10)), 1);
    assert_eq!(f.person("p0").1, 1, "moved to e-mail");
    f.write(|c| delivery::record_receipt(c, &receipt(&id, ReceiptStatus::Delivered), None));
    f.write(|c| delivery::record_receipt(c, &receipt(&id, ReceiptStatus::Delivered), None));
    let ledger = f.ledger();
    assert_eq!(
        ledger
            .iter()
            .filter(|l| *l == "receipt: delivered (late)")
            .count(),
        1,
        "{ledger:?}"
    );
    assert_eq!(
        f.person("p0").0,
        "queued",
        "the late receipt changes nothing else"
    );
}

#[test]
fn a_bulletin_covers_the_unreachable() {
    let f = Fixture::new(&[vec![], vec!["email"]]);
    let (tenant, incident) = {
        let id = f.dispatch.clone();
        f.db.read_blocking(move |c| {
            let d = dispatches::by_id(c, &id)?;
            Ok((d.tenant_id, d.incident_id))
        })
        .unwrap()
    };
    assert_eq!(f.person("p0").0, "unreachable");
    let n = f.write(|c| delivery::cover(c, &tenant, &incident, "bulletin b1 v1"));
    assert_eq!(n, 1);
    assert_eq!(
        f.person("p0"),
        ("covered".into(), 0, Some("bulletin b1 v1".into()))
    );
    assert_eq!(
        f.person("p1").0,
        "queued",
        "reachable people are not covered"
    );
}

#[test]
fn held_rows_are_released_by_an_approver_or_a_window_change() {
    let f = Fixture::new(&[vec!["sms"], vec!["sms"]]);
    let rows = f.claim("w1", later(1));
    let until = later(7200);
    let held: Vec<(String, NaiveDateTime)> = rows.iter().map(|r| (r.id.clone(), until)).collect();
    f.write(|c| queue::put_back(c, "w1", &held, PutBack::Window));
    assert!(f.claim("w1", later(1)).is_empty());
    let d = f.dispatch.clone();
    assert_eq!(
        f.write(|c| queue::release_held(c, &d, Some(Channel::Email), now_micros())),
        0
    );
    assert_eq!(
        f.write(|c| queue::release_held(c, &d, Some(Channel::Sms), now_micros())),
        2
    );
    let released = f.claim("w1", later(1));
    assert_eq!(released.len(), 2);
    assert!(released.iter().all(|r| r.window.as_str() == "released"));
    // A window change: held rows are due again and meet the new window.
    let again: Vec<(String, NaiveDateTime)> =
        released.iter().map(|r| (r.id.clone(), until)).collect();
    f.write(|c| queue::put_back(c, "w1", &again, PutBack::Window));
    let tenant = released[0].tenant_id.clone();
    assert_eq!(
        f.write(|c| queue::reapply_windows(c, &tenant, now_micros())),
        2
    );
    assert!(
        f.claim("w1", later(1))
            .iter()
            .all(|r| r.window.as_str() == "applies")
    );
}
