//! The words of regulator reports that are stored: how a report was filed.

vocabulary! {
    /// How a report version was filed with the regulator.
    SubmissionChannel {
        Portal => "portal",
        Email => "email",
        Post => "post",
    }
}
