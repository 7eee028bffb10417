//! My Account, rendered once per change. The page is the portal's busiest and changes
//! only when the database does (or when time passes a session limit), so a rendered copy
//! is kept per session, language and browser kind, and served again while
//! `Store::data_version` (which any commit, from any process, changes) is the same and
//! no session limit falls due. Anything else (a flash message, an error, another stage)
//! is rendered as usual.

use std::collections::HashMap;
use std::sync::Mutex;

use warp::http::StatusCode;

use super::response::Resp;
use crate::i18n::Locale;

/// Entries kept at most (each a rendered page of a few KB).
const MAX_ENTRIES: usize = 1024;
/// No entry is served longer than this after it was rendered: a render may use settings
/// and connector instances cached for up to 2 s (`App::settings`), so a copy must not
/// outlive them by much, even when the change that made them stale is a commit the copy
/// was already tagged with.
pub const MAX_AGE: i64 = 2;

/// Whose page, in which language, for which kind of browser.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// SHA-256 of the session token (the token itself is never kept).
    token_hash: Vec<u8>,
    locale: Locale,
    /// The in-app browser (its page carries a hand-off), if any.
    browser: Option<&'static str>,
}

impl Key {
    pub fn new(token: &str, locale: Locale, browser: Option<&'static str>) -> Key {
        Key {
            token_hash: crate::tokens::hash_token(token),
            locale,
            browser,
        }
    }
}

struct Entry {
    data_version: i64,
    fresh_until: i64,
    body: String,
    form_action_origin: Option<String>,
}

#[derive(Default)]
pub struct PageCache {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl PageCache {
    /// The page rendered for `key`, if nothing was committed since (`data_version`) and
    /// it is still fresh at `now`.
    pub fn get(&self, key: &Key, data_version: i64, now: i64) -> Option<Resp> {
        let entries = self.entries.lock().ok()?;
        let e = entries.get(key)?;
        if e.data_version != data_version || now >= e.fresh_until {
            return None;
        }
        let mut r = Resp::html(StatusCode::OK, maud::PreEscaped(e.body.clone()));
        r.form_action_origin = e.form_action_origin.clone();
        Some(r)
    }

    /// Keeps `resp` (a 200 page without cookies) for `key`, rendered from the database
    /// as it was at `data_version` or later, until `fresh_until`.
    pub fn put(&self, key: Key, data_version: i64, fresh_until: i64, resp: &Resp) {
        if resp.status != StatusCode::OK || !resp.cookies.is_empty() || resp.location.is_some() {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= MAX_ENTRIES {
            // Entries of an older database state can never be served again.
            entries.retain(|_, e| e.data_version == data_version);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Entry {
                data_version,
                fresh_until,
                body: resp.body.clone(),
                form_action_origin: resp.form_action_origin.clone(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str) -> Resp {
        Resp::html(StatusCode::OK, maud::PreEscaped(body.to_string()))
    }

    #[test]
    fn a_page_is_served_again_only_while_nothing_changed_and_it_is_fresh() {
        let cache = PageCache::default();
        let key = Key::new("token", Locale::En, None);
        cache.put(key.clone(), 7, 100, &page("<p>hi</p>"));
        assert_eq!(
            cache.get(&key, 7, 99).map(|r| r.body),
            Some("<p>hi</p>".into())
        );
        assert!(cache.get(&key, 8, 99).is_none(), "the database changed");
        assert!(
            cache.get(&key, 7, 100).is_none(),
            "a session limit fell due"
        );
        let other = Key::new("token", Locale::ZhCn, None);
        assert!(cache.get(&other, 7, 99).is_none(), "another language");
        let in_app = Key::new("token", Locale::En, Some("inapp.dingtalk"));
        assert!(
            cache.get(&in_app, 7, 99).is_none(),
            "another kind of browser"
        );
        assert!(
            cache
                .get(&Key::new("other", Locale::En, None), 7, 99)
                .is_none()
        );
    }

    #[test]
    fn redirects_errors_and_answers_with_cookies_are_not_kept() {
        let cache = PageCache::default();
        let key = Key::new("token", Locale::En, None);
        cache.put(key.clone(), 1, 100, &Resp::redirect("/login"));
        let mut failed = page("x");
        failed.status = StatusCode::UNPROCESSABLE_ENTITY;
        cache.put(key.clone(), 1, 100, &failed);
        cache.put(key.clone(), 1, 100, &page("y").with_cookie("a=b".into()));
        assert!(cache.get(&key, 1, 0).is_none());
    }
}
