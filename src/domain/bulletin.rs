//! Vocabularies of substitute notice and public bulletins.

vocabulary! {
    /// One thing a law asks for when a public notice stands in for individual notice.
    RequirementKind {
        EmailWhereKnown => "email_where_known",
        WebsitePosting => "website_posting",
        HomePageLink => "home_page_link",
        MediaNotice => "media_notice",
        InquiryDesk => "inquiry_desk",
        Publicise => "publicise",
    }
}

impl RequirementKind {
    /// Whether only an operator can tell it was done (and marks it with evidence):
    /// a link on the tenant's own home page, a statement sent to the press, other
    /// publicity. The others are seen in Breachline's own records.
    pub fn confirmed_by_operator(self) -> bool {
        matches!(
            self,
            RequirementKind::HomePageLink
                | RequirementKind::MediaNotice
                | RequirementKind::Publicise
        )
    }
}

vocabulary! {
    /// Where a bulletin stands: waiting for its first approval, public, or taken down.
    BulletinStatus {
        AwaitingApproval => "awaiting_approval",
        Published => "published",
        Withdrawn => "withdrawn",
    }
}

vocabulary! {
    /// What one immutable bulletin version records.
    VersionKind {
        Content => "content",
        Withdrawal => "withdrawal",
    }
}
