//! The WeCom (企业微信) connector: the corp app web login
//! (`wwlogin/sso/login`, `login_type=CorpApp`), members only, and the
//! member directory.
//!
//! Identity key: `userid`, unique within the corporation. It is also the
//! suggested account name (a corp login name; the host checks it). Email and
//! mobile come from the member record (`user/get`); apps created since mid
//! 2022 get them empty there, so expect identities without either.

use latchkey_connector_sdk::{
    self as sdk, BeginRequest, CompleteRequest, Connector, ConnectorError, DirectoryPage, Identity,
    Manifest, Result, Setting, SettingError, Settings,
};
use serde_json::Value;

mod api;
mod directory;
#[cfg(test)]
mod tests;

use api::{Client, text};

/// The WeCom connector.
pub struct WeCom;

impl Connector for WeCom {
    fn describe() -> Manifest {
        // The hosts of URL settings, defaults included, form the allowlist.
        Manifest::new("wecom", "WeCom", env!("CARGO_PKG_VERSION"))
            .setting(Setting::text("corp_id", "Corp ID (企业ID)").required())
            .setting(Setting::text("agent_id", "App AgentId").required())
            .setting(Setting::secret("secret", "App Secret").required())
            .setting(
                Setting::url("login_base", "Login base URL")
                    .with_default("https://login.work.weixin.qq.com"),
            )
            .setting(
                Setting::url("api_base", "API base URL")
                    .with_default("https://qyapi.weixin.qq.com"),
            )
    }

    fn validate_settings(settings: &Settings) -> std::result::Result<(), Vec<SettingError>> {
        let mut errors = settings.schema_errors();
        for key in ["corp_id", "agent_id", "secret"] {
            if let Some(value) = settings.get(key)
                && value.trim() != value
            {
                errors.push(SettingError::new(
                    key,
                    "Remove the spaces at the start or end of this value.",
                ));
            }
        }
        if let Some(agent_id) = settings.get("agent_id")
            && !(agent_id.len() <= 20 && agent_id.chars().all(|c| c.is_ascii_digit()))
            && !errors.iter().any(|e| e.key == "agent_id")
        {
            errors.push(SettingError::new(
                "agent_id",
                "The AgentId is a number (WeCom admin console → the app's details).",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn begin(settings: &Settings, request: &BeginRequest) -> Result<String> {
        let mut url = settings.url("login_base")?;
        let path = format!("{}/wwlogin/sso/login", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url.set_query(None);
        url.set_fragment(None);
        url.query_pairs_mut()
            .append_pair("login_type", "CorpApp")
            .append_pair("appid", settings.required("corp_id")?)
            .append_pair("agentid", settings.required("agent_id")?)
            .append_pair("redirect_uri", &request.redirect_uri)
            .append_pair("state", &request.state);
        Ok(url.into())
    }

    fn complete(settings: &Settings, request: &CompleteRequest) -> Result<Identity> {
        // A denied login comes back with the state only.
        let code = request
            .param("code")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                ConnectorError::cancelled("The WeCom sign-in was cancelled.")
                    .with_detail("callback without code")
            })?;
        let client = Client::new(settings);
        let who = client.get("/cgi-bin/auth/getuserinfo", &[("code", code)])?;
        // The older user/getuserinfo answers `UserId`.
        let Some(userid) = text(&who, "userid").or_else(|| text(&who, "UserId")) else {
            let outsider = ["openid", "OpenId", "external_userid"]
                .iter()
                .any(|k| text(&who, k).is_some());
            return Err(if outsider {
                ConnectorError::upstream_refused(
                    "Only members of this organization can sign in with WeCom.",
                )
                .with_detail("getuserinfo: openid/external_userid without userid (not a member)")
            } else {
                ConnectorError::invalid_response("WeCom did not say who signed in.")
                    .with_detail("getuserinfo: no userid")
            });
        };
        let record = client.get("/cgi-bin/user/get", &[("userid", &userid)])?;
        if let Some(record_userid) = text(&record, "userid")
            && record_userid != userid
        {
            return Err(ConnectorError::invalid_response(
                "WeCom's member record does not match the account that signed in.",
            )
            .with_detail(format!(
                "user/get userid {record_userid:?} != getuserinfo {userid:?}"
            )));
        }
        Ok(member_identity(&userid, &record))
    }

    fn directory_page(settings: &Settings, cursor: Option<&str>) -> Result<DirectoryPage> {
        directory::page(settings, cursor)
    }
}

sdk::register!(WeCom);

/// The identity of member `userid` from its `user/get` record (any field
/// may be empty or absent).
fn member_identity(userid: &str, record: &Value) -> Identity {
    let email = text(record, "email").or_else(|| text(record, "biz_mail"));
    let mobile = text(record, "mobile");
    Identity {
        subject: userid.to_string(),
        display_name: text(record, "name"),
        email_verified: email.is_some(),
        email,
        mobile_verified: mobile.is_some(),
        mobile,
        avatar_url: text(record, "avatar"),
        account_name_hint: Some(userid.to_string()),
    }
}
