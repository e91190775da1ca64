//! Dataset versions: who may make, list, read, download and compare them (admins, the CLI,
//! and API tokens with `export:read`), then the dataset subsystem does it.

use super::projects::authorize;
use super::{Actor, Result};
use crate::model::api::Scope;
use crate::server::dataset::ExportSpec;
use crate::server::dataset::version::{
    self, Creator, Diff, FileKind, MadeFile, Manifest, ProjectRef,
};
use crate::server::error::Error;
use crate::server::store::{datasets, users};
use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

/// A request to save an export spec as a version.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct NewVersion {
    /// Lower-case letters, digits, '.', '_', '-' (e.g. `sft-banking`).
    pub name: String,
    /// The version number; the next free one when left out. Taken numbers are refused.
    #[serde(default)]
    pub version: Option<i32>,
    /// The export spec as a query string, e.g. `format=dpo_pairs&test_fraction=0.1`.
    pub spec: String,
}

/// Saves `spec` as a new immutable version of `name` in the project.
pub async fn create(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    name: &str,
    number: Option<i32>,
    spec: &ExportSpec,
) -> Result<Manifest> {
    let project = authorize(pool, actor, slug, &[Scope::ExportRead]).await?;
    version::check_name(name)?;
    let number = match number {
        Some(n) if n < 1 => return Err(Error::invalid("version", "must be 1 or more")),
        Some(n) => {
            if datasets::find(pool, project.project_id, name, n)
                .await?
                .is_some()
            {
                return Err(Error::invalid(
                    "version",
                    format!("{name} v{n} exists already in this project"),
                ));
            }
            n
        }
        None => datasets::next_number(pool, project.project_id, name).await?,
    };
    let creator = creator(pool, actor).await?;
    let manifest = version::create(
        pool,
        ProjectRef {
            project_id: project.project_id,
            slug,
        },
        name,
        number,
        spec,
        &creator,
    )
    .await?;
    super::audit::record(
        pool,
        actor,
        "dataset.create",
        Some(project.project_id),
        Some(&format!("{name} v{number}")),
        None,
        super::audit::json(spec),
    )
    .await?;
    Ok(manifest)
}

async fn creator(pool: &PgPool, actor: &Actor) -> Result<Creator> {
    if let Some(grant) = &actor.grant {
        return Ok(Creator {
            user_id: None,
            label: format!("API token {}", grant.token_id),
        });
    }
    if actor.user_id.is_nil() {
        return Ok(Creator {
            user_id: None,
            label: "the command line".into(),
        });
    }
    let user = users::find(pool, actor.user_id)
        .await?
        .context("the acting user")?;
    Ok(Creator {
        user_id: Some(actor.user_id),
        label: user.email,
    })
}

/// A page of a project's versions, newest first.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VersionPage {
    pub versions: Vec<Manifest>,
    /// Pass as `after` for the next page; absent at the end.
    pub next_cursor: Option<String>,
}

pub const MAX_PAGE: i64 = 200;

/// The project's versions after `after` (a cursor from an earlier page).
pub async fn list(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    after: Option<&str>,
    limit: Option<i64>,
) -> Result<VersionPage> {
    let project = authorize(pool, actor, slug, &[Scope::ExportRead]).await?;
    let limit = limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Error::invalid("limit", format!("must be 1 to {MAX_PAGE}")));
    }
    let before = after.map(parse_cursor).transpose()?;
    let rows = datasets::list(pool, project.project_id, before, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(limit as usize)];
    let next_cursor = rows
        .last()
        .filter(|_| more)
        .map(|r| format!("{}_{}", r.created_at.timestamp_micros(), r.version_id));
    let versions = rows.iter().map(manifest).collect::<Result<Vec<_>>>()?;
    Ok(VersionPage {
        versions,
        next_cursor,
    })
}

fn parse_cursor(text: &str) -> Result<(DateTime<Utc>, Uuid)> {
    let bad = || Error::invalid("after", "is not a cursor of this list");
    let (micros, id) = text.split_once('_').ok_or_else(bad)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    Ok((at, id.parse().map_err(|_| bad())?))
}

fn manifest(row: &datasets::VersionRow) -> Result<Manifest> {
    Ok(serde_json::from_value(row.manifest.clone()).context("a version's manifest")?)
}

async fn find(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    name: &str,
    number: i32,
) -> Result<datasets::VersionRow> {
    let project = authorize(pool, actor, slug, &[Scope::ExportRead]).await?;
    datasets::find(pool, project.project_id, name, number)
        .await?
        .ok_or(Error::NotFound("dataset version"))
}

/// One version's manifest: spec, counts, lineage and files.
pub async fn show(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    name: &str,
    number: i32,
) -> Result<Manifest> {
    manifest(&find(pool, actor, slug, name, number).await?)
}

/// One of the version's files, made again from its members and checked against its
/// recorded SHA-256 before anything of it is served.
pub async fn download(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    name: &str,
    number: i32,
    kind: FileKind,
) -> Result<(Manifest, MadeFile)> {
    let row = find(pool, actor, slug, name, number).await?;
    version::remake(pool, &row, kind).await
}

/// Added, removed and changed records from version `from` to version `to`.
pub async fn diff(
    pool: &PgPool,
    actor: &Actor,
    slug: &str,
    from: (&str, i32),
    to: (&str, i32),
) -> Result<Diff> {
    let a = find(pool, actor, slug, from.0, from.1).await?;
    let b = find(pool, actor, slug, to.0, to.1).await?;
    version::diff(pool, &a, &b).await
}

/// Parses "name v3" or "name@3" or ("name", "3").
pub fn parse_label(label: &str) -> Option<(String, i32)> {
    let (name, number) = label.rsplit_once(" v").or_else(|| label.rsplit_once('@'))?;
    Some((
        name.to_owned(),
        number.trim_start_matches('v').parse().ok()?,
    ))
}
