//! The words of the delivery life cycle: a dispatch, its people and their messages.
//! Every state is a closed vocabulary parsed in one place; the transitions between
//! them are the functions of `store::delivery` (see docs/ARCHITECTURE.md for the
//! state diagram).

vocabulary! {
    /// Who a notice is addressed to.
    Audience {
        Subject => "subject",
        Guardian => "guardian",
    }
}

vocabulary! {
    /// Where a dispatch stands.
    DispatchStatus {
        AwaitingApproval => "awaiting_approval",
        Approved => "approved",
        Sending => "sending",
        Completed => "completed",
        Cancelled => "cancelled",
    }
}

vocabulary! {
    /// Where one person of a dispatch stands.
    RecipientState {
        Pending => "pending",
        Queued => "queued",
        Sent => "sent",
        Delivered => "delivered",
        HandedOff => "handed_off",
        Unreachable => "unreachable",
        Covered => "covered",
        Cancelled => "cancelled",
    }
}

impl RecipientState {
    /// The person got (or was handed) their notice.
    pub fn is_notified(self) -> bool {
        matches!(
            self,
            RecipientState::Sent | RecipientState::Delivered | RecipientState::HandedOff
        )
    }
}

vocabulary! {
    /// Where one message (one person on one channel) stands in the outbox.
    OutboxStatus {
        Queued => "queued",
        Sending => "sending",
        Sent => "sent",
        Delivered => "delivered",
        HandedOff => "handed_off",
        Failed => "failed",
        Bounced => "bounced",
        Cancelled => "cancelled",
    }
}

impl OutboxStatus {
    /// Still to be sent or being sent.
    pub fn is_pending(self) -> bool {
        matches!(self, OutboxStatus::Queued | OutboxStatus::Sending)
    }
}

vocabulary! {
    /// Whether the tenant's send window still applies to a queued message.
    WindowHold {
        Applies => "applies",
        Held => "held",
        Released => "released",
    }
}

vocabulary! {
    /// One line of the dispatch ledger: what happened to one message at one time.
    AttemptResult {
        Sent => "sent",
        HandedOff => "handed_off",
        Retry => "retry",
        RelayDeferred => "relay_deferred",
        Failed => "failed",
        ReceiptDelivered => "receipt: delivered",
        ReceiptBounced => "receipt: bounced",
        ReceiptFailed => "receipt: failed",
        LateDelivered => "receipt: delivered (late)",
        LateBounced => "receipt: bounced (late)",
        LateFailed => "receipt: failed (late)",
        Released => "released",
        Cancelled => "cancelled",
        Covered => "covered",
    }
}

vocabulary! {
    /// The final word a provider (or a call centre, or the post) gives on a message.
    ReceiptStatus {
        Delivered => "delivered",
        Bounced => "bounced",
        Failed => "failed",
    }
}

impl ReceiptStatus {
    /// The message's status after this receipt.
    pub fn outbox_status(self) -> OutboxStatus {
        match self {
            ReceiptStatus::Delivered => OutboxStatus::Delivered,
            ReceiptStatus::Bounced => OutboxStatus::Bounced,
            ReceiptStatus::Failed => OutboxStatus::Failed,
        }
    }

    /// The ledger line of this receipt, on time or late.
    pub fn ledger(self, late: bool) -> AttemptResult {
        match (self, late) {
            (ReceiptStatus::Delivered, false) => AttemptResult::ReceiptDelivered,
            (ReceiptStatus::Bounced, false) => AttemptResult::ReceiptBounced,
            (ReceiptStatus::Failed, false) => AttemptResult::ReceiptFailed,
            (ReceiptStatus::Delivered, true) => AttemptResult::LateDelivered,
            (ReceiptStatus::Bounced, true) => AttemptResult::LateBounced,
            (ReceiptStatus::Failed, true) => AttemptResult::LateFailed,
        }
    }
}

/// Which message a receipt is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageRef {
    /// The provider's id, as it answered when it accepted the message.
    ProviderId(String),
    /// Our message id: `<outbox-row-id@breachline>` or the bare row id.
    MessageId(String),
}

impl MessageRef {
    /// The outbox row id a message id names.
    pub fn row_id(message_id: &str) -> &str {
        message_id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .trim_end_matches("@breachline")
    }
}

/// A verified delivery receipt (or a call centre's or the post's report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The message it is about.
    pub message_ref: MessageRef,
    /// What happened.
    pub status: ReceiptStatus,
    /// The provider's error code or note, if any.
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_unknown_words_are_errors() {
        for s in RecipientState::ALL {
            assert_eq!(s.as_str().parse::<RecipientState>(), Ok(*s));
        }
        for s in OutboxStatus::ALL {
            assert_eq!(s.as_str().parse::<OutboxStatus>(), Ok(*s));
        }
        for s in AttemptResult::ALL {
            assert_eq!(s.as_str().parse::<AttemptResult>(), Ok(*s));
        }
        assert!("sendin".parse::<OutboxStatus>().is_err());
    }

    #[test]
    fn receipts_map_to_statuses_and_ledger_lines() {
        assert_eq!(
            ReceiptStatus::Bounced.outbox_status(),
            OutboxStatus::Bounced
        );
        assert_eq!(
            ReceiptStatus::Delivered.ledger(true).as_str(),
            "receipt: delivered (late)"
        );
        assert!(RecipientState::HandedOff.is_notified());
        assert!(!RecipientState::Unreachable.is_notified());
    }
}
