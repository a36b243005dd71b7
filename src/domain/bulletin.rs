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

/// What a visitor types into a bulletin's inquiry desk: an e-mail address or a
/// phone number (E.164 after spaces, dashes, dots and brackets are removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InquiryContact {
    /// An e-mail address as typed (trimmed).
    Email(String),
    /// A phone number in E.164.
    Phone(String),
}

impl InquiryContact {
    /// Reads the field; the error is the reason, for the field `contact`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let v = raw.trim();
        if v.is_empty() {
            return Err("is required: your e-mail address or phone number".into());
        }
        if v.contains('@') {
            return if super::subject::is_email(v) {
                Ok(InquiryContact::Email(v.to_owned()))
            } else {
                Err("not a valid e-mail address".into())
            };
        }
        let phone: String = v
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        if super::subject::is_e164(&phone) {
            Ok(InquiryContact::Phone(phone))
        } else {
            Err("neither an e-mail address nor a phone number in international format (+ and 8-15 digits, e.g. +81 90 1234 5678)".into())
        }
    }

    /// The form hashed for throttling: e-mail lower-cased, phone as E.164.
    pub fn key(&self) -> String {
        match self {
            InquiryContact::Email(e) => format!("email:{}", e.to_lowercase()),
            InquiryContact::Phone(p) => format!("phone:{p}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::InquiryContact;

    #[test]
    fn inquiry_contacts_read_as_email_or_e164() {
        assert_eq!(
            InquiryContact::parse(" Aiko@Example.jp "),
            Ok(InquiryContact::Email("Aiko@Example.jp".into()))
        );
        assert_eq!(
            InquiryContact::parse("+81 90-1234-5678"),
            Ok(InquiryContact::Phone("+819012345678".into()))
        );
        assert!(InquiryContact::parse("090 1234 5678").is_err());
        assert!(InquiryContact::parse("aiko@").is_err());
        assert!(InquiryContact::parse("").is_err());
        assert_eq!(
            InquiryContact::parse("A@B.example").map(|c| c.key()),
            Ok("email:a@b.example".into())
        );
    }
}
