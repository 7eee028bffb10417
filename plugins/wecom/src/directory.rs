//! The WeCom directory: member ids page by page from `user/list_id`, then
//! each member's record from `user/get`, each member once (`list_id` lists a
//! member once per department).
//!
//! The host caps every call at 16 requests, so a call fetches at most
//! [`MAX_RECORDS_PER_PAGE`] records and stops early when the next one could
//! cross the cap (a token refresh costs extra requests). The list cursor, the
//! ids still to fetch and the ids already seen travel in the opaque cursor
//! (base64url of JSON).

use std::collections::{BTreeSet, VecDeque};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_connector_sdk::{ConnectorError, DirectoryPage, ErrorKind, Result, Settings, log};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{Client, WORST_CALL_COST, text};
use crate::member_identity;

/// The host's per-call request cap.
pub(crate) const MAX_REQUESTS_PER_CALL: u32 = 16;
/// Member records fetched per call at most.
pub(crate) const MAX_RECORDS_PER_PAGE: usize = 12;
/// Ids per `user/list_id` page (WeCom allows up to 10000; this keeps the
/// answer and the cursor small).
pub(crate) const LIST_LIMIT: u32 = 1000;

/// Where the listing stands between calls.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Walk {
    /// `user/list_id` cursor for the next id page ("" = the first).
    #[serde(rename = "c", default)]
    list_cursor: String,
    /// Whether every id page was read.
    #[serde(rename = "d", default)]
    listed_all: bool,
    /// Ids whose record is still to fetch.
    #[serde(rename = "p", default)]
    pending: VecDeque<String>,
    /// Every id queued so far.
    #[serde(rename = "s", default)]
    seen: BTreeSet<String>,
}

impl Walk {
    fn encode(&self) -> String {
        // Serialising these plain types cannot fail.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(cursor: &str) -> Result<Self> {
        URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| {
                ConnectorError::invalid_response(
                    "The directory listing cannot continue: its position is not valid. Start it again.",
                )
                .with_detail("directory cursor is not a WeCom walk")
            })
    }
}

/// One page of the listing.
pub(crate) fn page(settings: &Settings, cursor: Option<&str>) -> Result<DirectoryPage> {
    let mut walk = match cursor {
        None => Walk::default(),
        Some(cursor) => Walk::decode(cursor)?,
    };
    let client = Client::new(settings);

    if walk.pending.is_empty() && !walk.listed_all {
        let answer = client.post(
            "/cgi-bin/user/list_id",
            &json!({ "cursor": walk.list_cursor, "limit": LIST_LIMIT }),
        )?;
        let entries = match answer.get("dept_user") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(entries)) => entries.as_slice(),
            Some(_) => return Err(unreadable("user/list_id: dept_user is not a list")),
        };
        for entry in entries {
            // Service-provider tokens list `open_userid` only: not our key.
            if let Some(userid) = text(entry, "userid")
                && walk.seen.insert(userid.clone())
            {
                walk.pending.push_back(userid);
            }
        }
        match text(&answer, "next_cursor") {
            None => walk.listed_all = true,
            Some(next) if next == walk.list_cursor => {
                return Err(unreadable("user/list_id: next_cursor did not move"));
            }
            Some(next) => walk.list_cursor = next,
        }
    }

    let mut identities = Vec::new();
    let mut fetched = 0;
    while fetched < MAX_RECORDS_PER_PAGE
        && client.sent() + WORST_CALL_COST <= MAX_REQUESTS_PER_CALL
        && let Some(userid) = walk.pending.front().cloned()
    {
        fetched += 1;
        match client.get("/cgi-bin/user/get", &[("userid", &userid)]) {
            Ok(record) => identities.push(member_identity(&userid, &record)),
            // A member who left or is out of the app's reach since the id
            // page: skip it rather than stall the whole listing.
            Err(e) if e.kind == ErrorKind::UpstreamRefused => {
                log::warn(format!("directory: skipped member {userid}: {}", e.detail));
            }
            Err(e) => return Err(e),
        }
        walk.pending.pop_front();
    }

    let next_cursor = if walk.listed_all && walk.pending.is_empty() {
        None
    } else {
        Some(walk.encode())
    };
    Ok(DirectoryPage {
        identities,
        next_cursor,
    })
}

fn unreadable(detail: &str) -> ConnectorError {
    ConnectorError::invalid_response("WeCom sent an answer Latchkey cannot read.")
        .with_detail(detail.to_string())
}
