//! The only HTTP and HTML. One warp filter hands every request to `dispatch`, which
//! parses it once (`Request`), finds the session, checks CSRF on every POST, routes it,
//! and turns errors into friendly pages. Security headers are set in `response`.

pub mod handlers;
pub mod page_cache;
pub mod request;
pub mod response;
pub mod views;

use std::sync::Arc;
use std::time::{Duration, Instant};

use warp::Filter;
use warp::http::{Method, StatusCode};

use crate::app::App;
use crate::error::Error;
use request::{Request, SESSION_COOKIE};
use response::Resp;

/// Largest form body accepted.
const MAX_BODY: u64 = 64 * 1024;
const STYLESHEET: &str = include_str!("style.css");
const PASSKEY_SCRIPT: &str = include_str!("webauthn.js");

/// Runs the portal until Ctrl-C / SIGTERM.
pub async fn serve(mut app: App) -> Result<(), Error> {
    // Plugins load before the port opens: /healthz answering means they are loaded.
    let plugins =
        crate::plugins::Plugins::load(&app.config.plugins_dir, &app.config.plugin_cache_dir())
            .await
            .map_err(Error::Internal)?;
    for b in plugins.broken() {
        println!("Connector plugin skipped: {}: {}", b.source, b.reason);
    }
    tracing::info!(
        loaded = plugins.list().len(),
        broken = plugins.broken().len(),
        "plugins loaded"
    );
    app.plugins = Some(plugins);
    let app = Arc::new(app);
    let listener = tokio::net::TcpListener::bind(app.config.listen)
        .await
        .map_err(|e| Error::Invalid(format!("cannot listen on {}: {e}", app.config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Internal(e.to_string()))?;
    if let Some(link) = app.setup_link()? {
        // The link is a secret for whoever runs the server: printed, never logged.
        println!("No administrator yet. Open this one-time link to create one:\n  {link}");
    }
    tracing::info!(%addr, public_url = %app.config.public_url, "latchkey is listening");
    println!("Latchkey is listening on http://{addr}");

    let hasher = app.hasher.clone();
    tokio::spawn(async move { hasher.warm_up().await });
    let purger = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            let app = purger.clone();
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = app.purge() {
                    tracing::warn!(error = %e, "purging expired sessions failed");
                }
            })
            .await;
        }
    });

    let with_body = warp::post()
        .and(warp::body::content_length_limit(MAX_BODY))
        .and(warp::body::bytes());
    let body = with_body.or(warp::any().map(bytes::Bytes::new)).unify();
    let state = app.clone();
    let pages = Arc::new(page_cache::PageCache::default());
    let routes = warp::method()
        .and(warp::path::full())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and(warp::addr::remote())
        .and(body)
        .then(
            move |method: Method,
                  path: warp::path::FullPath,
                  query: String,
                  headers: warp::http::HeaderMap,
                  remote: Option<std::net::SocketAddr>,
                  body: bytes::Bytes| {
                let app = state.clone();
                let pages = pages.clone();
                async move {
                    let started = Instant::now();
                    let too_big = method == Method::POST
                        && headers
                            .get(warp::http::header::CONTENT_LENGTH)
                            .and_then(|v: &warp::http::HeaderValue| v.to_str().ok())
                            .and_then(|v| v.parse::<u64>().ok())
                            .is_some_and(|n| n > MAX_BODY);
                    let mut req = Request::new(
                        method,
                        path.as_str().to_string(),
                        &query,
                        &headers,
                        &body,
                        remote,
                    );
                    let resp = if too_big {
                        Resp::text(StatusCode::PAYLOAD_TOO_LARGE, "request too large")
                    } else {
                        match dispatch(&app, &pages, &mut req).await {
                            Ok(r) => r,
                            Err(e) => handlers::error_page(&req, e),
                        }
                    };
                    tracing::info!(
                        method = %req.method,
                        route = %route_label(&req.path),
                        status = resp.status.as_u16(),
                        ms = format!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
                        "request"
                    );
                    resp.into_response()
                }
            },
        );

    warp::serve(routes)
        .incoming(listener)
        .graceful(shutdown_signal())
        .run()
        .await;
    tracing::info!("latchkey stopped");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The path for the log, with numeric ids folded (`/admin/accounts/{id}`).
fn route_label(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .map(|s| {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                s
            }
        })
        .collect();
    let mut out = parts.join("/");
    out.truncate(200);
    out
}

async fn dispatch(
    app: &Arc<App>,
    pages: &page_cache::PageCache,
    req: &mut Request,
) -> Result<Resp, Error> {
    // Cheap routes first: no session, no database.
    match req.path.as_str() {
        "/healthz" => return Ok(Resp::text(StatusCode::OK, "ok")),
        "/static/style.css" => {
            let mut r = Resp::text(StatusCode::OK, STYLESHEET);
            r.content_type = "text/css; charset=utf-8";
            r.cacheable = true;
            return Ok(r);
        }
        "/static/passkey.js" => {
            let mut r = Resp::text(StatusCode::OK, PASSKEY_SCRIPT);
            r.content_type = "text/javascript; charset=utf-8";
            r.cacheable = true;
            return Ok(r);
        }
        _ => {}
    }
    // My Account as rendered before, while nothing changed since (see `page_cache`).
    let cached = match req.cookie(SESSION_COOKIE) {
        Some(token)
            if req.method == Method::GET && req.path == "/account" && req.raw_query.is_empty() =>
        {
            let key = page_cache::Key::new(
                token,
                req.locale,
                handlers::account::in_app_browser(&req.client.user_agent),
            );
            let version = app.store.data_version()?;
            if let Some(page) = pages.get(&key, version, crate::app::now()) {
                return Ok(page);
            }
            Some((key, version))
        }
        _ => None,
    };
    if let Some(token) = req.cookie(SESSION_COOKIE) {
        req.session = app.resolve_session(token)?;
    }
    let resp = route(app, req).await?;
    if let Some((key, version)) = cached
        && let Some((s, a)) = &req.session
        && s.stage == crate::store::sessions::Stage::Active
        && a.account_name.is_some()
    {
        let limits = app.settings()?.session_limits();
        let t = crate::app::now();
        // Fresh until a session limit could change the page or the session: the next
        // last-seen update, the absolute timeout, the end of the reauthentication window.
        let mut until = (s.last_seen_at + crate::app::logon::TOUCH_EVERY.min(limits.idle_seconds))
            .min(s.created_at + limits.absolute_seconds)
            .min(t + page_cache::MAX_AGE);
        if t - s.authenticated_at <= limits.reauth_seconds {
            until = until.min(s.authenticated_at + limits.reauth_seconds + 1);
        }
        pages.put(key, version, until, &resp);
    }
    Ok(resp)
}

async fn route(app: &Arc<App>, req: &mut Request) -> Result<Resp, Error> {
    let method = if req.method == Method::HEAD {
        Method::GET
    } else {
        req.method.clone()
    };
    if method == Method::POST && !req.csrf_ok() {
        return Ok(handlers::csrf_failure(req));
    }
    let path = req.path.clone();
    let segs: Vec<&str> = path
        .trim_start_matches('/')
        .trim_end_matches('/')
        .split('/')
        .collect();
    let get = method == Method::GET;
    let post = method == Method::POST;
    match segs.as_slice() {
        [""] if get => Ok(Resp::redirect(if req.session.is_some() {
            "/account"
        } else {
            "/login"
        })),
        ["lang"] if get => Ok(handlers::auth::switch_language(app, req)),
        ["login"] if get => handlers::auth::login_page(app, req),
        ["login"] if post => handlers::auth::login(app, req).await,
        ["logout"] if post => handlers::auth::logout(app, req),
        ["login", "factor"] if get => handlers::factors::factor_page(app, req),
        ["login", "factor"] if post => handlers::factors::factor_submit(app, req),
        ["login", "factor", "send"] if post => handlers::factors::factor_send(app, req).await,
        ["login", "factor", "passkey"] if post => handlers::passkeys::logon_options(app, req),
        ["login", "bind"] if get => handlers::factors::bind_page(app, req),
        ["login", "name"] if get || post => handlers::auth::choose_name(app, req, post),
        ["password", "reset"] if get => handlers::reset::request_page(app, req),
        ["password", "reset"] if post => handlers::reset::request(app, req),
        ["password", "reset", "confirm"] if post => handlers::reset::confirm(app, req).await,
        ["setup"] if get => handlers::auth::setup_page(app, req),
        ["setup"] if post => handlers::auth::setup(app, req).await,
        ["connectors", id, action] => {
            let (id, action) = (id.to_string(), action.to_string());
            handlers::connectors::route(app, req, &id, &action, post).await
        }
        ["account", rest @ ..] if get || post => {
            handlers::account::route(app, req, rest, post).await
        }
        ["admin", rest @ ..] if get || post => handlers::admin::route(app, req, rest, post).await,
        _ if !(get || post) => Ok(Resp::text(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed",
        )),
        _ => Err(Error::NotFound(path.clone())),
    }
}
