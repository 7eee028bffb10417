//! The DingTalk directory: departments breadth-first from the root (id 1),
//! the members of each department page by page, each member once.
//!
//! The host caps every call (16 requests, 1 MiB per answer), so one call does
//! a bounded amount of work: at most one `department/listsub` and one
//! `user/list` page (plus an app-token fetch and one retry, and at most
//! `MAX_LOOKUPS` `user/get` for members listed without unionid). The whole walk
//! state travels in the opaque cursor (base64url of JSON), so a page may hold
//! no identities while the walk goes on.

use std::collections::{BTreeSet, VecDeque};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_connector_sdk::{ConnectorError, DirectoryPage, Result, Settings, log};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::{integer, oapi_post, text, with_app_token};
use crate::member_identity;

/// DingTalk's root department.
const ROOT_DEPT: i64 = 1;
/// `user/list` page size (DingTalk's maximum).
const PAGE_SIZE: u32 = 100;
/// `user/get` lookups per call, for members listed without unionid.
const MAX_LOOKUPS: usize = 8;

/// Where the walk stands between calls.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Walk {
    /// Departments still to visit, in breadth-first order.
    #[serde(rename = "q", default)]
    queue: VecDeque<i64>,
    /// The department being listed, if any.
    #[serde(rename = "c", default)]
    current: Option<Dept>,
    /// Every department ever queued (guards against cycles).
    #[serde(rename = "d", default)]
    departments: BTreeSet<i64>,
    /// Every userid already returned (a member of several departments is
    /// listed in each).
    #[serde(rename = "s", default)]
    seen: BTreeSet<String>,
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Dept {
    #[serde(rename = "i")]
    id: i64,
    /// `user/list` cursor within the department.
    #[serde(rename = "u", default)]
    cursor: i64,
    /// Whether its sub-departments were queued already.
    #[serde(rename = "l", default)]
    children_listed: bool,
}

impl Walk {
    fn start() -> Self {
        Walk {
            queue: VecDeque::from([ROOT_DEPT]),
            current: None,
            departments: BTreeSet::from([ROOT_DEPT]),
            seen: BTreeSet::new(),
        }
    }

    pub(crate) fn encode(&self) -> String {
        // Serialising these plain types cannot fail.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub(crate) fn decode(cursor: &str) -> Result<Self> {
        URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| {
                ConnectorError::invalid_response(
                    "The directory listing cannot continue: its position is not valid. Start it again.",
                )
                .with_detail("directory cursor is not a DingTalk walk")
            })
    }
}

/// One page of the walk.
pub(crate) fn page(settings: &Settings, cursor: Option<&str>) -> Result<DirectoryPage> {
    let mut walk = match cursor {
        None => Walk::start(),
        Some(cursor) => Walk::decode(cursor)?,
    };
    let Some(mut dept) = walk.current.take().or_else(|| {
        walk.queue.pop_front().map(|id| Dept {
            id,
            cursor: 0,
            children_listed: false,
        })
    }) else {
        return Ok(DirectoryPage::default());
    };

    if !dept.children_listed {
        let children = with_app_token(settings, |token| {
            oapi_post(
                settings,
                token,
                "/topapi/v2/department/listsub",
                &json!({ "dept_id": dept.id }),
            )
        })?;
        for child in children.as_array().into_iter().flatten() {
            if let Some(id) = integer(child, "dept_id")
                && walk.departments.insert(id)
            {
                walk.queue.push_back(id);
            }
        }
        dept.children_listed = true;
    }

    let result = with_app_token(settings, |token| {
        oapi_post(
            settings,
            token,
            "/topapi/v2/user/list",
            &json!({ "dept_id": dept.id, "cursor": dept.cursor, "size": PAGE_SIZE }),
        )
    })?;
    let list = match result.get("list") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(list)) => list.as_slice(),
        Some(_) => {
            return Err(unreadable("user/list: result.list is not a list"));
        }
    };
    let mut identities = Vec::new();
    let mut skipped = Vec::new();
    let mut lookups = 0;
    let mut page_done = true;
    for record in list {
        let listed_union = text(record, "unionid");
        let key = match (text(record, "userid"), &listed_union) {
            (Some(userid), _) => userid,
            (None, Some(union_id)) => format!("unionid:{union_id}"),
            (None, None) => continue,
        };
        if walk.seen.contains(&key) {
            continue;
        }
        // A listing without unionid (DingTalk omits it for some apps): the
        // member's own record has it. A few lookups per call keep the call
        // inside the host's request cap; the rest wait for the same page to
        // be listed again (members already returned are skipped then).
        let record = match listed_union {
            Some(_) => record.clone(),
            None if lookups == MAX_LOOKUPS => {
                page_done = false;
                continue;
            }
            None => {
                lookups += 1;
                with_app_token(settings, |token| {
                    oapi_post(
                        settings,
                        token,
                        "/topapi/v2/user/get",
                        &json!({ "userid": key }),
                    )
                })?
            }
        };
        walk.seen.insert(key.clone());
        match text(&record, "unionid") {
            Some(union_id) => identities.push(member_identity(&union_id, &record, None)),
            None => skipped.push(key),
        }
    }
    if !skipped.is_empty() {
        log::warn(format!(
            "directory: skipped {} member(s) without unionid in department {} (userids {})",
            skipped.len(),
            dept.id,
            skipped
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    let has_more = matches!(result.get("has_more"), Some(Value::Bool(true)));
    if !page_done {
        // List this page again next call, for the members not looked up yet.
        walk.current = Some(dept);
    } else if has_more {
        match integer(&result, "next_cursor") {
            Some(next) if next != dept.cursor => {
                dept.cursor = next;
                walk.current = Some(dept);
            }
            other => {
                return Err(unreadable(&format!(
                    "user/list: has_more with next_cursor {other:?} after cursor {}",
                    dept.cursor
                )));
            }
        }
    }
    let next_cursor = if walk.current.is_none() && walk.queue.is_empty() {
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
    ConnectorError::invalid_response("DingTalk sent an answer Latchkey cannot read.")
        .with_detail(detail.to_string())
}
