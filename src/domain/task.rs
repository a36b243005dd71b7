//! Vocabularies of runbook tasks: the incident clocks a due time can count from,
//! what a task needs to be done, where it stands and what its due time rests on.

use chrono::NaiveDateTime;

use super::IncidentFacts;

vocabulary! {
    /// An incident's clocks: the instants a runbook item's due time can count from.
    Clock {
        OccurredAt => "occurred_at",
        DiscoveredAt => "discovered_at",
        AwareAt => "aware_at",
        AssessedAt => "assessed_at",
        ContainedAt => "contained_at",
    }
}

impl Clock {
    /// The clock's instant for this incident; `None` while it has not started.
    pub fn of(self, facts: &IncidentFacts) -> Option<NaiveDateTime> {
        match self {
            Clock::OccurredAt => facts.occurred_at,
            Clock::DiscoveredAt => Some(facts.discovered_at),
            Clock::AwareAt => Some(facts.aware_at),
            Clock::AssessedAt => facts.assessed_at,
            Clock::ContainedAt => facts.contained_at,
        }
    }
}

vocabulary! {
    /// What marking a task done takes: nothing more (`task`), or evidence
    /// (a filing receipt, a ticket, a log extract) recorded with it.
    TaskKind {
        Task => "task",
        EvidenceRequired => "evidence_required",
    }
}

vocabulary! {
    /// Where a task stands. `no_longer_applies` is set by the runbook's conditions,
    /// never by a user: an open task whose runbook (or obligation) stopped applying.
    TaskState {
        Open => "open",
        Done => "done",
        Skipped => "skipped",
        NoLongerApplies => "no_longer_applies",
    }
}

impl TaskState {
    /// The state after the incident's runbooks are matched again: an open task
    /// whose item no longer applies is set aside, and comes back open if it applies
    /// again; done and skipped tasks keep their state either way (they are history).
    pub fn after_refresh(self, applies: bool) -> TaskState {
        match (self, applies) {
            (TaskState::Open, false) => TaskState::NoLongerApplies,
            (TaskState::NoLongerApplies, true) => TaskState::Open,
            (state, _) => state,
        }
    }

    /// Whether a user may move a task from `self` to `next`: open tasks are done or
    /// skipped, done or skipped tasks are reopened; nothing else.
    pub fn can_move_to(self, next: TaskState) -> bool {
        use TaskState::*;
        matches!(
            (self, next),
            (Open, Done) | (Open, Skipped) | (Done, Open) | (Skipped, Open)
        )
    }
}

vocabulary! {
    /// What a task's due time was computed from: an incident clock, an obligation's
    /// statutory deadline, or (for a duty due "without undue delay") its target.
    DueBasis {
        Clock => "clock",
        Deadline => "deadline",
        Target => "target",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_sets_aside_open_tasks_only() {
        use TaskState::*;
        assert_eq!(Open.after_refresh(false), NoLongerApplies);
        assert_eq!(NoLongerApplies.after_refresh(true), Open);
        assert_eq!(NoLongerApplies.after_refresh(false), NoLongerApplies);
        for kept in [Done, Skipped] {
            assert_eq!(kept.after_refresh(false), kept);
            assert_eq!(kept.after_refresh(true), kept);
        }
        assert_eq!(Open.after_refresh(true), Open);
    }

    #[test]
    fn users_move_tasks_between_open_and_resolved() {
        use TaskState::*;
        assert!(Open.can_move_to(Done) && Open.can_move_to(Skipped));
        assert!(Done.can_move_to(Open) && Skipped.can_move_to(Open));
        assert!(!Done.can_move_to(Skipped) && !Open.can_move_to(Open));
        for s in TaskState::ALL {
            assert!(!s.can_move_to(NoLongerApplies));
            assert!(!NoLongerApplies.can_move_to(*s));
        }
    }
}

vocabulary! {
    /// What a reminder to the team is about.
    ReminderAbout {
        Obligation => "obligation",
        Task => "task",
        Digest => "digest",
    }
}

vocabulary! {
    /// How a message to the team goes out.
    TeamChannel {
        Email => "email",
        Webhook => "webhook",
    }
}

vocabulary! {
    /// Where a message to the team stands (`team_messages.status`).
    TeamMessageStatus {
        Queued => "queued",
        Sending => "sending",
        Sent => "sent",
        Failed => "failed",
    }
}
