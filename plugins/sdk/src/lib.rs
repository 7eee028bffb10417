//! Write a Latchkey identity-provider connector in plain Rust.
//!
//! A connector is a type that implements [`Connector`], registered with
//! [`register!`]. Built with `cargo build --target wasm32-wasip2 --release`
//! it becomes a component implementing `latchkey:connector@0.1.0`; built
//! natively it is plain Rust whose host calls (HTTP, log, cache, clock) go to
//! the fake host in [`testing`], so its logic is unit-tested with `cargo test`.
//! A connector that holds an app token of its own (client-credentials style)
//! can keep it with [`app_token`].
//!
//! A sketch (see `examples/oauth2-example` for a complete connector):
//!
//! ```ignore
//! use latchkey_connector_sdk::{self as sdk, Connector, Identity, Manifest, Setting, Settings};
//!
//! struct Example;
//!
//! impl Connector for Example {
//!     fn describe() -> Manifest {
//!         Manifest::new("example", "Example", env!("CARGO_PKG_VERSION"))
//!             .setting(Setting::text("client_id", "Client ID").required())
//!     }
//!     fn begin(settings: &Settings, request: &sdk::BeginRequest) -> sdk::Result<String> {
//!         // The provider's authorize URL with client_id, redirect_uri, state, PKCE…
//!         # unimplemented_in_this_sketch(settings, request)
//!     }
//!     fn complete(settings: &Settings, request: &sdk::CompleteRequest) -> sdk::Result<Identity> {
//!         // Exchange the code, fetch the user, return who it is.
//!         # unimplemented_in_this_sketch(settings, request)
//!     }
//! }
//!
//! sdk::register!(Example);
//! ```
//!
//! Invariants: authors never see WIT; every host call goes through
//! `host.rs`; nothing here keeps state between calls (each call is a fresh
//! instance), except through [`cache`].

// Only the generated WIT glue (wasm.rs) needs unsafe code.
#![deny(unsafe_code)]

// Lets the WIT bindings name this crate by its public path from inside it too.
extern crate self as latchkey_connector_sdk;

pub mod app_token;
pub mod cache;
pub mod clock;
mod error;
pub mod http;
pub mod log;
mod settings;
mod types;

mod entry;
mod host;
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod wasm;

#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use error::{ConnectorError, ErrorKind, Result};
pub use settings::Settings;
pub use types::{
    BeginRequest, CompleteRequest, DirectoryPage, Identity, Manifest, Setting, SettingError,
    SettingKind,
};

/// URLs as [`Settings::url`] returns them; build query strings with
/// `url.query_pairs_mut()`, which encodes properly.
pub use url::Url;

/// The `latchkey:connector` WIT version this SDK implements.
pub const API_VERSION: &str = "0.1.0";

/// An identity-provider connector.
///
/// Every function is called in a fresh instance of the component, so there is
/// no `self`: keep what must outlive one call in [`cache`]. `settings` hold the
/// admin's values with the manifest's defaults filled in.
pub trait Connector {
    /// Who the connector is and which settings it takes. Must not call the host.
    fn describe() -> Manifest;

    /// Checks settings when the admin saves them. The default checks the
    /// manifest schema (required keys, URL and bool syntax, unknown keys);
    /// overrides usually start with [`Settings::schema_errors`].
    fn validate_settings(settings: &Settings) -> std::result::Result<(), Vec<SettingError>> {
        let errors = settings.schema_errors();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Returns the URL to send the browser to.
    fn begin(settings: &Settings, request: &BeginRequest) -> Result<String>;

    /// Turns the callback into the identity the provider vouches for.
    /// Never retry a code exchange: codes are single-use.
    fn complete(settings: &Settings, request: &CompleteRequest) -> Result<Identity>;

    /// One page of the provider's directory. Default: not supported.
    fn directory_page(_settings: &Settings, _cursor: Option<&str>) -> Result<DirectoryPage> {
        Err(ConnectorError::not_supported(
            "This connector cannot list a directory.",
        ))
    }

    /// Called after a user unbound `subject`. Default: nothing to do.
    fn unbound(_settings: &Settings, _subject: &str) -> Result<()> {
        Ok(())
    }
}

/// Exports a [`Connector`] type as the component's `latchkey:connector/plugin`.
/// Call it once, at the root of the connector crate (`crate-type = ["cdylib"]`).
/// On native targets it only checks that the type implements [`Connector`].
#[macro_export]
macro_rules! register {
    ($connector:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __LatchkeyConnectorGlue = $crate::__private::Glue<$connector>;
            $crate::__private::bindings::__export_connector!(__LatchkeyConnectorGlue);
        };
        const _: fn() = || {
            fn implements_connector<C: $crate::Connector>() {}
            implements_connector::<$connector>();
        };
    };
}

/// Implementation details used by [`register!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::entry::*;
    #[cfg(target_arch = "wasm32")]
    pub use crate::wasm::{Glue, bindings};
    #[cfg(target_arch = "wasm32")]
    pub use wit_bindgen;
}
