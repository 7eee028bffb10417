//! Errors shared by the use cases, the CLI and the web tier.

use crate::store::StoreError;

/// A failed request. `Invalid` and `Refused` are the caller's doing (CLI exit 2, HTTP 4xx);
/// `Internal` is ours (exit 1, HTTP 500) and its detail goes to the log only.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Refused(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// One or more form fields are wrong; nothing was changed.
    #[error("{}", .0.iter().map(|p| p.english.as_str()).collect::<Vec<_>>().join("; "))]
    Form(Vec<Problem>),
}

/// What is wrong with one input: the field it belongs to, a translation key (with a
/// number `n` for messages that need one) and the English text for the CLI and the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub key: &'static str,
    pub n: usize,
    pub english: String,
}

impl Problem {
    pub fn new(field: impl Into<String>, key: &'static str, english: impl Into<String>) -> Problem {
        Problem {
            field: field.into(),
            key,
            n: 0,
            english: english.into(),
        }
    }
    pub fn with_n(mut self, n: usize) -> Problem {
        self.n = n;
        self
    }
}

impl Error {
    pub fn form(field: &'static str, key: &'static str, english: impl Into<String>) -> Error {
        Error::Form(vec![Problem::new(field, key, english)])
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Error::Refused(format!("the {what} is already in use")),
            StoreError::NotFound => Error::NotFound("no such record".into()),
            other => Error::Internal(other.to_string()),
        }
    }
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Internal(_) => 1,
            _ => 2,
        }
    }
}
