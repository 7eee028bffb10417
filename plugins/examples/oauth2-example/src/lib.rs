//! Example connector: a GitHub-style OAuth 2 provider (authorize URL, code
//! exchange, `/user`). The whole connector is this file; see plugins/README.md.

use latchkey_connector_sdk::{
    self as sdk, BeginRequest, CompleteRequest, Connector, ConnectorError, Identity, Manifest,
    Result, Setting, Settings, http,
};
use serde::Deserialize;

pub struct GitHubLike;

/// The token endpoint's answer. GitHub reports errors with HTTP 200 and `error`.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The part of `GET /user` we use.
#[derive(Deserialize)]
struct User {
    id: u64,
    login: String,
    name: Option<String>,
    email: Option<String>,
    avatar_url: Option<String>,
}

impl Connector for GitHubLike {
    fn describe() -> Manifest {
        Manifest::new(
            "oauth2-example",
            "GitHub-like OAuth 2 (example)",
            env!("CARGO_PKG_VERSION"),
        )
        .setting(Setting::text("client_id", "Client ID").required())
        .setting(Setting::secret("client_secret", "Client secret").required())
        .setting(Setting::text("scopes", "Scopes").with_default("read:user"))
        // Every base URL is a setting with the production default, so tests use loopback.
        .setting(
            Setting::url("authorize_url", "Authorize URL")
                .with_default("https://github.com/login/oauth/authorize"),
        )
        .setting(
            Setting::url("token_url", "Token URL")
                .with_default("https://github.com/login/oauth/access_token"),
        )
        .setting(Setting::url("api_base", "API base URL").with_default("https://api.github.com"))
    }

    fn begin(settings: &Settings, request: &BeginRequest) -> Result<String> {
        let mut url = settings.url("authorize_url")?;
        url.query_pairs_mut()
            .append_pair("client_id", settings.required("client_id")?)
            .append_pair("redirect_uri", &request.redirect_uri)
            .append_pair("scope", settings.get_or("scopes", "read:user"))
            .append_pair("state", &request.state)
            .append_pair("code_challenge", &request.pkce_challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    fn complete(settings: &Settings, request: &CompleteRequest) -> Result<Identity> {
        if let Some(error) = request.param("error") {
            let e = match error {
                "access_denied" => ConnectorError::cancelled("You cancelled the sign-in."),
                _ => ConnectorError::upstream_refused("The provider refused the sign-in."),
            };
            return Err(e.with_detail(format!("callback error={error}")));
        }
        let code = request.param("code").ok_or_else(|| {
            ConnectorError::invalid_response("The provider sent no authorization code.")
                .with_detail("callback without code")
        })?;

        // Exchange the code exactly once: codes are single-use, never retry.
        let token: TokenResponse = http::post(settings.url("token_url")?)
            .accept_json()
            .form([
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &request.redirect_uri),
                ("code_verifier", &request.pkce_verifier),
                ("client_id", settings.required("client_id")?),
                ("client_secret", settings.required("client_secret")?),
            ])
            .send()?
            .error_for_status()?
            .json()?;
        let access_token = match (token.access_token, token.error) {
            (Some(t), None) => t,
            (_, error) => {
                return Err(
                    ConnectorError::upstream_refused("The provider refused the sign-in.")
                        .with_detail(format!(
                            "token error={error:?} description={:?}",
                            token.error_description
                        )),
                );
            }
        };

        let api = settings.url("api_base")?;
        let user: User = http::get(format!("{}/user", api.as_str().trim_end_matches('/')))
            .bearer(&access_token)
            .accept_json()
            .header("user-agent", "Latchkey")
            .send()?
            .error_for_status()?
            .json()?;
        Ok(Identity {
            subject: user.id.to_string(), // numeric id: logins can be renamed
            display_name: Some(user.name.unwrap_or_else(|| user.login.clone())),
            email: user.email,
            email_verified: false, // /user's email is not vouched for
            avatar_url: user.avatar_url,
            account_name_hint: Some(user.login),
            ..Identity::default()
        })
    }
}

sdk::register!(GitHubLike);

#[cfg(test)]
mod tests {
    use super::*;
    use sdk::{
        ErrorKind,
        testing::{self, Harness},
    };
    use serde_json::json;

    fn harness() -> Harness<GitHubLike> {
        Harness::new([
            ("client_id", "cid"),
            ("client_secret", "shh"),
            ("authorize_url", "http://127.0.0.1:9/authorize"),
            ("token_url", "http://127.0.0.1:9/token"),
            ("api_base", "http://127.0.0.1:9/api"),
        ])
    }

    #[test]
    fn begin_builds_the_authorize_url() {
        let url = harness().begin(&testing::begin_request()).unwrap();
        assert!(url.starts_with(
            "http://127.0.0.1:9/authorize?client_id=cid&redirect_uri=https%3A%2F%2Fportal"
        ));
        assert!(url.contains(&format!("&scope=read%3Auser&state={}", testing::STATE)));
        assert!(url.ends_with(&format!(
            "code_challenge={}&code_challenge_method=S256",
            testing::PKCE_CHALLENGE
        )));
    }

    #[test]
    fn complete_exchanges_the_code_once_and_reads_the_user() {
        let h = harness();
        h.host
            .on("POST", "http://127.0.0.1:9/token")
            .json(&json!({"access_token": "gho_1", "token_type": "bearer"}));
        h.host.on("GET", "http://127.0.0.1:9/api/user")
            .json(&json!({"id": 42, "login": "octo", "name": null, "email": "o@example.test", "avatar_url": "http://a/42"}));
        let id = h
            .complete(&testing::callback([
                ("code", "c0de"),
                ("state", testing::STATE),
            ]))
            .unwrap();
        assert_eq!(
            (id.subject.as_str(), id.display_name.as_deref()),
            ("42", Some("octo"))
        );
        assert!(!id.email_verified);
        let token = &h.host.requests_to("POST", "http://127.0.0.1:9/token")[0];
        assert_eq!(token.form_param("code").as_deref(), Some("c0de"));
        assert_eq!(
            token.form_param("code_verifier").as_deref(),
            Some(testing::PKCE_VERIFIER)
        );
        assert_eq!(
            h.host.requests()[1].header_value("authorization"),
            Some("Bearer gho_1")
        );
    }

    #[test]
    fn errors_are_mapped() {
        let h = harness();
        let denied = h
            .complete(&testing::callback([("error", "access_denied")]))
            .unwrap_err();
        assert_eq!(denied.kind, ErrorKind::Cancelled);
        h.host
            .on("POST", "http://127.0.0.1:9/token")
            .json(&json!({"error": "bad_verification_code"}));
        let refused = h
            .complete(&testing::callback([("code", "old")]))
            .unwrap_err();
        assert_eq!(refused.kind, ErrorKind::UpstreamRefused);
        assert_eq!(
            h.host.requests().len(),
            1,
            "never retried, never called /user"
        );
    }
}
