//! Field Management: custom account fields defined by the admin, and the validation of
//! their values.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    Text,
    Number,
    Date,
    Email,
    Url,
    Choice,
    Bool,
}

impl FieldKind {
    pub const ALL: [FieldKind; 7] = [
        FieldKind::Text,
        FieldKind::Number,
        FieldKind::Date,
        FieldKind::Email,
        FieldKind::Url,
        FieldKind::Choice,
        FieldKind::Bool,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Date => "date",
            FieldKind::Email => "email",
            FieldKind::Url => "url",
            FieldKind::Choice => "choice",
            FieldKind::Bool => "bool",
        }
    }

    pub fn parse(s: &str) -> Option<FieldKind> {
        FieldKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UserAccess {
    /// Never shown to the user.
    Invisible,
    /// Shown read-only.
    Visible,
    /// The user may change it.
    Editable,
}

impl UserAccess {
    pub const ALL: [UserAccess; 3] = [
        UserAccess::Invisible,
        UserAccess::Visible,
        UserAccess::Editable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UserAccess::Invisible => "invisible",
            UserAccess::Visible => "visible",
            UserAccess::Editable => "editable",
        }
    }

    pub fn parse(s: &str) -> Option<UserAccess> {
        UserAccess::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The definition of a custom field, as the admin made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDefinition {
    pub id: i64,
    pub spec: FieldSpec,
    pub position: i64,
}

/// Everything an admin chooses about a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldSpec {
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    pub required: bool,
    pub unique: bool,
    pub user_access: UserAccess,
    pub pattern: Option<String>,
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecError {
    BadKey,
    EmptyLabel,
    LabelTooLong,
    BadPattern(String),
    ChoiceWithoutOptions,
    OptionsOnlyForChoice,
    BadOption,
    DuplicateOption(String),
}

impl SpecError {
    pub fn message_key(&self) -> &'static str {
        match self {
            SpecError::BadKey => "err.field_key",
            SpecError::EmptyLabel => "err.field_label_empty",
            SpecError::LabelTooLong => "err.field_label_long",
            SpecError::BadPattern(_) => "err.field_pattern",
            SpecError::ChoiceWithoutOptions => "err.field_no_options",
            SpecError::OptionsOnlyForChoice => "err.field_options_kind",
            SpecError::BadOption => "err.field_option_bad",
            SpecError::DuplicateOption(_) => "err.field_option_dup",
        }
    }

    pub fn english(&self) -> String {
        match self {
            SpecError::BadKey => {
                "a field key is 1-64 characters: a-z, digits and '_', starting with a letter".into()
            }
            SpecError::EmptyLabel => "a field needs a label".into(),
            SpecError::LabelTooLong => "a field label is at most 128 characters".into(),
            SpecError::BadPattern(e) => {
                format!("the validation pattern is not a valid regular expression: {e}")
            }
            SpecError::ChoiceWithoutOptions => "a choice field needs at least one --option".into(),
            SpecError::OptionsOnlyForChoice => "options are only for choice fields".into(),
            SpecError::BadOption => "an option is 1-128 characters of text".into(),
            SpecError::DuplicateOption(o) => format!("the option {o:?} is given twice"),
        }
    }
}

const PATTERN_SIZE_LIMIT: usize = 1 << 16;
pub const VALUE_MAX_CHARS: usize = 1024;

impl FieldSpec {
    /// Normalises (trims) and validates a field definition.
    pub fn validated(mut self) -> Result<FieldSpec, SpecError> {
        self.key = self.key.trim().to_string();
        self.label = self.label.trim().to_string();
        let key_ok = (1..=64).contains(&self.key.len())
            && self.key.starts_with(|c: char| c.is_ascii_lowercase())
            && self
                .key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !key_ok {
            return Err(SpecError::BadKey);
        }
        if self.label.is_empty() {
            return Err(SpecError::EmptyLabel);
        }
        if self.label.chars().count() > 128 {
            return Err(SpecError::LabelTooLong);
        }
        self.pattern = self
            .pattern
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty());
        if let Some(p) = &self.pattern {
            compile_pattern(p).map_err(SpecError::BadPattern)?;
        }
        let mut options: Vec<String> = Vec::new();
        for o in &self.options {
            let o = o.trim();
            if o.is_empty() || o.chars().count() > 128 || o.chars().any(char::is_control) {
                return Err(SpecError::BadOption);
            }
            if options.iter().any(|x| x == o) {
                return Err(SpecError::DuplicateOption(o.to_string()));
            }
            options.push(o.to_string());
        }
        self.options = options;
        match (self.kind, self.options.is_empty()) {
            (FieldKind::Choice, true) => return Err(SpecError::ChoiceWithoutOptions),
            (FieldKind::Choice, false) | (_, true) => {}
            (_, false) => return Err(SpecError::OptionsOnlyForChoice),
        }
        Ok(self)
    }
}

fn compile_pattern(p: &str) -> Result<regex::Regex, String> {
    // Anchored: the pattern must match the whole value, as HTML's `pattern` does.
    regex::RegexBuilder::new(&format!("^(?:{p})$"))
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            e.to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueError {
    Required,
    TooLong,
    NotNumber,
    NotDate,
    NotEmail,
    NotUrl,
    NotOption,
    NotBool,
    PatternMismatch,
    /// Another account already has this value in a unique field.
    Taken,
}

impl ValueError {
    pub fn message_key(self) -> &'static str {
        match self {
            ValueError::Required => "err.value_required",
            ValueError::TooLong => "err.value_too_long",
            ValueError::NotNumber => "err.value_number",
            ValueError::NotDate => "err.value_date",
            ValueError::NotEmail => "err.value_email",
            ValueError::NotUrl => "err.value_url",
            ValueError::NotOption => "err.value_option",
            ValueError::NotBool => "err.value_bool",
            ValueError::PatternMismatch => "err.value_pattern",
            ValueError::Taken => "err.value_taken",
        }
    }

    pub fn english(self) -> &'static str {
        match self {
            ValueError::Required => "a value is required",
            ValueError::TooLong => "the value is longer than 1024 characters",
            ValueError::NotNumber => "not a number",
            ValueError::NotDate => "not a date (YYYY-MM-DD)",
            ValueError::NotEmail => "not an email address",
            ValueError::NotUrl => "not a web address (http:// or https://)",
            ValueError::NotOption => "not one of the allowed options",
            ValueError::NotBool => "must be true or false",
            ValueError::PatternMismatch => "does not have the required format",
            ValueError::Taken => "this value is already used by another account",
        }
    }
}

/// Validates a submitted value. Returns the normalised value, or `None` for "no value".
/// Uniqueness needs the database and is enforced there (`ValueError::Taken`).
pub fn normalize_value(spec: &FieldSpec, raw: &str) -> Result<Option<String>, ValueError> {
    let v = raw.trim();
    if spec.kind == FieldKind::Bool {
        let b = match v.to_ascii_lowercase().as_str() {
            "" | "false" | "0" | "no" | "off" => false,
            "true" | "1" | "yes" | "on" => true,
            _ => return Err(ValueError::NotBool),
        };
        // A required boolean must be checked (e.g. "I accept the rules").
        if spec.required && !b {
            return Err(ValueError::Required);
        }
        return Ok(Some(b.to_string()));
    }
    if v.is_empty() {
        return if spec.required {
            Err(ValueError::Required)
        } else {
            Ok(None)
        };
    }
    if v.chars().count() > VALUE_MAX_CHARS {
        return Err(ValueError::TooLong);
    }
    let normalized = match spec.kind {
        FieldKind::Text => {
            if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                return Err(ValueError::PatternMismatch);
            }
            v.to_string()
        }
        FieldKind::Number => {
            let n: f64 = v.parse().map_err(|_| ValueError::NotNumber)?;
            if !n.is_finite() {
                return Err(ValueError::NotNumber);
            }
            v.to_string()
        }
        FieldKind::Date => {
            let fmt = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(v, &fmt).map_err(|_| ValueError::NotDate)?;
            v.to_string()
        }
        FieldKind::Email => {
            // Lower case, as account emails are, so uniqueness ignores case.
            let e: email_address::EmailAddress =
                v.to_lowercase().parse().map_err(|_| ValueError::NotEmail)?;
            // Require a dotted domain, as people mean by "email address".
            if !e.domain().contains('.') {
                return Err(ValueError::NotEmail);
            }
            e.as_str().to_string()
        }
        FieldKind::Url => {
            let u = url::Url::parse(v).map_err(|_| ValueError::NotUrl)?;
            if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
                return Err(ValueError::NotUrl);
            }
            v.to_string()
        }
        FieldKind::Choice => {
            if !spec.options.iter().any(|o| o == v) {
                return Err(ValueError::NotOption);
            }
            v.to_string()
        }
        FieldKind::Bool => unreachable!("handled above"),
    };
    if let Some(p) = &spec.pattern {
        let re = compile_pattern(p).map_err(|_| ValueError::PatternMismatch)?;
        if !re.is_match(&normalized) {
            return Err(ValueError::PatternMismatch);
        }
    }
    Ok(Some(normalized))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: FieldKind) -> FieldSpec {
        FieldSpec {
            key: "k".into(),
            label: "K".into(),
            kind,
            required: false,
            unique: false,
            user_access: UserAccess::Editable,
            pattern: None,
            options: vec![],
        }
    }

    #[test]
    fn spec_rules() {
        assert!(spec(FieldKind::Text).validated().is_ok());
        let mut s = spec(FieldKind::Text);
        s.key = "Bad-Key".into();
        assert_eq!(s.validated(), Err(SpecError::BadKey));
        let s = spec(FieldKind::Choice);
        assert_eq!(s.validated(), Err(SpecError::ChoiceWithoutOptions));
        let mut s = spec(FieldKind::Text);
        s.options = vec!["a".into()];
        assert_eq!(s.validated(), Err(SpecError::OptionsOnlyForChoice));
        let mut s = spec(FieldKind::Choice);
        s.options = vec!["a".into(), " a ".into()];
        assert_eq!(s.validated(), Err(SpecError::DuplicateOption("a".into())));
        let mut s = spec(FieldKind::Text);
        s.pattern = Some("(".into());
        assert!(matches!(s.validated(), Err(SpecError::BadPattern(_))));
        let mut s = spec(FieldKind::Text);
        s.label = "  ".into();
        assert_eq!(s.validated(), Err(SpecError::EmptyLabel));
    }

    #[test]
    fn value_rules() {
        use ValueError::*;
        let n = spec(FieldKind::Number);
        assert_eq!(normalize_value(&n, " 42.5 "), Ok(Some("42.5".into())));
        assert_eq!(normalize_value(&n, "abc"), Err(NotNumber));
        assert_eq!(normalize_value(&n, "inf"), Err(NotNumber));
        assert_eq!(normalize_value(&n, ""), Ok(None));
        let d = spec(FieldKind::Date);
        assert_eq!(
            normalize_value(&d, "2024-02-29"),
            Ok(Some("2024-02-29".into()))
        );
        assert_eq!(normalize_value(&d, "2023-02-29"), Err(NotDate));
        let e = spec(FieldKind::Email);
        assert_eq!(normalize_value(&e, "a@b.cn"), Ok(Some("a@b.cn".into())));
        assert_eq!(normalize_value(&e, "a@b"), Err(NotEmail));
        assert_eq!(normalize_value(&e, "nope"), Err(NotEmail));
        let u = spec(FieldKind::Url);
        assert_eq!(
            normalize_value(&u, "https://x.cn/a"),
            Ok(Some("https://x.cn/a".into()))
        );
        assert_eq!(normalize_value(&u, "javascript:alert(1)"), Err(NotUrl));
        let mut c = spec(FieldKind::Choice);
        c.options = vec!["red".into(), "blue".into()];
        assert_eq!(normalize_value(&c, "red"), Ok(Some("red".into())));
        assert_eq!(normalize_value(&c, "green"), Err(NotOption));
        let mut b = spec(FieldKind::Bool);
        assert_eq!(normalize_value(&b, ""), Ok(Some("false".into())));
        assert_eq!(normalize_value(&b, "on"), Ok(Some("true".into())));
        assert_eq!(normalize_value(&b, "maybe"), Err(NotBool));
        b.required = true;
        assert_eq!(normalize_value(&b, ""), Err(Required));
        let mut t = spec(FieldKind::Text);
        t.required = true;
        t.pattern = Some("[A-Z]{2}[0-9]{4}".into());
        assert_eq!(normalize_value(&t, ""), Err(Required));
        assert_eq!(normalize_value(&t, "AB1234"), Ok(Some("AB1234".into())));
        assert_eq!(normalize_value(&t, "xAB1234"), Err(PatternMismatch));
        assert_eq!(normalize_value(&t, &"A".repeat(2000)), Err(TooLong));
    }
}
