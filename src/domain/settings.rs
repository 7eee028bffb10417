//! The admin's settings: their keys, ranges and defaults (INTERFACE.md), typed access,
//! and the warnings the console shows for choices NIST SP 800-63B / OWASP ASVS advise against.

use std::collections::BTreeMap;

use super::password_policy::PasswordPolicy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    Int { min: i64, max: i64 },
    Bool,
}

#[derive(Debug, Clone, Copy)]
pub struct SettingDef {
    pub key: &'static str,
    pub kind: SettingKind,
    pub default: &'static str,
}

const fn int(key: &'static str, min: i64, max: i64, default: &'static str) -> SettingDef {
    SettingDef {
        key,
        kind: SettingKind::Int { min, max },
        default,
    }
}
const fn flag(key: &'static str, default: &'static str) -> SettingDef {
    SettingDef {
        key,
        kind: SettingKind::Bool,
        default,
    }
}

pub const SETTINGS: &[SettingDef] = &[
    int("password.min_length", 8, 128, "12"),
    int("password.max_length", 64, 1024, "128"),
    int("password.min_classes", 0, 4, "0"),
    flag("password.blocklist", "true"),
    flag("password.forbid_account_name", "true"),
    int("password.history", 0, 24, "0"),
    int("password.max_age_days", 0, 3650, "0"),
    flag("mfa.otp", "false"),
    flag("mfa.sms", "false"),
    flag("mfa.email", "false"),
    flag("mfa.passkey", "false"),
    flag("mfa.required", "false"),
    flag("mfa.force_binding", "false"),
    int("mfa.force_binding_max_age_days", 0, 365, "0"),
    int("lockout.max_failures", 1, 100, "5"),
    int("lockout.minutes", 1, 1440, "15"),
    int("session.idle_minutes", 5, 10080, "60"),
    int("session.absolute_hours", 1, 720, "12"),
    int("session.reauth_minutes", 1, 1440, "10"),
];

pub fn definition(key: &str) -> Option<&'static SettingDef> {
    SETTINGS.iter().find(|d| d.key == key)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingError {
    UnknownKey(String),
    NotANumber {
        key: &'static str,
    },
    OutOfRange {
        key: &'static str,
        min: i64,
        max: i64,
    },
    NotABool {
        key: &'static str,
    },
}

impl std::fmt::Display for SettingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SettingError::UnknownKey(k) => write!(f, "unknown setting {k:?}"),
            SettingError::NotANumber { key } => write!(f, "{key} must be a whole number"),
            SettingError::OutOfRange { key, min, max } => {
                write!(f, "{key} must be between {min} and {max}")
            }
            SettingError::NotABool { key } => write!(f, "{key} must be true or false"),
        }
    }
}

/// Validates a value for a key and returns its canonical text.
pub fn parse_value(key: &str, raw: &str) -> Result<String, SettingError> {
    let def = definition(key).ok_or_else(|| SettingError::UnknownKey(key.to_string()))?;
    let v = raw.trim();
    match def.kind {
        SettingKind::Int { min, max } => {
            let n: i64 = v
                .parse()
                .map_err(|_| SettingError::NotANumber { key: def.key })?;
            if n < min || n > max {
                return Err(SettingError::OutOfRange {
                    key: def.key,
                    min,
                    max,
                });
            }
            Ok(n.to_string())
        }
        SettingKind::Bool => match v.to_ascii_lowercase().as_str() {
            "true" | "on" | "1" | "yes" => Ok("true".into()),
            "false" | "off" | "0" | "no" => Ok("false".into()),
            _ => Err(SettingError::NotABool { key: def.key }),
        },
    }
}

/// All settings with stored values over defaults. Values that fail to parse (a
/// hand-edited database) fall back to the default rather than to something unsafe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    values: BTreeMap<&'static str, String>,
}

impl Settings {
    pub fn from_stored(stored: &BTreeMap<String, String>) -> Settings {
        let values = SETTINGS
            .iter()
            .map(|d| {
                let v = stored
                    .get(d.key)
                    .and_then(|raw| parse_value(d.key, raw).ok())
                    .unwrap_or_else(|| d.default.to_string());
                (d.key, v)
            })
            .collect();
        Settings { values }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub fn int(&self, key: &str) -> i64 {
        self.get(key).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    pub fn flag(&self, key: &str) -> bool {
        self.get(key) == Some("true")
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.values.iter().map(|(k, v)| (*k, v.as_str()))
    }

    pub fn password_policy(&self) -> PasswordPolicy {
        PasswordPolicy {
            min_length: self.int("password.min_length") as usize,
            max_length: self.int("password.max_length") as usize,
            min_classes: self.int("password.min_classes") as usize,
            blocklist: self.flag("password.blocklist"),
            forbid_account_name: self.flag("password.forbid_account_name"),
            history: self.int("password.history") as usize,
            max_age_days: self.int("password.max_age_days"),
        }
    }

    pub fn lockout(&self) -> Lockout {
        Lockout {
            max_failures: self.int("lockout.max_failures"),
            seconds: self.int("lockout.minutes") * 60,
        }
    }

    pub fn session_limits(&self) -> SessionLimits {
        SessionLimits {
            idle_seconds: self.int("session.idle_minutes") * 60,
            absolute_seconds: self.int("session.absolute_hours") * 3600,
            reauth_seconds: self.int("session.reauth_minutes") * 60,
        }
    }

    /// The choices that NIST SP 800-63B / OWASP ASVS advise against, as message keys.
    pub fn warnings(&self) -> Vec<&'static str> {
        let mut w = Vec::new();
        if self.int("password.min_classes") > 0 {
            w.push("warn.composition");
        }
        if self.int("password.max_age_days") > 0 {
            w.push("warn.expiry");
        }
        if !self.flag("password.blocklist") {
            w.push("warn.blocklist");
        }
        if self.int("password.min_length") < 15 && !self.flag("mfa.required") {
            // NIST SP 800-63B-4: 15 characters when the password is the only factor.
            w.push("warn.short_single_factor");
        }
        let restricted = self.flag("mfa.sms") || self.flag("mfa.email");
        if restricted && !(self.flag("mfa.otp") || self.flag("mfa.passkey")) {
            w.push("warn.restricted_factors");
        }
        if self.flag("mfa.required")
            && !(self.flag("mfa.otp") || self.flag("mfa.passkey") || restricted)
        {
            w.push("warn.required_without_methods");
        }
        w
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    pub max_failures: i64,
    pub seconds: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub idle_seconds: i64,
    pub absolute_seconds: i64,
    pub reauth_seconds: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_ranges() {
        assert_eq!(parse_value("password.min_length", " 16 "), Ok("16".into()));
        assert_eq!(
            parse_value("password.min_length", "7"),
            Err(SettingError::OutOfRange {
                key: "password.min_length",
                min: 8,
                max: 128
            })
        );
        assert_eq!(
            parse_value("password.max_length", "63"),
            Err(SettingError::OutOfRange {
                key: "password.max_length",
                min: 64,
                max: 1024
            })
        );
        assert_eq!(parse_value("mfa.otp", "ON"), Ok("true".into()));
        assert!(matches!(
            parse_value("mfa.otp", "maybe"),
            Err(SettingError::NotABool { .. })
        ));
        assert!(matches!(
            parse_value("nope", "1"),
            Err(SettingError::UnknownKey(_))
        ));
    }

    #[test]
    fn defaults_and_warnings() {
        let s = Settings::from_stored(&BTreeMap::new());
        assert_eq!(s.password_policy(), PasswordPolicy::default());
        assert_eq!(
            s.lockout(),
            Lockout {
                max_failures: 5,
                seconds: 900
            }
        );
        assert_eq!(s.warnings(), vec!["warn.short_single_factor"]);
        let mut stored = BTreeMap::new();
        stored.insert("password.min_classes".to_string(), "3".to_string());
        stored.insert("mfa.sms".to_string(), "true".to_string());
        stored.insert("lockout.minutes".to_string(), "garbage".to_string());
        let s = Settings::from_stored(&stored);
        assert!(s.warnings().contains(&"warn.composition"));
        assert!(s.warnings().contains(&"warn.restricted_factors"));
        assert_eq!(s.lockout().seconds, 900);
    }
}
