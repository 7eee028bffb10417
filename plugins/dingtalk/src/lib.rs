//! The DingTalk connector: DingTalk's OAuth 2 web login (`login.dingtalk.com`),
//! restricted to members of the app's organization, and its directory.
//!
//! Identity key: `unionId` (stable across DingTalk apps of one developer).
//! `users/me` returns account-wide email and mobile that may belong to
//! another organization, so they are never used: email, mobile and name come
//! from the organization's member record (`topapi/v2/user/get`), which also
//! proves membership (`getbyunionid` errcode 60121 = not a member).

use latchkey_connector_sdk::{
    self as sdk, BeginRequest, CompleteRequest, Connector, ConnectorError, DirectoryPage, Identity,
    Manifest, Result, Setting, SettingError, Settings, http,
};
use serde_json::{Value, json};

mod api;
mod directory;
#[cfg(test)]
mod tests;

use api::{CallResult, Failure, endpoint, integer, oapi_post, text, with_app_token};

/// The DingTalk connector.
pub struct DingTalk;

impl Connector for DingTalk {
    fn describe() -> Manifest {
        // The hosts of URL settings, defaults included, form the allowlist.
        Manifest::new("dingtalk", "DingTalk", env!("CARGO_PKG_VERSION"))
            .setting(Setting::text("client_id", "AppKey (Client ID)").required())
            .setting(Setting::secret("client_secret", "AppSecret (Client secret)").required())
            .setting(Setting::text(
                "corp_id",
                "Organization CorpId (optional: only this organization may sign in)",
            ))
            .setting(
                Setting::url("login_base", "Login base URL")
                    .with_default("https://login.dingtalk.com"),
            )
            .setting(
                Setting::url("api_base", "API base URL").with_default("https://api.dingtalk.com"),
            )
            .setting(
                Setting::url("oapi_base", "Legacy API (oapi) base URL")
                    .with_default("https://oapi.dingtalk.com"),
            )
    }

    fn validate_settings(settings: &Settings) -> std::result::Result<(), Vec<SettingError>> {
        let mut errors = settings.schema_errors();
        for key in ["client_id", "client_secret", "corp_id"] {
            if let Some(value) = settings.get(key)
                && value.trim() != value
            {
                errors.push(SettingError::new(
                    key,
                    "Remove the spaces at the start or end of this value.",
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn begin(settings: &Settings, request: &BeginRequest) -> Result<String> {
        let mut url = endpoint(settings, "login_base", "/oauth2/auth")?;
        let scope = if settings.get("corp_id").is_some() {
            "openid corpid"
        } else {
            "openid"
        };
        url.query_pairs_mut()
            .append_pair("redirect_uri", &request.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("client_id", settings.required("client_id")?)
            .append_pair("scope", scope)
            .append_pair("state", &request.state)
            .append_pair("prompt", "consent");
        // Form encoding writes a space as `+`; `%20` reads the same everywhere.
        // A literal `+` is already `%2B`, so this replaces only spaces.
        let query = url.query().unwrap_or_default().replace('+', "%20");
        url.set_query(Some(&query));
        Ok(url.into())
    }

    fn complete(settings: &Settings, request: &CompleteRequest) -> Result<Identity> {
        check_callback_error(request)?;
        let code = ["authCode", "code"]
            .iter()
            .find_map(|name| request.param(name).filter(|v| !v.is_empty()))
            .ok_or_else(|| {
                ConnectorError::cancelled("The DingTalk sign-in was cancelled.")
                    .with_detail("callback without authCode or code")
            })?;
        let token = exchange_code(settings, code)?;
        if let Some(corp_id) = settings.get("corp_id")
            && token.corp_id.as_deref() != Some(corp_id)
        {
            return Err(ConnectorError::upstream_refused(
                "Your DingTalk account is not in this organization.",
            )
            .with_detail(format!(
                "userAccessToken corpId={:?}, expected {corp_id:?}",
                token.corp_id
            )));
        }
        let me = users_me(settings, &token.access_token)?;
        let union_id = text(&me, "unionId").ok_or_else(|| {
            ConnectorError::invalid_response("DingTalk did not say who signed in.")
                .with_detail("users/me without unionId")
        })?;
        let userid = member_userid(settings, &union_id)?;
        let record = with_app_token(settings, |token| {
            oapi_post(
                settings,
                token,
                "/topapi/v2/user/get",
                &json!({ "userid": userid }),
            )
        })?;
        if let Some(record_union) = text(&record, "unionid")
            && record_union != union_id
        {
            return Err(ConnectorError::invalid_response(
                "DingTalk's organization record does not match the account that signed in.",
            )
            .with_detail(format!(
                "user/get unionid {record_union:?} != users/me unionId {union_id:?}"
            )));
        }
        Ok(member_identity(&union_id, &record, Some(&me)))
    }

    fn directory_page(settings: &Settings, cursor: Option<&str>) -> Result<DirectoryPage> {
        directory::page(settings, cursor)
    }
}

sdk::register!(DingTalk);

/// An `error` in the callback (DingTalk's denial shape is undocumented).
fn check_callback_error(request: &CompleteRequest) -> Result<()> {
    let Some(error) = request.param("error") else {
        return Ok(());
    };
    let detail = format!(
        "callback error={:?}",
        error.chars().take(100).collect::<String>()
    );
    Err(match error {
        "access_denied" | "cancel" | "cancelled" | "canceled" => {
            ConnectorError::cancelled("The DingTalk sign-in was cancelled.")
        }
        _ => ConnectorError::upstream_refused("DingTalk refused the sign-in."),
    }
    .with_detail(detail))
}

struct UserToken {
    access_token: String,
    corp_id: Option<String>,
}

/// `POST {api_base}/v1.0/oauth2/userAccessToken`, exactly once: codes are
/// single-use, so a failure is final.
fn exchange_code(settings: &Settings, code: &str) -> Result<UserToken> {
    let url = endpoint(settings, "api_base", "/v1.0/oauth2/userAccessToken")?;
    let response = http::post(url.as_str())
        .accept_json()
        .json(&json!({
            "clientId": settings.required("client_id")?,
            "clientSecret": settings.required("client_secret")?,
            "code": code,
            "grantType": "authorization_code",
        }))
        .send()?;
    let answer = api::api_answer(
        &response,
        "DingTalk did not accept the sign-in code: it expired or was already used. Please sign in again.",
    )
    .map_err(Failure::into_error)?;
    let access_token = text(&answer, "accessToken").ok_or_else(|| {
        ConnectorError::invalid_response("DingTalk did not return an access token.").with_detail(
            format!(
                "POST /v1.0/oauth2/userAccessToken: HTTP {}: no accessToken",
                response.status
            ),
        )
    })?;
    Ok(UserToken {
        access_token,
        corp_id: text(&answer, "corpId"),
    })
}

/// `GET {api_base}/v1.0/contact/users/me` with the user's token.
fn users_me(settings: &Settings, user_token: &str) -> Result<Value> {
    let url = endpoint(settings, "api_base", "/v1.0/contact/users/me")?;
    let response = http::get(url.as_str())
        .header("x-acs-dingtalk-access-token", user_token)
        .accept_json()
        .send()?;
    // The user token is brand new: a refusal is final (no code to exchange again).
    api::api_answer(&response, "DingTalk refused to say who signed in.")
        .map_err(Failure::into_error)
}

/// The organization's userid for `union_id`; refuses non-members.
fn member_userid(settings: &Settings, union_id: &str) -> Result<String> {
    let result = with_app_token(settings, |token| -> CallResult<Value> {
        oapi_post(
            settings,
            token,
            "/topapi/user/getbyunionid",
            &json!({ "unionid": union_id }),
        )
    })?;
    // contact_type 1 is an external contact of the organization, not a member.
    if integer(&result, "contact_type") == Some(1) {
        return Err(ConnectorError::upstream_refused(
            "Your DingTalk account is not a member of this organization.",
        )
        .with_detail("getbyunionid: contact_type=1 (external contact)"));
    }
    text(&result, "userid").ok_or_else(|| {
        ConnectorError::invalid_response("DingTalk sent an answer Latchkey cannot read.")
            .with_detail("getbyunionid: result without userid")
    })
}

/// The identity of an organization member record (`topapi/v2/user/get` or
/// one entry of `topapi/v2/user/list`). `me` (users/me) only fills in the
/// name and avatar when the record has none; its email and mobile are
/// account-wide and never used.
fn member_identity(union_id: &str, record: &Value, me: Option<&Value>) -> Identity {
    let from_me = |key: &str| me.and_then(|me| text(me, key));
    let email = text(record, "org_email").or_else(|| text(record, "email"));
    let mobile = text(record, "mobile").map(|mobile| match text(record, "state_code") {
        Some(code) if !mobile.starts_with('+') => {
            format!("+{}{mobile}", code.trim_start_matches('+'))
        }
        _ => mobile,
    });
    Identity {
        subject: union_id.to_string(),
        display_name: text(record, "name").or_else(|| from_me("nick")),
        email_verified: email.is_some(),
        email,
        mobile_verified: mobile.is_some(),
        mobile,
        avatar_url: text(record, "avatar").or_else(|| from_me("avatarUrl")),
        // DingTalk accounts get no account name.
        account_name_hint: None,
    }
}
