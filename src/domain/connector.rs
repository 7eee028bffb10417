//! Rules for connector instances that need no plugin and no database: the id, the
//! name, and what a URL setting may be.

/// Instance ids appear in URLs (`/connectors/{id}/…`): `[a-z0-9-]{1,64}`.
pub fn valid_instance_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The name shown on buttons: 1 to 100 characters, no control characters.
pub fn valid_instance_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=100).contains(&n) && !name.chars().any(char::is_control)
}

/// What is wrong with a URL setting, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlProblem {
    /// Not an absolute http(s) URL with a host.
    Invalid,
    /// Plain http while the instance does not allow it.
    PlainHttp,
}

pub fn check_url(value: &str, allow_http: bool) -> Result<(), UrlProblem> {
    let u = url::Url::parse(value).map_err(|_| UrlProblem::Invalid)?;
    if u.host_str().is_none_or(str::is_empty) {
        return Err(UrlProblem::Invalid);
    }
    match u.scheme() {
        "https" => Ok(()),
        "http" if allow_http => Ok(()),
        "http" => Err(UrlProblem::PlainHttp),
        _ => Err(UrlProblem::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(valid_instance_id("corp-2"));
        assert!(!valid_instance_id(""));
        assert!(!valid_instance_id("Corp"));
        assert!(!valid_instance_id("a/b"));
        assert!(!valid_instance_id(&"a".repeat(65)));
    }

    #[test]
    fn urls() {
        assert_eq!(check_url("https://idp.example", false), Ok(()));
        assert_eq!(
            check_url("http://127.0.0.1:4000", false),
            Err(UrlProblem::PlainHttp)
        );
        assert_eq!(check_url("http://127.0.0.1:4000", true), Ok(()));
        assert_eq!(check_url("idp.example", true), Err(UrlProblem::Invalid));
        assert_eq!(
            check_url("ftp://idp.example", true),
            Err(UrlProblem::Invalid)
        );
        assert_eq!(check_url("https://", true), Err(UrlProblem::Invalid));
    }

    #[test]
    fn names() {
        assert!(valid_instance_name("Corp SSO"));
        assert!(!valid_instance_name(""));
        assert!(!valid_instance_name("a\nb"));
    }
}
