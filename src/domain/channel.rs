vocabulary! {
    /// A way of reaching a person.
    Channel {
        Email => "email",
        Sms => "sms",
        Push => "push",
        Letter => "letter",
        Phone => "phone",
    }
}
