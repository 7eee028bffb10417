//! Pure product rules. No I/O here: no SQL, no HTTP, no clock (callers pass `now`).

pub mod account;
pub mod connector;
pub mod contact;
pub mod fields;
pub mod password_policy;
pub mod settings;
