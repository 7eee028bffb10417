//! Outbound HTTP for connectors, under the host's policy: an allowlist of hosts (those of
//! the instance's URL settings plus the plugin's declared hosts), https unless the admin
//! allowed plain http, no redirects, no private or loopback addresses unless allowed, a
//! timeout, a response-size cap and a request-count cap per call.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
pub const MAX_RESPONSE_BYTES: usize = 1 << 20;
pub const MAX_REQUESTS_PER_CALL: u32 = 16;

/// What one connector call may reach.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `host:port` pairs (lower case).
    pub allowed: BTreeSet<String>,
    /// The admin allowed plain http and private/loopback addresses (local tests, dev).
    pub allow_http: bool,
}

impl Policy {
    /// Adds the origin of a URL (setting value or declared host) to the allowlist.
    pub fn allow_url(&mut self, raw: &str) {
        if let Ok(u) = url::Url::parse(raw)
            && let (Some(host), Some(port)) = (u.host_str(), u.port_or_known_default())
        {
            self.allowed
                .insert(format!("{}:{port}", host.to_ascii_lowercase()));
        }
    }
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 // CGNAT
                || v4.octets()[0] == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80) // link local
        }
    }
}

/// One outbound request as the plugin asked for it.
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Checks the request against the policy, resolves the host once and pins the
/// connection to the checked addresses (no DNS rebinding between check and use).
pub async fn fetch(policy: &Policy, req: Request) -> Result<Response, String> {
    let url = url::Url::parse(&req.url).map_err(|_| "denied: not an absolute URL".to_string())?;
    match url.scheme() {
        "https" => {}
        "http" if policy.allow_http => {}
        "http" => return Err("denied: plain http is not allowed for this connector".into()),
        _ => return Err("denied: only http(s) URLs".into()),
    }
    let host = url
        .host_str()
        .ok_or("denied: no host")?
        .to_ascii_lowercase();
    let port = url.port_or_known_default().ok_or("denied: no port")?;
    if !policy.allowed.contains(&format!("{host}:{port}")) {
        return Err(format!(
            "denied: {host}:{port} is not on this connector's allowlist"
        ));
    }
    let addrs: Vec<SocketAddr> = tokio::time::timeout(
        REQUEST_TIMEOUT,
        tokio::net::lookup_host((host.as_str(), port)),
    )
    .await
    .map_err(|_| "timeout: resolving the host".to_string())?
    .map_err(|e| format!("transport: cannot resolve {host}: {e}"))?
    .collect();
    if addrs.is_empty() {
        return Err(format!("transport: {host} has no address"));
    }
    if !policy.allow_http && addrs.iter().any(|a| !is_public(a.ip())) {
        return Err(format!(
            "denied: {host} resolves to a private or loopback address"
        ));
    }
    let method = reqwest::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| "denied: bad method".to_string())?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .resolve_to_addrs(&host, &addrs)
        .build()
        .map_err(|e| format!("transport: {e}"))?;
    let mut builder = client.request(method, url);
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let mut resp = builder.body(req.body).send().await.map_err(|e| {
        if e.is_timeout() {
            "timeout".to_string()
        } else {
            format!("transport: {e}")
        }
    })?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_string(), v.to_string()))
        })
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("transport: {e}"))? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(format!(
                "too large: the response exceeds {MAX_RESPONSE_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_and_private_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "169.254.1.1",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "2001:4860:4860::8888", "1.1.1.1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn policy_refuses_before_any_traffic() {
        let mut p = Policy::default();
        p.allow_url("https://idp.example.com/realm");
        let req = |url: &str| Request {
            method: "GET".into(),
            url: url.into(),
            headers: vec![],
            body: vec![],
        };
        assert!(
            fetch(&p, req("http://idp.example.com/x"))
                .await
                .unwrap_err()
                .contains("plain http")
        );
        assert!(
            fetch(&p, req("https://evil.example.com/x"))
                .await
                .unwrap_err()
                .contains("allowlist")
        );
        assert!(
            fetch(&p, req("https://idp.example.com:8443/x"))
                .await
                .unwrap_err()
                .contains("allowlist")
        );
        assert!(
            fetch(&p, req("file:///etc/passwd"))
                .await
                .unwrap_err()
                .contains("only http")
        );
        let mut local = Policy::default();
        local.allow_url("https://localhost/");
        assert!(
            fetch(&local, req("https://localhost/x"))
                .await
                .unwrap_err()
                .contains("private or loopback")
        );
    }
}
