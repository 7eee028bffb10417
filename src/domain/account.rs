//! Accounts and the rules for their names.

use serde::Serialize;

/// An account as the rest of the product sees it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: i64,
    /// `None` until chosen: accounts imported from DingTalk start without one.
    pub account_name: Option<String>,
    pub display_name: String,
    /// Verified email address, if bound.
    pub email: Option<String>,
    /// Verified mobile number, if bound.
    pub mobile: Option<String>,
    pub is_admin: bool,
    pub disabled: bool,
    pub has_password: bool,
    pub created_at: i64,
    pub last_logon_at: Option<i64>,
    pub password_changed_at: Option<i64>,
}

impl Account {
    /// The name to show for this account in lists and logs.
    pub fn label(&self) -> String {
        match &self.account_name {
            Some(n) => n.clone(),
            None if !self.display_name.is_empty() => self.display_name.clone(),
            None => format!("#{}", self.id),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    Empty,
    TooLong,
    /// Only ASCII letters, digits, `.`, `_` and `-`, starting with a letter or digit.
    BadCharacters,
    /// All digits would be confused with a mobile number at logon.
    AllDigits,
}

impl NameError {
    pub fn message_key(self) -> &'static str {
        match self {
            NameError::Empty => "err.name_empty",
            NameError::TooLong => "err.name_too_long",
            NameError::BadCharacters => "err.name_chars",
            NameError::AllDigits => "err.name_digits",
        }
    }

    pub fn english(self) -> &'static str {
        match self {
            NameError::Empty => "the account name is empty",
            NameError::TooLong => "the account name is longer than 64 characters",
            NameError::BadCharacters => {
                "an account name may hold only letters a-z, digits, '.', '_' and '-', and starts with a letter or digit"
            }
            NameError::AllDigits => "an account name cannot be digits only",
        }
    }
}

pub const ACCOUNT_NAME_MAX: usize = 64;
pub const DISPLAY_NAME_MAX: usize = 128;

/// Validates an account name and returns it trimmed. Names are unique without regard to
/// case (the schema enforces it) and ASCII-only, so no two names look alike. `@` is not
/// allowed, so a logon identifier with `@` is always an email address.
pub fn validate_account_name(raw: &str) -> Result<String, NameError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().count() > ACCOUNT_NAME_MAX {
        return Err(NameError::TooLong);
    }
    let first_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric());
    let all_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !first_ok || !all_ok {
        return Err(NameError::BadCharacters);
    }
    if name.chars().all(|c| c.is_ascii_digit()) {
        return Err(NameError::AllDigits);
    }
    Ok(name.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayNameError {
    TooLong,
    ControlCharacters,
}

impl DisplayNameError {
    pub fn message_key(self) -> &'static str {
        match self {
            DisplayNameError::TooLong => "err.display_too_long",
            DisplayNameError::ControlCharacters => "err.display_control",
        }
    }
    pub fn english(self) -> &'static str {
        match self {
            DisplayNameError::TooLong => "the display name is longer than 128 characters",
            DisplayNameError::ControlCharacters => "the display name contains control characters",
        }
    }
}

/// Display names are free text (any script), trimmed, without control characters.
pub fn validate_display_name(raw: &str) -> Result<String, DisplayNameError> {
    let name = raw.trim();
    if name.chars().count() > DISPLAY_NAME_MAX {
        return Err(DisplayNameError::TooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(DisplayNameError::ControlCharacters);
    }
    Ok(name.to_string())
}

/// What a logon identifier names: an email when it has `@`, a mobile number when it is
/// digits with an optional leading `+` (spaces and dashes ignored), else an account name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    AccountName(String),
    Email(String),
    Mobile(String),
}

pub fn parse_identifier(raw: &str) -> Option<Identifier> {
    let s = raw.trim();
    if s.is_empty() || s.len() > 320 {
        return None;
    }
    if s.contains('@') {
        return Some(Identifier::Email(s.to_lowercase()));
    }
    let compact: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = compact.strip_prefix('+').unwrap_or(&compact);
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        return Some(Identifier::Mobile(compact));
    }
    Some(Identifier::AccountName(s.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names() {
        assert_eq!(validate_account_name("  alice "), Ok("alice".into()));
        assert_eq!(validate_account_name("a.b_c-d9"), Ok("a.b_c-d9".into()));
        assert_eq!(validate_account_name(""), Err(NameError::Empty));
        assert_eq!(validate_account_name("   "), Err(NameError::Empty));
        assert_eq!(
            validate_account_name("-alice"),
            Err(NameError::BadCharacters)
        );
        assert_eq!(
            validate_account_name("al ice"),
            Err(NameError::BadCharacters)
        );
        assert_eq!(
            validate_account_name("al@ice"),
            Err(NameError::BadCharacters)
        );
        assert_eq!(
            validate_account_name("Ålice"),
            Err(NameError::BadCharacters)
        );
        assert_eq!(
            validate_account_name("13800138000"),
            Err(NameError::AllDigits)
        );
        assert_eq!(validate_account_name(&"a".repeat(64)), Ok("a".repeat(64)));
        assert_eq!(
            validate_account_name(&"a".repeat(65)),
            Err(NameError::TooLong)
        );
    }

    #[test]
    fn display_names() {
        assert_eq!(validate_display_name(" 张三 "), Ok("张三".into()));
        assert_eq!(validate_display_name(""), Ok(String::new()));
        assert_eq!(
            validate_display_name("a\u{0007}b"),
            Err(DisplayNameError::ControlCharacters)
        );
        assert_eq!(
            validate_display_name(&"名".repeat(129)),
            Err(DisplayNameError::TooLong)
        );
    }

    #[test]
    fn identifiers() {
        assert_eq!(
            parse_identifier("Alice@Example.com"),
            Some(Identifier::Email("alice@example.com".into()))
        );
        assert_eq!(
            parse_identifier("+86 138-0013-8000"),
            Some(Identifier::Mobile("+8613800138000".into()))
        );
        assert_eq!(
            parse_identifier("alice"),
            Some(Identifier::AccountName("alice".into()))
        );
        assert_eq!(parse_identifier("  "), None);
    }
}
