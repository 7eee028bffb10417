//! The one error type a connector returns: a kind for the host, a message for
//! the user and a detail for the log.

use std::fmt;

/// What a call failed on; the host picks its reaction from the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The admin's settings are missing or wrong.
    Config,
    /// The provider refused (bad code, access denied, not a member).
    UpstreamRefused,
    /// The provider could not be reached or failed (5xx, timeout).
    UpstreamUnavailable,
    /// The provider's answer was malformed or failed a security check.
    InvalidResponse,
    /// The connector does not offer this function.
    NotSupported,
    /// The user cancelled at the provider.
    Cancelled,
}

/// A failed connector call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorError {
    pub kind: ErrorKind,
    /// One sentence a user or admin understands; shown on the page.
    pub message: String,
    /// Raw detail for the log only (upstream codes, bodies). Never secrets.
    pub detail: String,
}

/// Result of a connector call.
pub type Result<T, E = ConnectorError> = std::result::Result<T, E>;

impl ConnectorError {
    /// An error of `kind` with a user-facing message and no detail.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ConnectorError {
            kind,
            message: message.into(),
            detail: String::new(),
        }
    }
    /// The admin's settings are missing or wrong.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }
    /// The provider refused the sign-in or the request.
    pub fn upstream_refused(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UpstreamRefused, message)
    }
    /// The provider could not be reached or failed.
    pub fn upstream_unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::UpstreamUnavailable, message)
    }
    /// The provider's answer was malformed or failed a security check.
    pub fn invalid_response(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidResponse, message)
    }
    /// The connector does not offer this function.
    pub fn not_supported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotSupported, message)
    }
    /// The user cancelled at the provider.
    pub fn cancelled(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Cancelled, message)
    }
    /// Sets the log-only detail.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
    /// Replaces the user-facing message, keeping kind and detail.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
}

impl fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConnectorError {}
