//! Every page is a maud function here; shared pieces live in `layout`.

pub mod account;
pub mod admin;
pub mod admin_connectors;
pub mod auth;
pub mod factors;
pub mod layout;
pub mod passkeys;
