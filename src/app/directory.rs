//! Directory import (`latchkey import ID`, the admin console's button): every person in
//! a connector's directory becomes, or stays, an account bound automatically to that
//! connector. The whole directory is read first, then applied in one transaction, so a
//! failed page changes nothing. Running it twice creates nothing new; changed display
//! names are updated. A dry run applies everything and rolls it back.

use std::collections::HashSet;

use super::federation::{Settled, clean_display, link_or_create};
use super::{Actor, App, audit};
use crate::config::ConnectorConfig;
use crate::error::Error;
use crate::plugins::{CallError, FailureKind, Identity};
use crate::store;

/// More pages than any real directory has: a connector that never ends is broken.
const MAX_PAGES: usize = 100_000;
const MAX_PEOPLE: usize = 1_000_000;

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Default, Clone)]
pub struct ImportReport {
    /// People in the directory (each counted once).
    pub people: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// People skipped because the account `match_by` found cannot take them.
    pub conflicts: Vec<String>,
    /// People skipped because writing them failed.
    pub errors: Vec<String>,
    pub dry_run: bool,
}

impl ImportReport {
    /// One line for the CLI, the log and the audit trail.
    pub fn summary(&self) -> String {
        format!(
            "{} people: {} created, {} updated, {} unchanged, {} conflicts, {} errors{}",
            self.people,
            self.created,
            self.updated,
            self.unchanged,
            self.conflicts.len(),
            self.errors.len(),
            if self.dry_run {
                " (dry run: nothing was written)"
            } else {
                ""
            }
        )
    }
}

/// Where an import is, for a progress display.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// Reading the directory: pages read and people found so far.
    Reading { pages: usize, people: usize },
    /// Writing accounts: people done out of all.
    Applying { done: usize, total: usize },
}

/// What became of one person.
enum Outcome {
    Created,
    Updated,
    Unchanged,
    Conflict(String),
}

fn directory_failure(connector: &str, e: CallError) -> Error {
    // info: the CLI (which logs warnings only) keeps its one-line error contract.
    tracing::info!(connector = %connector, detail = %e.detail, "directory read failed");
    match e.kind {
        FailureKind::Unsupported => Error::Refused(format!(
            "connector {connector} has no directory to import from"
        )),
        FailureKind::Failed => Error::Internal(format!(
            "reading the directory of {connector} failed: {}",
            e.message
        )),
        FailureKind::Refused | FailureKind::Cancelled => Error::Refused(format!(
            "the directory of {connector} refused: {}",
            e.message
        )),
    }
}

/// The person as the report names them: display name and subject.
fn who(identity: &Identity) -> String {
    match identity.display_name.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => format!("{d} ({})", identity.subject),
        None => identity.subject.clone(),
    }
}

impl App {
    /// Imports connector `id`'s directory. `progress` is told how far it got.
    pub async fn import_directory(
        &self,
        actor: &Actor,
        id: &str,
        dry_run: bool,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<ImportReport, Error> {
        let c = self
            .connector_config(id)
            .ok_or_else(|| Error::NotFound(format!("connector {id}")))?;
        let plugins = self.loaded_plugins()?;
        if plugins.get(&c.plugin).is_none() {
            return Err(Error::Refused(format!(
                "connector {id} is disabled: its plugin {:?} is missing or broken",
                c.plugin
            )));
        }
        let settings = Self::instance_settings(&c);
        let call = self.call(&c, &settings);
        let mut people: Vec<Identity> = Vec::new();
        let mut seen = HashSet::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let (page, next) = plugins
                .directory_page(&call, cursor.clone())
                .await
                .map_err(|e| directory_failure(id, e))?;
            pages += 1;
            people.extend(page.into_iter().filter(|p| seen.insert(p.subject.clone())));
            progress(Progress::Reading {
                pages,
                people: people.len(),
            });
            match next {
                None => break,
                Some(n) if cursor.as_deref() == Some(n.as_str()) => {
                    return Err(Error::Internal(format!(
                        "connector {id} returned the same directory page cursor twice"
                    )));
                }
                Some(n) => cursor = Some(n),
            }
            if pages >= MAX_PAGES || people.len() > MAX_PEOPLE {
                return Err(Error::Internal(format!(
                    "connector {id}'s directory did not end after {pages} pages"
                )));
            }
        }
        let region = self.config.phone_region.clone();
        let apply = |tx: &rusqlite::Transaction| -> Result<ImportReport, Error> {
            let mut report = ImportReport {
                people: people.len(),
                dry_run,
                ..ImportReport::default()
            };
            for (done, person) in people.iter().enumerate() {
                match settle_person(tx, actor, &c, person, &region) {
                    Ok(Outcome::Created) => report.created += 1,
                    Ok(Outcome::Updated) => report.updated += 1,
                    Ok(Outcome::Unchanged) => report.unchanged += 1,
                    Ok(Outcome::Conflict(why)) => {
                        report.conflicts.push(format!("{}: {why}", who(person)))
                    }
                    Err(e) => report.errors.push(format!("{}: {e}", who(person))),
                }
                progress(Progress::Applying {
                    done: done + 1,
                    total: people.len(),
                });
            }
            audit(
                tx,
                actor,
                "directory.import",
                None,
                &format!("{id}: {}", report.summary()),
            )?;
            Ok(report)
        };
        let report = if dry_run {
            self.store.trial(apply)?
        } else {
            self.store.write(apply)?
        };
        tracing::info!(connector = %id, "directory import: {}", report.summary());
        Ok(report)
    }
}

/// Settles one person in a savepoint: all of their rows land, or none do.
fn settle_person(
    tx: &rusqlite::Transaction,
    actor: &Actor,
    c: &ConnectorConfig,
    person: &Identity,
    region: &str,
) -> Result<Outcome, Error> {
    tx.execute_batch("SAVEPOINT person")
        .map_err(store::StoreError::from)?;
    let out = settle(tx, actor, c, person, region);
    let end = match (
        &out,
        out.as_ref().map(|o| matches!(o, Outcome::Conflict(_))),
    ) {
        (Ok(_), Ok(false)) => "RELEASE person",
        _ => "ROLLBACK TO person; RELEASE person",
    };
    tx.execute_batch(end).map_err(store::StoreError::from)?;
    out
}

fn settle(
    tx: &rusqlite::Transaction,
    actor: &Actor,
    c: &ConnectorConfig,
    person: &Identity,
    region: &str,
) -> Result<Outcome, Error> {
    let Some(b) = store::bindings::by_subject(tx, &c.id, &person.subject)? else {
        return Ok(
            match link_or_create(tx, actor, c, person, region, "account.import")? {
                Settled::Created(_) => Outcome::Created,
                Settled::Linked(_) => Outcome::Updated,
                Settled::Conflict(why) => Outcome::Conflict(why),
            },
        );
    };
    // Known: bring the names up to date. Account names belong to their users.
    let account = store::accounts::require(tx, b.account_id)?;
    let display = clean_display(person);
    if display.is_empty() || (display == account.display_name && display == b.display) {
        return Ok(Outcome::Unchanged);
    }
    store::accounts::set_names(tx, account.id, account.account_name.as_deref(), &display)?;
    store::bindings::set_display(tx, b.id, &display)?;
    audit(
        tx,
        actor,
        "account.import_update",
        Some((account.id, &account.label())),
        &format!("{}: display name", c.id),
    )?;
    Ok(Outcome::Updated)
}
