//! The user's language: `lk_lang` cookie (the switcher), else Accept-Language, else English.

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    En,
    ZhCn,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::ZhCn];

    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhCn => "zh-CN",
        }
    }

    /// The language's own name, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::ZhCn => "简体中文",
        }
    }

    pub fn parse(code: &str) -> Option<Locale> {
        let c = code.trim().to_ascii_lowercase();
        if c == "en" || c.starts_with("en-") {
            Some(Locale::En)
        } else if c == "zh" || c.starts_with("zh-cn") || c.starts_with("zh-hans") || c == "zh-sg" {
            Some(Locale::ZhCn)
        } else {
            None
        }
    }

    /// Picks from an Accept-Language header by quality, first match wins.
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut options: Vec<(f32, usize, Locale)> = header
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut it = part.split(';');
                let tag = it.next()?.trim();
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                Locale::parse(tag).filter(|_| q > 0.0).map(|l| (q, i, l))
            })
            .collect();
        options.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        options.first().map(|o| o.2)
    }

    /// The translation of `key`.
    pub fn t<'a>(self, key: &'a str) -> Cow<'a, str> {
        rust_i18n::t!(key, locale = self.code())
    }

    /// The translation of `key` with `%{n}` filled in.
    pub fn tn(self, key: &str, n: impl std::fmt::Display) -> String {
        self.t(key).replace("%{n}", &n.to_string())
    }

    /// The translation of `key` with `%{name}` filled in by `value`.
    pub fn tv(self, key: &str, name: &str, value: &str) -> String {
        self.t(key).replace(&format!("%{{{name}}}"), value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(
            Locale::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Some(Locale::ZhCn)
        );
        assert_eq!(
            Locale::from_accept_language("fr-FR,en;q=0.5,zh;q=0.4"),
            Some(Locale::En)
        );
        assert_eq!(
            Locale::from_accept_language("en;q=0.2, zh-Hans;q=0.9"),
            Some(Locale::ZhCn)
        );
        assert_eq!(Locale::from_accept_language("de"), None);
    }

    /// Every key the code names (in string literals) has an English and a Chinese text.
    #[test]
    fn every_key_is_translated() {
        let catalog = include_str!("../locales/app.yml");
        // The catalog's keys (top-level lines `key:`), each with both languages.
        let entry_re = regex::Regex::new(r"(?m)^([a-z0-9_.\-]+):\n  en: .*\n  zh-CN: .*$").unwrap();
        let head_re = regex::Regex::new(r"(?m)^([a-z0-9_.\-]+):$").unwrap();
        let complete: std::collections::BTreeSet<&str> = entry_re
            .captures_iter(catalog)
            .map(|c| c.get(1).unwrap().as_str())
            .collect();
        let incomplete: Vec<&str> = head_re
            .captures_iter(catalog)
            .map(|c| c.get(1).unwrap().as_str())
            .filter(|k| !complete.contains(k))
            .collect();
        assert!(
            incomplete.is_empty(),
            "keys without both languages: {incomplete:?}"
        );
        // Any string literal that starts with a catalog prefix and has one or more
        // dotted parts is a key. Audit event names and setting keys share the
        // prefixes; they are translated as `event.NAME` and `settings.KEY`.
        let prefixes: std::collections::BTreeSet<&str> = complete
            .iter()
            .filter_map(|k| k.split_once('.').map(|(p, _)| p))
            .collect();
        let key_re = regex::Regex::new(&format!(
            r#""((?:{})(?:\.[a-z0-9_]+)+)""#,
            prefixes.into_iter().collect::<Vec<_>>().join("|")
        ))
        .unwrap();
        let mut files = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        let mut missing = Vec::new();
        while let Some(p) = files.pop() {
            if p.is_dir() {
                files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            if p.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for c in key_re.captures_iter(&text) {
                let key = &c[1];
                let known = [
                    key.to_string(),
                    format!("event.{key}"),
                    format!("settings.{key}"),
                ];
                if !known.iter().any(|k| complete.contains(k.as_str())) {
                    missing.push(format!("{key} ({})", p.display()));
                }
            }
        }
        assert!(missing.is_empty(), "keys without translations: {missing:?}");
        for l in Locale::ALL {
            assert_ne!(l.t("nav.account"), "nav.account");
        }
        assert_ne!(Locale::ZhCn.t("login.title"), Locale::En.t("login.title"));
        assert_eq!(Locale::ZhCn.tn("policy.rule_min", 12), "至少 12 个字符");
    }
}
