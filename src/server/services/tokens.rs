//! API tokens: created by admins (browser or CLI), presented by model backends as
//! `Authorization: Bearer <secret>`. Only a SHA-256 hash of the secret is stored.

use super::{Actor, Grant, Result, audit};
use crate::model::api::{CreatedToken, NewToken, Scope, TokenView};
use crate::model::user::Role;
use crate::server::error::Error;
use crate::server::store::{projects, tokens};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

/// Every secret starts with this, so that leaked tokens are easy to search for.
pub const SECRET_PREFIX: &str = "vdt_";
/// Characters of the secret (after the prefix) shown in lists.
const SHOWN_CHARS: usize = 8;

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Scopes as stored (the table's CHECK admits only known ones).
fn scopes(names: &[String]) -> Vec<Scope> {
    names.iter().filter_map(|s| Scope::parse(s).ok()).collect()
}

fn view(row: tokens::TokenRow) -> TokenView {
    TokenView {
        token_id: row.token_id,
        name: row.name,
        prefix: row.prefix,
        scopes: scopes(&row.scopes),
        project: row.project,
        created_at: row.created_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    }
}

pub async fn create(pool: &PgPool, actor: &Actor, new: &NewToken) -> Result<CreatedToken> {
    actor.require(Role::Admin)?;
    new.validate()?;
    let project_id = match new
        .project
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(slug) => Some(
            projects::find_settings(pool, slug, None)
                .await?
                .ok_or_else(|| Error::invalid("project", format!("no project {slug:?}")))?
                .project_id,
        ),
        None => None,
    };
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let prefix = secret[..SECRET_PREFIX.len() + SHOWN_CHARS].to_owned();
    let mut scopes: Vec<Scope> = new.scopes.clone();
    scopes.sort();
    scopes.dedup();
    let names: Vec<String> = scopes.iter().map(|s| s.as_str().to_owned()).collect();
    let created_by = (!actor.user_id.is_nil()).then_some(actor.user_id);
    let mut tx = pool.begin().await?;
    let token_id = tokens::insert(
        &mut *tx,
        new.name.trim(),
        &prefix,
        &hash(&secret),
        &names,
        project_id,
        created_by,
    )
    .await?;
    let row = tokens::list(&mut *tx, Some(token_id)).await?.pop();
    let token = view(row.ok_or(Error::NotFound("token"))?);
    audit::record(
        &mut *tx,
        actor,
        "token.create",
        project_id,
        Some(&token_id.to_string()),
        None,
        audit::json(serde_json::json!({ "name": token.name, "scopes": names, "prefix": prefix })),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(token.id = %token_id, token.name = %token.name, "API token created");
    Ok(CreatedToken { token, secret })
}

pub async fn list(pool: &PgPool, actor: &Actor) -> Result<Vec<TokenView>> {
    actor.require(Role::Admin)?;
    Ok(tokens::list(pool, None)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

pub async fn revoke(pool: &PgPool, actor: &Actor, token_id: Uuid) -> Result<()> {
    actor.require(Role::Admin)?;
    let mut tx = pool.begin().await?;
    if !tokens::revoke(&mut *tx, token_id).await? {
        return Err(Error::NotFound("live token"));
    }
    audit::record(
        &mut *tx,
        actor,
        "token.revoke",
        None,
        Some(&token_id.to_string()),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(token.id = %token_id, "API token revoked");
    Ok(())
}

/// The actor for a request carrying `secret`: unknown and revoked tokens are refused with
/// 401, and a token over `per_minute` requests in its current minute with 429.
pub async fn authenticate(pool: &PgPool, secret: &str, per_minute: u32) -> Result<Actor> {
    if !secret.starts_with(SECRET_PREFIX) {
        return Err(Error::Unauthenticated);
    }
    let token = tokens::authenticate(pool, &hash(secret))
        .await?
        .ok_or(Error::Unauthenticated)?;
    if token.window_count > i32::try_from(per_minute).unwrap_or(i32::MAX) {
        return Err(Error::TooManyRequests {
            retry_after_secs: token.window_left_secs.ceil().max(1.0) as u64,
        });
    }
    Ok(Actor {
        // Work done through a token is attributed to the admin who created it.
        user_id: token.created_by.unwrap_or_else(Uuid::nil),
        role: Role::Annotator,
        grant: Some(Grant {
            token_id: token.token_id,
            scopes: scopes(&token.scopes),
            project_id: token.project_id,
        }),
    })
}
