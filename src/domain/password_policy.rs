//! The admin's password policy (NIST SP 800-63B defaults) and its checks.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
    pub min_classes: usize,
    pub blocklist: bool,
    pub forbid_account_name: bool,
    pub history: usize,
    pub max_age_days: i64,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 12,
            max_length: 128,
            min_classes: 0,
            blocklist: true,
            forbid_account_name: true,
            history: 0,
            max_age_days: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    TooShort(usize),
    TooLong(usize),
    TooFewClasses(usize),
    /// Found in the list of common and breached passwords, or trivially guessable.
    Common,
    /// Contains the account name, display name or email prefix.
    ContainsName,
    /// One of the last N passwords (checked by the caller, which holds the hashes).
    Reused(usize),
}

impl Violation {
    pub fn message_key(&self) -> &'static str {
        match self {
            Violation::TooShort(_) => "policy.err_short",
            Violation::TooLong(_) => "policy.err_long",
            Violation::TooFewClasses(_) => "policy.err_classes",
            Violation::Common => "policy.err_common",
            Violation::ContainsName => "policy.err_name",
            Violation::Reused(_) => "policy.err_reused",
        }
    }

    /// The number the message needs (`%{n}`), if any.
    pub fn count(&self) -> usize {
        match self {
            Violation::TooShort(n)
            | Violation::TooLong(n)
            | Violation::TooFewClasses(n)
            | Violation::Reused(n) => *n,
            _ => 0,
        }
    }

    pub fn english(&self) -> String {
        match self {
            Violation::TooShort(n) => format!("the password must have at least {n} characters"),
            Violation::TooLong(n) => format!("the password must have at most {n} characters"),
            Violation::TooFewClasses(n) => format!(
                "the password must mix at least {n} of: lower case, upper case, digits, symbols"
            ),
            Violation::Common => "this password is too common or easy to guess".into(),
            Violation::ContainsName => "the password must not contain your name".into(),
            Violation::Reused(n) => format!("the password must differ from your last {n}"),
        }
    }
}

/// Character classes present: lower, upper, digit, symbol (anything else, any script).
fn classes(password: &str) -> usize {
    let mut seen = [false; 4];
    for c in password.chars() {
        let i = if c.is_lowercase() {
            0
        } else if c.is_uppercase() {
            1
        } else if c.is_numeric() {
            2
        } else {
            3
        };
        seen[i] = true;
    }
    seen.iter().filter(|s| **s).count()
}

impl PasswordPolicy {
    /// Checks everything except history. `personal` holds the account name, display name
    /// and email prefix. Length counts Unicode characters; nothing is ever truncated.
    pub fn check(&self, password: &str, personal: &[&str]) -> Vec<Violation> {
        let mut out = Vec::new();
        let len = password.chars().count();
        if len < self.min_length {
            out.push(Violation::TooShort(self.min_length));
        }
        if len > self.max_length {
            out.push(Violation::TooLong(self.max_length));
            // Don't feed very long input to the estimator below.
            return out;
        }
        if classes(password) < self.min_classes {
            out.push(Violation::TooFewClasses(self.min_classes));
        }
        if self.forbid_account_name {
            let lower = password.to_lowercase();
            let hit = personal
                .iter()
                .map(|p| p.trim().to_lowercase())
                .filter(|p| p.chars().count() >= 3)
                .any(|p| lower.contains(&p));
            if hit {
                out.push(Violation::ContainsName);
            }
        }
        if self.blocklist && !password.is_empty() && is_common(password) {
            out.push(Violation::Common);
        }
        out
    }

    /// Is a password set at `changed_at` expired at `now`?
    pub fn is_expired(&self, changed_at: Option<i64>, now: i64) -> bool {
        match (self.max_age_days, changed_at) {
            (0, _) | (_, None) => false,
            (days, Some(t)) => now - t > days * 86_400,
        }
    }
}

/// zxcvbn ships the frequency lists of common and breached passwords (and of words,
/// names, keyboard patterns). A password is refused when zxcvbn rates it "too
/// guessable" (score 0 or 1: under 10^6 guesses), or when the whole password is one
/// entry of its password list (also reversed or in l33t spelling).
fn is_common(password: &str) -> bool {
    let entropy = zxcvbn::zxcvbn(password, &[]);
    if u8::from(entropy.score()) <= 1 {
        return true;
    }
    let seq = entropy.sequence();
    if seq.len() == 1
        && let zxcvbn::matching::patterns::MatchPattern::Dictionary(d) = &seq[0].pattern
    {
        // zxcvbn keeps its DictionaryType private; its Debug name is stable.
        return format!("{:?}", d.dictionary_name) == "Passwords";
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_nist() {
        let p = PasswordPolicy::default();
        assert_eq!(p.check("correct horse battery staple", &[]), vec![]);
        assert_eq!(
            p.check("short", &[]),
            vec![Violation::TooShort(12), Violation::Common]
        );
        // No composition rules by default: a long lower-case passphrase is fine.
        assert_eq!(p.check("vermilion kettle orbit", &[]), vec![]);
    }

    #[test]
    fn blocklist_refuses_common_passwords() {
        let p = PasswordPolicy::default();
        for pw in [
            "password1234",
            "123456789012",
            "qwertyuiopasdf",
            "iloveyou1234",
            "aaaaaaaaaaaa",
        ] {
            assert!(p.check(pw, &[]).contains(&Violation::Common), "{pw}");
        }
        let off = PasswordPolicy {
            blocklist: false,
            ..PasswordPolicy::default()
        };
        assert_eq!(off.check("password1234", &[]), vec![]);
    }

    #[test]
    fn unicode_counts_characters_and_is_never_truncated() {
        let p = PasswordPolicy {
            min_length: 8,
            ..PasswordPolicy::default()
        };
        // 8 CJK characters = 8 characters, though 24 bytes.
        assert!(
            !p.check("龙马精神万事如意", &[])
                .contains(&Violation::TooShort(8))
        );
        assert!(p.check("龙马精神", &[]).contains(&Violation::TooShort(8)));
        let long = "x".repeat(129);
        assert_eq!(p.check(&long, &[]), vec![Violation::TooLong(128)]);
    }

    #[test]
    fn classes_and_names() {
        let p = PasswordPolicy {
            min_classes: 3,
            ..PasswordPolicy::default()
        };
        assert!(
            p.check("vermilion kettle orbit", &[])
                .contains(&Violation::TooFewClasses(3))
        );
        assert_eq!(p.check("Vermilion kettle orbit 9", &[]), vec![]);
        let p = PasswordPolicy::default();
        assert!(
            p.check("my-Alice-secret-garden", &["alice"])
                .contains(&Violation::ContainsName)
        );
        // Very short name parts are not held against the user.
        assert!(
            !p.check("my-al-secret-garden", &["al"])
                .contains(&Violation::ContainsName)
        );
    }

    #[test]
    fn expiry() {
        let p = PasswordPolicy {
            max_age_days: 30,
            ..PasswordPolicy::default()
        };
        assert!(!p.is_expired(Some(0), 30 * 86_400));
        assert!(p.is_expired(Some(0), 30 * 86_400 + 1));
        assert!(!PasswordPolicy::default().is_expired(Some(0), i64::MAX / 2));
    }
}
