//! The command line (INTERFACE.md). Errors: one line on stderr; exit 2 for bad input or
//! refused requests, 1 for internal failures.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::app::accounts::NewAccountInput;
use crate::app::{Actor, App};
use crate::config::Config;
use crate::domain::fields::{FieldKind, FieldSpec, UserAccess};
use crate::domain::settings::SETTINGS;
use crate::error::Error;
use crate::store;

/// `println!` that tolerates a closed stdout (`latchkey user list | head`): the reader
/// has gone, so there is nobody left to tell.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

#[derive(Debug, Parser)]
#[command(name = "latchkey", version, about = "Self-hosted identity portal")]
pub struct Cli {
    /// Configuration file (default: config/latchkey.toml, if present)
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run migrations, then serve the portal
    Serve,
    /// Apply pending database migrations and exit
    Migrate,
    /// Manage accounts
    #[command(subcommand)]
    User(UserCommand),
    /// Field Management (custom account fields)
    #[command(subcommand)]
    Field(FieldCommand),
    /// Read or change settings
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Write a consistent copy of the database to FILE (safe while serving)
    Backup { file: PathBuf },
    /// Connector plugins
    #[command(subcommand)]
    Connector(ConnectorCommand),
    /// Import the people in a connector's directory as accounts bound to it
    Import {
        /// The connector instance's id (as in [[connectors]] or the admin console)
        connector: String,
        /// Show what would change without writing anything
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConnectorCommand {
    /// List the plugins found (built-in and in plugins_dir), broken ones with the reason
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a local account; the password is read from standard input
    Add(UserAdd),
    /// List accounts
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one account (by account name, verified email or mobile)
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct UserAdd {
    pub name: String,
    #[arg(long)]
    pub display_name: Option<String>,
    /// Counts as verified: the admin vouches for it
    #[arg(long)]
    pub email: Option<String>,
    /// Counts as verified: the admin vouches for it
    #[arg(long)]
    pub mobile: Option<String>,
    #[arg(long)]
    pub admin: bool,
    /// Read the password from standard input (required)
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum FieldCommand {
    /// Define a custom field
    Add(FieldAdd),
}

#[derive(Debug, Args)]
pub struct FieldAdd {
    pub key: String,
    #[arg(long)]
    pub label: String,
    /// text, number, date, email, url, choice or bool
    #[arg(long = "type", value_name = "TYPE")]
    pub kind: String,
    #[arg(long)]
    pub required: bool,
    #[arg(long)]
    pub unique: bool,
    /// invisible, visible (read-only) or editable
    #[arg(long, default_value = "visible")]
    pub user_access: String,
    #[arg(long)]
    pub pattern: Option<String>,
    /// An allowed value of a choice field (repeat for each)
    #[arg(long = "option", value_name = "VALUE")]
    pub options: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Print one setting, or all as KEY = VALUE lines
    Get { key: Option<String> },
    /// Change a setting
    Set { key: String, value: String },
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// Help and version go to stdout (exit 0); any other usage error is one line on stderr
/// with exit code 2, as every other refusal.
pub fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid command line");
    let first = first.trim_start_matches("error: ").trim();
    eprintln!("latchkey: {first} (see latchkey --help)");
    ExitCode::from(2)
}

/// Runs a parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let serving = matches!(cli.command, Command::Serve);
    init_logging(if serving { "info" } else { "warn" });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("latchkey: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let line = e.to_string().replace('\n', " ");
            eprintln!("latchkey: {line}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

async fn dispatch(cli: Cli) -> Result<(), Error> {
    let config = Config::load(cli.config.as_deref())?;
    match cli.command {
        Command::Serve => {
            let app = App::open(config)?;
            crate::web::serve(app).await
        }
        Command::Migrate => {
            let s = store::Store::open(&config.database_path())
                .map_err(|e| Error::Internal(e.to_string()))?;
            let n = s.migrate().map_err(|e| Error::Internal(e.to_string()))?;
            say!("{n} migration(s) applied; the database is up to date");
            Ok(())
        }
        Command::User(cmd) => user(App::open(config)?, cmd).await,
        Command::Field(FieldCommand::Add(f)) => field_add(&App::open(config)?, f),
        Command::Settings(cmd) => settings(&App::open(config)?, cmd),
        Command::Connector(ConnectorCommand::List { json }) => connector_list(&config, json).await,
        Command::Import { connector, dry_run } => import(config, &connector, dry_run).await,
        Command::Backup { file } => {
            let app = App::open(config)?;
            app.store
                .backup(&file)
                .map_err(|e| Error::Invalid(e.to_string()))?;
            say!("backup written to {}", file.display());
            Ok(())
        }
    }
}

fn read_password_stdin() -> Result<String, Error> {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).map_err(|e| {
        Error::Invalid(format!("cannot read the password from standard input: {e}"))
    })?;
    // Only the line ending the shell adds is removed; every other character counts.
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    if s.is_empty() {
        return Err(Error::Invalid("no password on standard input".into()));
    }
    Ok(s)
}

fn account_json(a: &crate::domain::account::Account) -> serde_json::Value {
    json!({
        "account_name": a.account_name,
        "display_name": a.display_name,
        "email": a.email,
        "mobile": a.mobile,
        "admin": a.is_admin,
        "disabled": a.disabled,
    })
}

async fn user(app: App, cmd: UserCommand) -> Result<(), Error> {
    match cmd {
        UserCommand::Add(u) => {
            let password = read_password_stdin()?;
            let input = NewAccountInput {
                account_name: u.name,
                display_name: u.display_name.unwrap_or_default(),
                email: u.email.unwrap_or_default(),
                mobile: u.mobile.unwrap_or_default(),
                is_admin: u.admin,
                password,
            };
            app.create_account(&Actor::cli(), &input).await?;
            say!("account {} created", input.account_name.trim());
            // The first admin made here retires the browser setup link.
            app.setup_link()?;
            Ok(())
        }
        UserCommand::List { json } => {
            let accounts = app.store.read(store::accounts::all)?;
            if json {
                let v: Vec<_> = accounts.iter().map(account_json).collect();
                say!("{}", serde_json::Value::Array(v));
            } else {
                for a in &accounts {
                    say!(
                        "{:<24} {:<24} {:<28} {:<16} {}{}",
                        a.account_name.as_deref().unwrap_or("(none)"),
                        a.display_name,
                        a.email.as_deref().unwrap_or("-"),
                        a.mobile.as_deref().unwrap_or("-"),
                        if a.is_admin { "admin" } else { "user" },
                        if a.disabled { " disabled" } else { "" }
                    );
                }
            }
            Ok(())
        }
        UserCommand::Show { name, json } => {
            let a = app
                .find_account(&name)?
                .ok_or_else(|| Error::NotFound(format!("no account {name:?}")))?;
            let fields = app.field_values(a.id, true)?;
            let sessions = app
                .store
                .read(|c| store::sessions::count_for_account(c, a.id))?;
            if json {
                let mut v = account_json(&a);
                let map: serde_json::Map<String, serde_json::Value> = fields
                    .iter()
                    .filter_map(|(d, v)| v.as_ref().map(|v| (d.spec.key.clone(), json!(v))))
                    .collect();
                v["fields"] = serde_json::Value::Object(map);
                let bindings: Vec<serde_json::Value> = app
                    .bindings_of(a.id)?
                    .iter()
                    .map(|b| json!({"connector": b.connector_id, "subject": b.subject, "kind": b.kind.as_str()}))
                    .collect();
                v["bindings"] = json!(bindings);
                let mut factors = Vec::new();
                if app.otp_bound(a.id)? {
                    factors.push("otp");
                }
                if !app.passkeys(a.id)?.is_empty() {
                    factors.push("passkey");
                }
                if a.mobile.is_some() {
                    factors.push("sms");
                }
                if a.email.is_some() {
                    factors.push("email");
                }
                v["factors"] = json!(factors);
                v["recovery_codes"] = json!(app.factors(&a)?.recovery_codes_left);
                v["sessions"] = json!(sessions);
                say!("{v}");
            } else {
                say!(
                    "account name:  {}",
                    a.account_name.as_deref().unwrap_or("(none)")
                );
                say!("display name:  {}", a.display_name);
                say!("email:         {}", a.email.as_deref().unwrap_or("-"));
                say!("mobile:        {}", a.mobile.as_deref().unwrap_or("-"));
                say!("admin:         {}", a.is_admin);
                say!("disabled:      {}", a.disabled);
                say!("sessions:      {sessions}");
                for (d, v) in fields {
                    say!("field {}: {}", d.spec.key, v.as_deref().unwrap_or("-"));
                }
            }
            Ok(())
        }
    }
}

fn field_add(app: &App, f: FieldAdd) -> Result<(), Error> {
    let kind = FieldKind::parse(&f.kind).ok_or_else(|| {
        Error::Invalid(format!(
            "--type {:?} is not one of text, number, date, email, url, choice, bool",
            f.kind
        ))
    })?;
    let user_access = UserAccess::parse(&f.user_access).ok_or_else(|| {
        Error::Invalid(format!(
            "--user-access {:?} is not one of invisible, visible, editable",
            f.user_access
        ))
    })?;
    let spec = FieldSpec {
        key: f.key,
        label: f.label,
        kind,
        required: f.required,
        unique: f.unique,
        user_access,
        pattern: f.pattern,
        options: f.options,
    };
    let key = spec.key.clone();
    app.add_field(&Actor::cli(), spec)?;
    say!("field {} added", key.trim());
    Ok(())
}

fn settings(app: &App, cmd: SettingsCommand) -> Result<(), Error> {
    match cmd {
        SettingsCommand::Get { key: Some(key) } => {
            let s = app.settings()?;
            let v = s
                .get(&key)
                .ok_or_else(|| Error::Invalid(format!("unknown setting {key:?}")))?;
            say!("{v}");
        }
        SettingsCommand::Get { key: None } => {
            let s = app.settings()?;
            for def in SETTINGS {
                say!("{} = {}", def.key, s.get(def.key).unwrap_or(def.default));
            }
        }
        SettingsCommand::Set { key, value } => {
            let v = app.set_setting(&Actor::cli(), &key, &value)?;
            say!("{key} = {v}");
        }
    }
    Ok(())
}

async fn connector_list(config: &Config, json: bool) -> Result<(), Error> {
    let plugins = crate::plugins::Plugins::load(&config.plugins_dir, &config.plugin_cache_dir())
        .await
        .map_err(Error::Internal)?;
    if json {
        let mut v: Vec<serde_json::Value> = plugins
            .list()
            .iter()
            .map(|p| {
                json!({
                    "id": p.id,
                    "name": p.name,
                    "version": p.version,
                    "api_version": p.api_version,
                    "sha256": p.sha256,
                    "source": p.source.to_string(),
                    "status": "ok",
                })
            })
            .collect();
        v.extend(plugins.broken().iter().map(|b| {
            json!({
                "id": null,
                "source": b.source.to_string(),
                "sha256": b.sha256,
                "status": "broken",
                "error": b.reason,
            })
        }));
        say!("{}", serde_json::Value::Array(v));
    } else {
        for p in plugins.list() {
            say!(
                "{:<12} {:<10} api {:<6} {}  {} ({})",
                p.id,
                p.version,
                p.api_version,
                &p.sha256[..16],
                p.name,
                p.source
            );
        }
        for b in plugins.broken() {
            say!("BROKEN       {}: {}", b.source, b.reason);
        }
    }
    Ok(())
}

async fn import(config: Config, connector: &str, dry_run: bool) -> Result<(), Error> {
    use crate::app::directory::Progress;
    use indicatif::{ProgressBar, ProgressStyle};
    let mut app = App::open(config)?;
    let plugins =
        crate::plugins::Plugins::load(&app.config.plugins_dir, &app.config.plugin_cache_dir())
            .await
            .map_err(Error::Internal)?;
    app.plugins = Some(plugins);
    // Drawn on stderr, and only on a terminal (indicatif hides it otherwise).
    let bar = ProgressBar::new_spinner();
    let applying = std::sync::atomic::AtomicBool::new(false);
    let progress = |p: Progress| match p {
        Progress::Reading { pages, people } => {
            bar.set_message(format!(
                "reading the directory: {pages} pages, {people} people"
            ));
            bar.tick();
        }
        Progress::Applying { done, total } => {
            if !applying.swap(true, std::sync::atomic::Ordering::Relaxed) {
                bar.set_length(total as u64);
                bar.set_style(
                    ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.set_message("accounts");
            }
            bar.set_position(done as u64);
        }
    };
    let result = app
        .import_directory(&Actor::cli(), connector, dry_run, &progress)
        .await;
    bar.finish_and_clear();
    let report = result?;
    for c in &report.conflicts {
        say!("conflict: {c}");
    }
    for e in &report.errors {
        say!("error: {e}");
    }
    say!("{connector}: {}", report.summary());
    if report.errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Internal(format!(
            "{} people could not be imported",
            report.errors.len()
        )))
    }
}
