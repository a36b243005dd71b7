vocabulary! {
    /// A piece of content a breach notice must carry.
    NoticeItem {
        Summary => "summary",
        LikelyImpact => "likely_impact",
        MeasuresTaken => "measures_taken",
        Advice => "advice",
        Remedies => "remedies",
        Contact => "contact",
        DataCategories => "data_categories",
        DpoContact => "dpo_contact",
    }
}

impl NoticeItem {
    /// The items every notice carries: the four items the customers' policies promise
    /// (what happened and the likely impact, what was done, what the person can do,
    /// remedies and contact), which also cover GDPR Art. 34(2), APPI Rule 10 and PIPL Art. 57.
    pub const BASE: &'static [NoticeItem] = &[
        NoticeItem::Summary,
        NoticeItem::LikelyImpact,
        NoticeItem::MeasuresTaken,
        NoticeItem::Advice,
        NoticeItem::Remedies,
        NoticeItem::Contact,
    ];
}
