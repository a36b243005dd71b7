//! Vocabularies of an incident's facts. Each is a closed set of snake_case words,
//! the same in the API, the database and the regime files.

vocabulary! {
    /// What caused the breach.
    Cause {
        Malicious => "malicious",
        Insider => "insider",
        Accidental => "accidental",
        Misdelivery => "misdelivery",
        LostDevice => "lost_device",
        SystemError => "system_error",
        Vendor => "vendor",
        Unknown => "unknown",
    }
}

vocabulary! {
    /// Which security property was broken (ENISA / EDPB classification).
    BreachType {
        Confidentiality => "confidentiality",
        Integrity => "integrity",
        Availability => "availability",
    }
}

vocabulary! {
    /// Kinds of personal data, shared by incidents, scopes, subjects and regimes.
    DataCategory {
        Contact => "contact",
        Identity => "identity",
        GovernmentId => "government_id",
        Financial => "financial",
        PaymentCard => "payment_card",
        Credentials => "credentials",
        Health => "health",
        Sensitive => "sensitive",
        Biometric => "biometric",
        Location => "location",
        Children => "children",
        Communications => "communications",
        Device => "device",
    }
}

vocabulary! {
    /// The assessed risk to the people affected.
    Risk {
        None => "none",
        Low => "low",
        High => "high",
    }
}

vocabulary! {
    /// Where an incident stands in its life cycle.
    IncidentStatus {
        Open => "open",
        Assessed => "assessed",
        Notifying => "notifying",
        Closed => "closed",
    }
}

impl IncidentStatus {
    /// Whether the life cycle allows moving from `self` to `next`:
    /// `open → assessed → notifying → closed`, `assessed → closed` when the assessment
    /// finds nobody to notify, and `closed → open` to reopen. An incident is assessed
    /// before it closes, so even a false alarm leaves its assessment on record; closing
    /// also needs every obligation met or waived (checked where they are stored).
    pub fn can_move_to(self, next: IncidentStatus) -> bool {
        use IncidentStatus::*;
        matches!(
            (self, next),
            (Open, Assessed)
                | (Assessed, Notifying)
                | (Assessed, Closed)
                | (Notifying, Closed)
                | (Closed, Open)
        )
    }

    /// The allowed moves, for error messages.
    pub const LIFE_CYCLE: &'static str = "open → assessed → notifying → closed, assessed → closed \
         (nothing to notify), and closed → open to reopen";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for c in DataCategory::ALL {
            assert_eq!(c.as_str().parse::<DataCategory>(), Ok(*c));
        }
        assert!("lost device".parse::<Cause>().is_err());
    }

    #[test]
    fn life_cycle_is_enforced() {
        use IncidentStatus::*;
        assert!(Open.can_move_to(Assessed));
        assert!(Closed.can_move_to(Open));
        assert!(Assessed.can_move_to(Closed));
        assert!(!Open.can_move_to(Closed), "assessed first");
        assert!(!Closed.can_move_to(Notifying));
        assert!(!Notifying.can_move_to(Open));
        assert!(!Open.can_move_to(Open));
    }
}
