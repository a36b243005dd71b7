//! Public bulletins: the announcement that stands in for individual notice when a
//! law (or the tenant's own promise) allows it. Pure parts only: the substitute-notice
//! decision, the bulletin's content and its personal-data lint, the public pages'
//! language choice and the Atom feed. Storage is `store::bulletins`; routes are
//! `web::api::bulletins` (operators) and `web::bulletins` (the public).

pub mod content;
pub mod decision;
pub mod feed;
pub mod lint;
pub mod pages;
