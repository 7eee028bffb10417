//! What each export does around the author's code, in plain Rust types. The
//! component's WIT glue and the native test harness both call these, so
//! tests exercise the same path as the host.

use crate::{
    BeginRequest, CompleteRequest, Connector, ConnectorError, DirectoryPage, Identity, Manifest,
    Result, SettingError, Settings,
};

fn settings<C: Connector>(pairs: Vec<(String, String)>) -> Settings {
    Settings::for_connector::<C>(pairs)
}

/// `describe`.
pub fn describe<C: Connector>() -> Manifest {
    C::describe()
}

/// `validate-settings`.
pub fn validate_settings<C: Connector>(
    pairs: Vec<(String, String)>,
) -> std::result::Result<(), Vec<SettingError>> {
    C::validate_settings(&settings::<C>(pairs))
}

/// `begin`: the returned URL must be an absolute http(s) URL.
pub fn begin<C: Connector>(pairs: Vec<(String, String)>, request: BeginRequest) -> Result<String> {
    let url = C::begin(&settings::<C>(pairs), &request)?;
    match url::Url::parse(&url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(url),
        _ => Err(
            ConnectorError::config("The connector produced an invalid sign-in URL.").with_detail(
                format!("begin returned {:?}", crate::http::url_without_query(&url)),
            ),
        ),
    }
}

/// `complete`: the identity must have a subject.
pub fn complete<C: Connector>(
    pairs: Vec<(String, String)>,
    request: CompleteRequest,
) -> Result<Identity> {
    let identity = C::complete(&settings::<C>(pairs), &request)?;
    check_identity(&identity)?;
    Ok(identity)
}

/// `directory-page`: every identity must have a subject.
pub fn directory_page<C: Connector>(
    pairs: Vec<(String, String)>,
    cursor: Option<String>,
) -> Result<DirectoryPage> {
    let page = C::directory_page(&settings::<C>(pairs), cursor.as_deref())?;
    page.identities.iter().try_for_each(check_identity)?;
    Ok(page)
}

/// `unbound`.
pub fn unbound<C: Connector>(pairs: Vec<(String, String)>, subject: String) -> Result<()> {
    C::unbound(&settings::<C>(pairs), &subject)
}

fn check_identity(identity: &Identity) -> Result<()> {
    if identity.subject.trim().is_empty() {
        return Err(ConnectorError::invalid_response(
            "The identity provider did not say who signed in.",
        )
        .with_detail("the connector returned an identity with an empty subject"));
    }
    Ok(())
}
