//! The delivery state machine under random histories: sends that succeed, hand off,
//! fail for the person (for now or for good) or for the relay; receipts; receipt
//! timeouts; rows put back untried; workers that crash mid-send. Whatever happens,
//! once the queue drains nobody is lost (everyone is notified, or unreachable
//! because every channel refused them) and nobody is sent twice unless a crash hit
//! while their message was in flight.

use std::collections::HashMap;
use std::time::Duration;

use breachline::db::{Db, DbConnection};
use breachline::dispatch::channels::Outcome;
use breachline::dispatch::policy::{RetryPolicy, SendReport, dispose};
use breachline::domain::{
    IncidentFacts, MessageRef, Receipt, ReceiptStatus, RecipientState, now_micros,
};
use breachline::store::delivery::{self, Disposition};
use breachline::store::dispatches::{self, NewDispatch};
use breachline::store::outbox::{self as queue, Claimed, PutBack};
use breachline::store::plans::{self, NewPlanEntry};
use breachline::store::{incidents, tenants};
use chrono::NaiveDateTime;
use proptest::prelude::*;

use crate::helpers::TestDb;

/// What happens next in a history.
#[derive(Debug, Clone)]
enum Step {
    /// Worker `w` claims up to 3 rows.
    Claim { w: usize },
    /// Worker `w` finishes its `pick`th claimed row with `outcome`.
    Finish {
        w: usize,
        pick: usize,
        outcome: Sent,
    },
    /// Worker `w` puts its rows back untried (a paused relay).
    PutBack { w: usize },
    /// Worker `w` dies; of its claimed rows those in `mask` had gone out.
    Crash { w: usize, mask: u8 },
    /// A provider's receipt for the `pick`th message awaiting one.
    Receipt { pick: usize, status: u8 },
    /// Time passes (receipts may be overdue).
    Wait { secs: u32 },
}

#[derive(Debug, Clone, Copy)]
enum Sent {
    Accepted,
    AcceptedAwaitingReceipt,
    HandedOff,
    PersonLater,
    PersonNever,
    RelayDown,
}

fn step() -> impl Strategy<Value = Step> {
    let sent = prop_oneof![
        4 => Just(Sent::Accepted),
        2 => Just(Sent::AcceptedAwaitingReceipt),
        1 => Just(Sent::HandedOff),
        2 => Just(Sent::PersonLater),
        2 => Just(Sent::PersonNever),
        2 => Just(Sent::RelayDown),
    ];
    prop_oneof![
        3 => (0..2usize).prop_map(|w| Step::Claim { w }),
        5 => (0..2usize, 0..4usize, sent).prop_map(|(w, pick, outcome)| Step::Finish { w, pick, outcome }),
        1 => (0..2usize).prop_map(|w| Step::PutBack { w }),
        1 => (0..2usize, any::<u8>()).prop_map(|(w, mask)| Step::Crash { w, mask }),
        2 => (0..4usize, 0..3u8).prop_map(|(pick, status)| Step::Receipt { pick, status }),
        1 => (1..200u32).prop_map(|secs| Step::Wait { secs }),
    ]
}

const LEASE: Duration = Duration::from_secs(60);
const RECEIPT_WINDOW: Duration = Duration::from_secs(100);

/// The world of one history: the database, the clock, and what really went out.
struct World {
    db: Db,
    now: NaiveDateTime,
    claimed: [Vec<Claimed>; 2],
    /// Messages that really left, per outbox row (with its person).
    sent: HashMap<String, (String, usize)>,
    /// Rows in flight when a worker died, and how often.
    in_flight_at_crash: HashMap<String, usize>,
    dispatch_id: String,
}

impl World {
    fn new(people: &[Vec<&'static str>]) -> (Self, TestDb) {
        let test_db = TestDb::new();
        let db = Db::connect(&test_db.settings().database).unwrap();
        let dispatch_id = db.write_blocking(|conn| Ok(seed(conn, people))).unwrap();
        let world = World {
            db,
            now: now_micros(),
            claimed: [Vec::new(), Vec::new()],
            sent: HashMap::new(),
            in_flight_at_crash: HashMap::new(),
            dispatch_id,
        };
        (world, test_db)
    }

    fn name(w: usize) -> String {
        format!("worker-{w}")
    }

    fn write<T>(&self, f: impl FnOnce(&mut DbConnection) -> breachline::error::AppResult<T>) -> T {
        self.db.write_blocking(f).unwrap()
    }

    fn apply(&mut self, step: &Step) {
        match *step {
            Step::Claim { w } => {
                let now = self.now;
                let rows = self.write(|c| queue::claim(c, &Self::name(w), now, 3));
                self.claimed[w].extend(rows);
            }
            Step::Finish { w, pick, outcome } => {
                if self.claimed[w].is_empty() {
                    return;
                }
                let row = self.claimed[w].remove(pick % self.claimed[w].len());
                self.finish(w, row, outcome);
            }
            Step::PutBack { w } => {
                let rows: Vec<(String, NaiveDateTime)> = self.claimed[w]
                    .drain(..)
                    .map(|c| (c.id, self.now))
                    .collect();
                self.write(|c| queue::put_back(c, &Self::name(w), &rows, PutBack::RelayPaused));
            }
            Step::Crash { w, mask } => {
                let rows: Vec<Claimed> = self.claimed[w].drain(..).collect();
                for (i, row) in rows.into_iter().enumerate() {
                    if mask & (1 << (i % 8)) != 0 {
                        self.went_out(&row);
                    }
                    *self.in_flight_at_crash.entry(row.id).or_default() += 1;
                }
                self.tick(LEASE.as_secs() as i64 + 1);
            }
            Step::Receipt { pick, status } => {
                let waiting = self.awaiting_receipt();
                if waiting.is_empty() {
                    return;
                }
                let id = waiting[pick % waiting.len()].clone();
                let status = [
                    ReceiptStatus::Delivered,
                    ReceiptStatus::Bounced,
                    ReceiptStatus::Failed,
                ][status as usize % 3];
                let receipt = Receipt {
                    message_ref: MessageRef::MessageId(format!("<{id}@breachline>")),
                    status,
                    detail: None,
                };
                self.write(|c| delivery::record_receipt(c, &receipt, None));
            }
            Step::Wait { secs } => {
                self.tick(i64::from(secs));
                let now = self.now;
                self.write(|c| delivery::expire_receipts(c, now, 100));
            }
        }
    }

    /// Time passes as a live worker sees it: its upkeep renews the leases of the
    /// rows it holds, and any lease left to expire is taken back.
    fn tick(&mut self, secs: i64) {
        self.now += chrono::Duration::seconds(secs);
        let now = self.now;
        for w in 0..2 {
            let ids: Vec<String> = self.claimed[w].iter().map(|c| c.id.clone()).collect();
            self.write(|c| queue::renew(c, &Self::name(w), &ids, now));
        }
        self.write(|c| queue::reclaim_expired(c, now, LEASE));
    }

    fn finish(&mut self, w: usize, row: Claimed, outcome: Sent) {
        let out = match outcome {
            Sent::Accepted => Outcome::Sent { provider_id: None },
            Sent::AcceptedAwaitingReceipt => Outcome::Sent {
                provider_id: Some(format!("p-{}", row.id)),
            },
            Sent::HandedOff => Outcome::HandedOff {
                location: "file".into(),
            },
            Sent::PersonLater => Outcome::Transient("450".into()),
            Sent::PersonNever => Outcome::Permanent("550".into()),
            Sent::RelayDown => Outcome::RelayDown("421".into()),
        };
        if matches!(out, Outcome::Sent { .. } | Outcome::HandedOff { .. }) {
            self.went_out(&row);
        }
        let report = SendReport {
            outcome: &out,
            provider: "test",
            attempt: row.attempts.max(1) as u32,
            queued_at: row.queued_at,
            receipt_window: matches!(outcome, Sent::AcceptedAwaitingReceipt)
                .then_some(RECEIPT_WINDOW),
            relay_paused_until: Some(self.now + chrono::Duration::seconds(1)),
        };
        let policy = RetryPolicy {
            max_attempts: 4,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(4),
            window: Duration::from_secs(365 * 86_400),
        };
        let disposition = dispose(&report, &policy, self.now, &mut rand::rng());
        let now = self.now;
        self.write(|c| delivery::record(c, &Self::name(w), &[(row, disposition)], now));
    }

    fn awaiting_receipt(&self) -> Vec<String> {
        use breachline::db::schema::outbox;
        use diesel::prelude::*;
        self.db
            .read_blocking(|c| {
                Ok(outbox::table
                    .filter(outbox::status.eq("sent"))
                    .filter(outbox::receipt_due_at.is_not_null())
                    .order(outbox::id)
                    .select(outbox::id)
                    .load(c)?)
            })
            .unwrap()
    }

    /// Finishes the history: every worker still holding rows puts them back, then
    /// one healthy worker sends everything and receipts arrive as delivered.
    fn drain(&mut self) {
        for w in 0..2 {
            self.apply(&Step::PutBack { w });
        }
        for _ in 0..200 {
            self.now += chrono::Duration::seconds(10);
            let now = self.now;
            let rows = self.write(|c| queue::claim(c, "healthy", now, 50));
            for row in rows {
                self.finish_healthy(row);
            }
            for id in self.awaiting_receipt() {
                self.apply_receipt(&id);
            }
            let pending = self.pending();
            if pending == 0 {
                return;
            }
        }
        panic!("the queue did not drain");
    }

    fn went_out(&mut self, row: &Claimed) {
        self.sent
            .entry(row.id.clone())
            .or_insert_with(|| (row.external_id.clone(), 0))
            .1 += 1;
    }

    fn finish_healthy(&mut self, row: Claimed) {
        self.went_out(&row);
        let now = self.now;
        let d = Disposition::Sent {
            provider: "test".into(),
            provider_id: None,
            receipt_due_at: None,
        };
        self.write(|c| delivery::record(c, "healthy", &[(row, d)], now));
    }

    fn apply_receipt(&mut self, id: &str) {
        let receipt = Receipt {
            message_ref: MessageRef::MessageId(id.to_owned()),
            status: ReceiptStatus::Delivered,
            detail: None,
        };
        self.write(|c| delivery::record_receipt(c, &receipt, None));
    }

    fn pending(&self) -> i64 {
        use breachline::db::schema::outbox;
        use diesel::prelude::*;
        self.db
            .read_blocking(|c| {
                Ok(outbox::table
                    .filter(outbox::status.eq_any(["queued", "sending"]))
                    .count()
                    .get_result(c)?)
            })
            .unwrap()
    }

    fn states(&self) -> HashMap<String, String> {
        use breachline::db::schema::dispatch_recipients as r;
        use diesel::prelude::*;
        let id = self.dispatch_id.clone();
        self.db
            .read_blocking(move |c| {
                Ok(r::table
                    .filter(r::dispatch_id.eq(id))
                    .select((r::external_id, r::state))
                    .load::<(String, String)>(c)?
                    .into_iter()
                    .collect())
            })
            .unwrap()
    }
}

/// A tenant, an incident and an approved dispatch whose people have these routes.
pub fn seed(conn: &mut DbConnection, people: &[Vec<&'static str>]) -> String {
    let tenant = tenants::NewTenant {
        slug: "props".into(),
        name: "Props".into(),
        establishments: vec!["JP".into()],
        default_locale: "en".into(),
    }
    .validate()
    .unwrap();
    let tenant = tenants::create(conn, &tenant).unwrap();
    let at = now_micros() - chrono::Duration::days(1);
    let facts = IncidentFacts {
        title: "Props".into(),
        description: None,
        occurred_at: None,
        discovered_at: at,
        aware_at: at,
        assessed_at: None,
        contained_at: None,
        cause: None,
        breach_types: Vec::new(),
        data_categories: Vec::new(),
        systems: Vec::new(),
        encrypted: false,
        risk: None,
        estimated_affected: None,
        severity: None,
        owner: None,
    };
    let incident = incidents::insert(conn, &tenant.id, &facts, "props").unwrap();
    let entries: Vec<NewPlanEntry> = people
        .iter()
        .enumerate()
        .map(|(i, channels)| {
            let routes: Vec<serde_json::Value> = channels
                .iter()
                .map(|c| serde_json::json!({"channel": c, "address": format!("p{i}-{c}")}))
                .collect();
            NewPlanEntry {
                incident_id: incident.id.clone(),
                external_id: format!("p{i}"),
                tenant_id: tenant.id.clone(),
                audience: "subject".into(),
                recipient_name: None,
                subject_name: None,
                locale: "en".into(),
                channels: serde_json::to_string(&routes).unwrap(),
                postal_address: None,
                unreachable: channels.is_empty(),
                wanted_locale: Some("en".into()),
            }
        })
        .collect();
    plans::insert_entries(conn, &entries).unwrap();
    let content = breachline::notices::content::NoticeContent {
        default_locale: "en".into(),
        locales: Default::default(),
    };
    let row = dispatches::insert(
        conn,
        &NewDispatch {
            tenant_id: &tenant.id,
            incident_id: &incident.id,
            content: &content,
            created_by: "props",
            warnings: &[],
        },
    )
    .unwrap();
    delivery::enqueue_first_channels(conn, &row).unwrap();
    dispatches::mark_approved(conn, &row.id, "approver").unwrap();
    row.id
}

fn routes() -> impl Strategy<Value = Vec<&'static str>> {
    proptest::sample::subsequence(vec!["email", "sms", "letter"], 0..=3)
}

fn cases() -> u32 {
    if std::env::var(crate::helpers::PG_ENV).is_ok() {
        12
    } else {
        40
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn nobody_is_lost_and_nobody_is_sent_twice_outside_a_crash(
        people in proptest::collection::vec(routes(), 1..6),
        history in proptest::collection::vec(step(), 0..60),
    ) {
        let (mut world, _db) = World::new(&people);
        for step in &history {
            world.apply(step);
        }
        world.drain();
        let states = world.states();
        for (row, (person, sent)) in &world.sent {
            let crashes = world.in_flight_at_crash.get(row).copied().unwrap_or(0);
            prop_assert!(
                *sent <= 1 + crashes,
                "{person}'s message {row} went out {sent} times with {crashes} crashes in flight"
            );
        }
        for (i, channels) in people.iter().enumerate() {
            let person = format!("p{i}");
            let state: RecipientState = states[&person].parse().unwrap();
            let sent: usize = world.sent.values().filter(|(p, _)| *p == person).map(|(_, n)| n).sum();
            prop_assert!(
                state.is_notified() || state == RecipientState::Unreachable,
                "{person} ended {state}: lost"
            );
            if state.is_notified() {
                prop_assert!(sent >= 1, "{person} is {state} but nothing went out");
            }
            if channels.is_empty() {
                prop_assert_eq!(state, RecipientState::Unreachable);
            }
        }
    }
}
