//! The only wasmtime. Connector plugins are WebAssembly components (world
//! `latchkey:connector/connector@0.1.0`, see `plugins/wit/`). One Engine; each component
//! compiled once (the compiled artifact is cached in `data_dir` by content hash and
//! wasmtime version); one `InstancePre` per plugin; a fresh `Store` per call, with a
//! memory cap, an epoch deadline and a wall-clock timeout. A broken plugin is reported
//! and skipped, never fatal.

pub mod egress;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod bindings {
    wasmtime::component::bindgen!({
        world: "connector",
        path: "plugins/wit/0.1.0",
        imports: { default: async },
        exports: { default: async },
    });
}

use bindings::exports::latchkey::connector::plugin;
use bindings::latchkey::connector::host;

/// The contract version this host binds.
pub const API_VERSION: &str = "0.1.0";
/// Memory a plugin instance may grow to.
const MEMORY_LIMIT: usize = 64 << 20;
/// The engine's epoch ticks this often; a call may run `EPOCH_BUDGET` ticks of CPU.
const EPOCH_TICK: Duration = Duration::from_millis(10);
const EPOCH_BUDGET: u64 = 500;
/// Wall-clock limit of one call (network waits included).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const CACHE_MAX_ENTRIES: usize = 256;
/// Log lines one call may write.
const MAX_LOG_LINES: u32 = 50;
const CACHE_MAX_VALUE: usize = 64 * 1024;

/// Built-in connectors, compiled from `plugins/` by build.rs and embedded.
const BUILTINS: &[(&str, &[u8])] = include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    BuiltIn(String),
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::BuiltIn(name) => write!(f, "built-in {name}"),
            Source::File(p) => write!(f, "{}", p.display()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingKind {
    Text,
    Secret,
    Url,
    Bool,
}

#[derive(Debug, Clone)]
pub struct SettingSpec {
    pub key: String,
    pub label: String,
    pub kind: SettingKind,
    pub required: bool,
    pub default: Option<String>,
}

/// What a loaded plugin says about itself.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    pub id: String,
    pub name: String,
    pub version: String,
    pub api_version: String,
    pub sha256: String,
    pub source: Source,
    pub settings: Vec<SettingSpec>,
    pub outbound_hosts: Vec<String>,
}

/// A plugin that could not be loaded, and why.
#[derive(Debug, Clone)]
pub struct BrokenPlugin {
    pub source: Source,
    pub sha256: String,
    pub reason: String,
}

/// A failed plugin call: what the user sees and what the log gets.
#[derive(Debug, Clone)]
pub struct CallError {
    pub kind: FailureKind,
    pub message: String,
    pub detail: String,
}

/// How a call failed, as far as the user's page is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The connector, its limits or the provider's service failed.
    Failed,
    /// The provider refused the person (bad code, not a member, denied).
    Refused,
    /// The person cancelled at the provider.
    Cancelled,
    /// The connector does not offer this function (e.g. no directory).
    Unsupported,
}

struct Loaded {
    info: PluginInfo,
    pre: bindings::ConnectorPre<HostState>,
}

/// Per-call state of an instance.
struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    connector: String,
    policy: egress::Policy,
    requests: u32,
    /// Log lines written in this call (capped).
    log_lines: u32,
    cache: Arc<Cache>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A small per-connector cache (app tokens, JWKS). A cache only: losing it costs a
/// refetch, so it lives in memory.
/// (connector id, key) -> (value, expiry)
type CacheEntries = HashMap<(String, String), (Vec<u8>, Instant)>;

#[derive(Default)]
struct Cache {
    entries: Mutex<CacheEntries>,
}

impl host::Host for HostState {
    async fn http_fetch(
        &mut self,
        request: host::HttpRequest,
    ) -> Result<host::HttpResponse, String> {
        self.requests += 1;
        if self.requests > egress::MAX_REQUESTS_PER_CALL {
            tracing::info!(connector = %self.connector, "plugin request refused: too many in one call");
            return Err(format!(
                "denied: more than {} requests in one call",
                egress::MAX_REQUESTS_PER_CALL
            ));
        }
        let r = egress::fetch(
            &self.policy,
            egress::Request {
                method: request.method,
                url: request.url,
                headers: request.headers,
                body: request.body,
            },
        )
        .await;
        if let Err(e) = &r {
            tracing::info!(connector = %self.connector, error = %e, "plugin request refused or failed");
        }
        r.map(|r| host::HttpResponse {
            status: r.status,
            headers: r.headers,
            body: r.body,
        })
    }

    async fn log(&mut self, level: host::LogLevel, message: String) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES {
            if self.log_lines == MAX_LOG_LINES + 1 {
                tracing::warn!(connector = %self.connector, "further plugin log lines of this call dropped");
            }
            return;
        }
        let message: String = message.chars().take(2000).collect();
        match level {
            host::LogLevel::Debug => tracing::debug!(connector = %self.connector, "{message}"),
            host::LogLevel::Info => tracing::info!(connector = %self.connector, "{message}"),
            host::LogLevel::Warn => tracing::warn!(connector = %self.connector, "{message}"),
            host::LogLevel::Error => tracing::error!(connector = %self.connector, "{message}"),
        }
    }

    async fn cache_get(&mut self, key: String) -> Option<Vec<u8>> {
        let mut entries = self.cache.entries.lock().ok()?;
        let k = (self.connector.clone(), key);
        match entries.get(&k) {
            Some((v, until)) if *until > Instant::now() => Some(v.clone()),
            Some(_) => {
                entries.remove(&k);
                None
            }
            None => None,
        }
    }

    async fn cache_set(&mut self, key: String, value: Vec<u8>, ttl_seconds: u32) {
        let Ok(mut entries) = self.cache.entries.lock() else {
            return;
        };
        let k = (self.connector.clone(), key);
        if ttl_seconds == 0 || value.len() > CACHE_MAX_VALUE {
            entries.remove(&k);
            return;
        }
        let now = Instant::now();
        entries.retain(|_, (_, until)| *until > now);
        let mine = entries.keys().filter(|(c, _)| *c == self.connector).count();
        if mine >= CACHE_MAX_ENTRIES && !entries.contains_key(&k) {
            return;
        }
        entries.insert(k, (value, now + Duration::from_secs(ttl_seconds.into())));
    }

    async fn now_unix(&mut self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// Which connector instance a call is for.
pub struct Call<'a> {
    pub connector: &'a str,
    pub plugin: &'a str,
    pub settings: &'a [(String, String)],
    pub allow_http: bool,
}

pub struct BeginRequest {
    pub state: String,
    pub nonce: String,
    pub pkce_challenge: String,
    pub redirect_uri: String,
}

pub struct CompleteRequest {
    pub query: Vec<(String, String)>,
    pub pkce_verifier: String,
    pub nonce: String,
    pub redirect_uri: String,
}

/// An external identity as the provider vouches for it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub subject: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub mobile: Option<String>,
    pub mobile_verified: bool,
    pub account_name_hint: Option<String>,
}

/// An identity a plugin returned, refused if its subject is unusable.
fn checked_identity(id: plugin::Identity) -> Result<Identity, CallError> {
    if id.subject.is_empty() || id.subject.len() > 512 {
        return Err(CallError {
            kind: FailureKind::Failed,
            message: "the sign-in service sent an unusable answer".into(),
            detail: format!("subject of {} bytes", id.subject.len()),
        });
    }
    Ok(Identity {
        subject: id.subject,
        display_name: id.display_name,
        email: id.email,
        email_verified: id.email_verified,
        mobile: id.mobile,
        mobile_verified: id.mobile_verified,
        account_name_hint: id.account_name_hint,
    })
}

fn connector_error(e: plugin::ConnectorError) -> CallError {
    let message: String = e.message.chars().take(300).collect();
    let kind = match e.kind {
        plugin::ErrorKind::Cancelled => FailureKind::Cancelled,
        plugin::ErrorKind::UpstreamRefused => FailureKind::Refused,
        plugin::ErrorKind::NotSupported => FailureKind::Unsupported,
        _ => FailureKind::Failed,
    };
    CallError {
        kind,
        message: if message.trim().is_empty() {
            "the sign-in service refused".into()
        } else {
            message
        },
        detail: format!(
            "{:?}: {}",
            e.kind,
            e.detail.chars().take(1000).collect::<String>()
        ),
    }
}

/// Calls of one connector that may run at once.
const PER_CONNECTOR_CALLS: usize = 16;

pub struct Plugins {
    concurrency: Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
    engine: Engine,
    loaded: HashMap<String, Loaded>,
    order: Vec<String>,
    broken: Vec<BrokenPlugin>,
    cache: Arc<Cache>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn engine() -> Result<Engine, String> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    Engine::new(&config).map_err(|e| format!("cannot start the WebAssembly engine: {e}"))
}

/// Loads a compiled artifact this process wrote earlier.
///
/// SAFETY: `Component::deserialize_file` trusts its input to be wasmtime's own output
/// for this exact engine configuration and version. The file lives under `data_dir`
/// (the same trust as the database), is named by the SHA-256 of the component and the
/// wasmtime version, and wasmtime itself checks the version and configuration header.
#[allow(unsafe_code)]
fn load_compiled(engine: &Engine, path: &Path) -> Option<Component> {
    unsafe { Component::deserialize_file(engine, path) }.ok()
}

impl Plugins {
    /// Loads the built-in connectors and every `*.wasm` in `plugins_dir`.
    pub async fn load(plugins_dir: &Path, cache_dir: &Path) -> Result<Plugins, String> {
        let engine = engine()?;
        // The epoch clock: one ticker thread for the process.
        let ticker = engine.weak();
        std::thread::Builder::new()
            .name("latchkey-epoch".into())
            .spawn(move || {
                while let Some(engine) = ticker.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .map_err(|e| format!("cannot start the epoch thread: {e}"))?;
        let mut plugins = Plugins {
            concurrency: Mutex::new(HashMap::new()),
            engine,
            loaded: HashMap::new(),
            order: Vec::new(),
            broken: Vec::new(),
            cache: Arc::new(Cache::default()),
        };
        let mut sources: Vec<(Source, Vec<u8>)> = BUILTINS
            .iter()
            .map(|(name, bytes)| (Source::BuiltIn((*name).to_string()), bytes.to_vec()))
            .collect();
        if let Ok(entries) = std::fs::read_dir(plugins_dir) {
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
                .collect();
            files.sort();
            for f in files {
                match std::fs::read(&f) {
                    Ok(bytes) => sources.push((Source::File(f), bytes)),
                    Err(e) => plugins.broken.push(BrokenPlugin {
                        source: Source::File(f),
                        sha256: String::new(),
                        reason: format!("cannot read the file: {e}"),
                    }),
                }
            }
        }
        let _ = std::fs::create_dir_all(cache_dir);
        for (source, bytes) in sources {
            let sha = sha256_hex(&bytes);
            match plugins.load_one(&source, &bytes, &sha, cache_dir).await {
                Ok(loaded) => {
                    let id = loaded.info.id.clone();
                    if plugins.loaded.contains_key(&id) {
                        plugins.broken.push(BrokenPlugin {
                            source,
                            sha256: sha,
                            reason: format!("another plugin already has the id {id:?}"),
                        });
                        continue;
                    }
                    tracing::info!(plugin = %id, version = %loaded.info.version, source = %loaded.info.source, "plugin loaded");
                    plugins.order.push(id.clone());
                    plugins.loaded.insert(id, loaded);
                }
                Err(reason) => {
                    tracing::warn!(source = %source, %reason, "plugin skipped");
                    plugins.broken.push(BrokenPlugin {
                        source,
                        sha256: sha,
                        reason,
                    });
                }
            }
        }
        Ok(plugins)
    }

    async fn load_one(
        &self,
        source: &Source,
        bytes: &[u8],
        sha: &str,
        cache_dir: &Path,
    ) -> Result<Loaded, String> {
        let cached = cache_dir.join(format!("{sha}-wasmtime-{}.cwasm", wasmtime_version()));
        let component = match cached
            .is_file()
            .then(|| load_compiled(&self.engine, &cached))
            .flatten()
        {
            Some(c) => c,
            None => {
                if !bytes.starts_with(b"\0asm") {
                    return Err("not a WebAssembly file".into());
                }
                // Byte 4..8: a component says 0d 00 01 00, a core module 01 00 00 00.
                if bytes.get(4..8) == Some(&[1, 0, 0, 0]) {
                    return Err(
                        "a core WebAssembly module, not a component: build it for wasm32-wasip2"
                            .into(),
                    );
                }
                let c = Component::from_binary(&self.engine, bytes).map_err(|e| {
                    format!(
                        "not a valid WebAssembly component: {}",
                        first_line(&format!("{e:#}"))
                    )
                })?;
                if let Ok(artifact) = c.serialize() {
                    // Write-then-rename so a concurrent start never reads half a file.
                    let tmp = cached.with_extension(format!("tmp{}", std::process::id()));
                    if std::fs::write(&tmp, artifact).is_ok() {
                        let _ = std::fs::rename(&tmp, &cached);
                    }
                }
                c
            }
        };
        let mut linker: Linker<HostState> = Linker::new(&self.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| format!("linker: {e}"))?;
        bindings::Connector::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| format!("linker: {e}"))?;
        let pre = linker.instantiate_pre(&component).map_err(|e| {
            format!(
                "does not fit the latchkey:connector@{API_VERSION} world: {}",
                first_line(&format!("{e:#}"))
            )
        })?;
        let pre = bindings::ConnectorPre::new(pre).map_err(|e| {
            format!(
                "does not export latchkey:connector/plugin@{API_VERSION}: {}",
                first_line(&format!("{e:#}"))
            )
        })?;
        let manifest = self
            .run(
                &pre,
                "(loading)",
                egress::Policy::default(),
                |inst, store| {
                    Box::pin(
                        async move { inst.latchkey_connector_plugin().call_describe(store).await },
                    )
                },
            )
            .await
            .map_err(|e| format!("describe failed: {}", e.detail))?;
        let info = manifest_info(manifest, sha, source)?;
        Ok(Loaded { info, pre })
    }

    /// Runs one call in a fresh instance under the limits.
    async fn run<T: Send + 'static>(
        &self,
        pre: &bindings::ConnectorPre<HostState>,
        connector: &str,
        policy: egress::Policy,
        f: impl for<'a> FnOnce(
            &'a bindings::Connector,
            &'a mut Store<HostState>,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = wasmtime::Result<T>> + Send + 'a>,
        > + Send,
    ) -> Result<T, CallError> {
        let state = HostState {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(MEMORY_LIMIT)
                .trap_on_grow_failure(true)
                .build(),
            connector: connector.to_string(),
            policy,
            requests: 0,
            log_lines: 0,
            cache: self.cache.clone(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // Every tick spent running wasm, yield to the executor (a busy plugin never holds
        // a worker) and count it; past the budget, trap. Time waiting in host calls
        // (the network) is not counted: no tick fires while no wasm runs, so a long wait
        // costs one tick when wasm resumes.
        store.set_epoch_deadline(1);
        let mut ticks = 0u64;
        store.epoch_deadline_callback(move |_| {
            ticks += 1;
            if ticks > EPOCH_BUDGET {
                Ok(wasmtime::UpdateDeadline::Interrupt)
            } else {
                Ok(wasmtime::UpdateDeadline::Yield(1))
            }
        });
        let work = async {
            let instance = pre.instantiate_async(&mut store).await?;
            f(&instance, &mut store).await
        };
        match tokio::time::timeout(CALL_TIMEOUT, work).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                let trap = e
                    .downcast_ref::<wasmtime::Trap>()
                    .map(|t| format!("{t:?}: "))
                    .unwrap_or_default();
                let detail = format!("{trap}{e:#}");
                let message = if detail.contains("interrupt") || detail.contains("epoch") {
                    "the connector used too much time"
                } else if detail.contains("memory") {
                    "the connector used too much memory"
                } else {
                    "the connector failed"
                };
                Err(CallError {
                    kind: FailureKind::Failed,
                    message: message.into(),
                    detail: first_line(&detail),
                })
            }
            Err(_) => Err(CallError {
                kind: FailureKind::Failed,
                message: "the connector did not answer in time".into(),
                detail: "wall-clock timeout".into(),
            }),
        }
    }

    pub fn list(&self) -> Vec<&PluginInfo> {
        self.order
            .iter()
            .filter_map(|id| self.loaded.get(id))
            .map(|l| &l.info)
            .collect()
    }

    pub fn broken(&self) -> &[BrokenPlugin] {
        &self.broken
    }

    pub fn get(&self, id: &str) -> Option<&PluginInfo> {
        self.loaded.get(id).map(|l| &l.info)
    }

    /// Drops what the plugin cached for a connector instance (tokens, discovery), e.g.
    /// after the admin changed or deleted it.
    pub fn forget_cache(&self, connector: &str) {
        if let Ok(mut entries) = self.cache.entries.lock() {
            entries.retain(|(c, _), _| c != connector);
        }
    }

    /// The outbound policy of one connector instance: the hosts of its URL settings and
    /// of the plugin's declared hosts.
    fn policy(
        &self,
        info: &PluginInfo,
        settings: &[(String, String)],
        allow_http: bool,
    ) -> egress::Policy {
        let mut p = egress::Policy {
            allow_http,
            ..Default::default()
        };
        for spec in info.settings.iter().filter(|s| s.kind == SettingKind::Url) {
            let value = settings
                .iter()
                .find(|(k, _)| *k == spec.key)
                .map(|(_, v)| v.clone())
                .or_else(|| spec.default.clone());
            if let Some(v) = value {
                p.allow_url(&v);
            }
        }
        for h in &info.outbound_hosts {
            p.allow_url(h);
        }
        p
    }

    /// The web origins a connector instance may send the browser to: those of its URL
    /// settings (defaults included) and of its plugin's declared hosts. Pages whose
    /// forms start a sign-in list them in CSP `form-action`, which browsers also apply
    /// to the redirect that follows the form.
    pub fn browser_origins(&self, plugin_id: &str, settings: &[(String, String)]) -> Vec<String> {
        let Some(loaded) = self.loaded.get(plugin_id) else {
            return Vec::new();
        };
        let info = &loaded.info;
        let urls = info
            .settings
            .iter()
            .filter(|s| s.kind == SettingKind::Url)
            .filter_map(|spec| {
                settings
                    .iter()
                    .find(|(k, v)| *k == spec.key && !v.is_empty())
                    .map(|(_, v)| v.clone())
                    .or_else(|| spec.default.clone())
            })
            .chain(info.outbound_hosts.iter().cloned());
        let mut origins: Vec<String> = urls
            .filter_map(|u| url::Url::parse(&u).ok())
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
            .map(|u| u.origin().ascii_serialization())
            .collect();
        origins.sort();
        origins.dedup();
        origins
    }

    fn loaded(&self, plugin_id: &str) -> Result<&Loaded, CallError> {
        self.loaded.get(plugin_id).ok_or_else(|| CallError {
            kind: FailureKind::Failed,
            message: "this sign-in method is not available".into(),
            detail: format!("no plugin {plugin_id:?} is loaded"),
        })
    }

    /// One export call on a connector instance: its plugin, its outbound policy, its
    /// concurrency cap, a fresh instance under the limits, and the connector's own error
    /// mapped for the page.
    async fn call_export<T: Send + 'static>(
        &self,
        call: &Call<'_>,
        f: impl for<'a> FnOnce(
            &'a bindings::Connector,
            &'a mut Store<HostState>,
        ) -> std::pin::Pin<
            Box<
                dyn std::future::Future<
                        Output = wasmtime::Result<Result<T, plugin::ConnectorError>>,
                    > + Send
                    + 'a,
            >,
        > + Send,
    ) -> Result<T, CallError> {
        let loaded = self.loaded(call.plugin)?;
        let policy = self.policy(&loaded.info, call.settings, call.allow_http);
        let _permit = self.permit(call.connector).await;
        self.run(&loaded.pre, call.connector, policy, f)
            .await?
            .map_err(connector_error)
    }

    /// Starts a sign-in: the URL to send the browser to.
    pub async fn begin(&self, call: &Call<'_>, request: BeginRequest) -> Result<String, CallError> {
        let settings = call.settings.to_vec();
        let req = plugin::BeginRequest {
            state: request.state,
            nonce: request.nonce,
            pkce_challenge: request.pkce_challenge,
            redirect_uri: request.redirect_uri,
        };
        self.call_export(call, move |inst, store| {
            Box::pin(async move {
                inst.latchkey_connector_plugin()
                    .call_begin(store, &settings, &req)
                    .await
            })
        })
        .await
    }

    /// Finishes a sign-in from the callback: the identity the provider vouches for.
    pub async fn complete(
        &self,
        call: &Call<'_>,
        request: CompleteRequest,
    ) -> Result<Identity, CallError> {
        let settings = call.settings.to_vec();
        let req = plugin::CompleteRequest {
            query: request.query,
            pkce_verifier: request.pkce_verifier,
            nonce: request.nonce,
            redirect_uri: request.redirect_uri,
        };
        let id = self
            .call_export(call, move |inst, store| {
                Box::pin(async move {
                    inst.latchkey_connector_plugin()
                        .call_complete(store, &settings, &req)
                        .await
                })
            })
            .await?;
        checked_identity(id)
    }

    /// One page of the provider's directory; `cursor` is `None` for the first page.
    pub async fn directory_page(
        &self,
        call: &Call<'_>,
        cursor: Option<String>,
    ) -> Result<(Vec<Identity>, Option<String>), CallError> {
        let settings = call.settings.to_vec();
        let page = self
            .call_export(call, move |inst, store| {
                Box::pin(async move {
                    inst.latchkey_connector_plugin()
                        .call_directory_page(store, &settings, cursor.as_deref())
                        .await
                })
            })
            .await?;
        let mut identities = Vec::with_capacity(page.identities.len());
        for id in page.identities {
            identities.push(checked_identity(id)?);
        }
        Ok((identities, page.next_cursor))
    }

    /// At most `PER_CONNECTOR_CALLS` calls of one connector run at once.
    async fn permit(&self, connector: &str) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let sem = {
            let mut map = self.concurrency.lock().ok()?;
            map.entry(connector.to_string())
                .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(PER_CONNECTOR_CALLS)))
                .clone()
        };
        sem.acquire_owned().await.ok()
    }

    /// Asks a plugin to check an instance's settings.
    pub async fn validate_settings(
        &self,
        plugin_id: &str,
        connector: &str,
        settings: Vec<(String, String)>,
    ) -> Result<Result<(), Vec<(String, String)>>, CallError> {
        let loaded = self.loaded(plugin_id)?;
        let r = self
            .run(
                &loaded.pre,
                connector,
                egress::Policy::default(),
                move |inst, store| {
                    Box::pin(async move {
                        inst.latchkey_connector_plugin()
                            .call_validate_settings(store, &settings)
                            .await
                    })
                },
            )
            .await?;
        Ok(r.map_err(|errs| errs.into_iter().map(|e| (e.key, e.message)).collect()))
    }
}

fn wasmtime_version() -> &'static str {
    // The crate version is pinned in Cargo.toml; a bump changes the cache key.
    "48.0.8"
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect()
}

fn manifest_info(m: plugin::Manifest, sha: &str, source: &Source) -> Result<PluginInfo, String> {
    let id_ok = (2..=32).contains(&m.id.len())
        && m.id.starts_with(|c: char| c.is_ascii_lowercase())
        && m.id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !id_ok {
        return Err(format!("its id {:?} is not [a-z][a-z0-9-]{{1,31}}", m.id));
    }
    if m.api_version != API_VERSION {
        return Err(format!(
            "it was built for API {} but this host speaks {API_VERSION}",
            m.api_version
        ));
    }
    let settings = m
        .settings
        .into_iter()
        .map(|s| SettingSpec {
            key: s.key,
            label: s.label,
            kind: match s.kind {
                plugin::SettingKind::Text => SettingKind::Text,
                plugin::SettingKind::Secret => SettingKind::Secret,
                plugin::SettingKind::Url => SettingKind::Url,
                plugin::SettingKind::Bool => SettingKind::Bool,
            },
            required: s.required,
            default: s.default,
        })
        .collect();
    Ok(PluginInfo {
        id: m.id,
        name: m.name,
        version: m.version,
        api_version: m.api_version,
        sha256: sha.to_string(),
        source: source.clone(),
        settings,
        outbound_hosts: m.outbound_hosts,
    })
}
