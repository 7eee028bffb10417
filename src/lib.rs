//! Latchkey: a self-hosted identity portal. See ARCHITECTURE.md for the map.
// Unsafe only in plugins::load_compiled (wasmtime artifact loading), allowed there alone.
#![deny(unsafe_code)]

rust_i18n::i18n!("locales", fallback = "en");

pub mod app;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod i18n;
pub mod keys;
pub mod passwords;
pub mod plugins;
pub mod store;
pub mod tokens;
pub mod web;
