//! The typed session: which user a browser session belongs to.

use crate::model::user::UserView;
use crate::server::services::auth;
use crate::server::{Error, Result};
use sqlx::PgPool;
use tower_sessions::Session;
use uuid::Uuid;

const USER_ID: &str = "user_id";
/// The user's session epoch at sign-in (sessions from before epochs count as 0).
const EPOCH: &str = "epoch";

/// The session store is PostgreSQL: when it fails, the database is out of reach.
fn session_error(e: tower_sessions::session::Error) -> Error {
    match e {
        tower_sessions::session::Error::Store(e) => {
            Error::Unavailable(format!("session store: {e}"))
        }
        other => Error::Internal(anyhow::anyhow!("session store: {other}")),
    }
}

/// The signed-in user, if the session has one whose account is still enabled.
pub async fn current_user(pool: &PgPool, session: &Session) -> Result<Option<UserView>> {
    let Some(user_id) = session.get::<Uuid>(USER_ID).await.map_err(session_error)? else {
        return Ok(None);
    };
    let epoch = session.get::<i32>(EPOCH).await.map_err(session_error)?;
    let user = auth::session_user(pool, user_id, epoch.unwrap_or(0)).await?;
    if user.is_none() {
        session.flush().await.map_err(session_error)?;
    }
    Ok(user)
}

/// The signed-in user as an actor for services; 401 without one.
pub async fn actor(pool: &PgPool, session: &Session) -> Result<crate::server::services::Actor> {
    let user = current_user(pool, session)
        .await?
        .ok_or(Error::Unauthenticated)?;
    Ok(crate::server::services::Actor::from(&user))
}

/// Binds the session to a user under a fresh session id (no fixation), for `days`, at the
/// user's current session epoch.
/// The expiry is fixed at sign-in: a sliding one would rewrite the session on every request.
pub async fn sign_in(pool: &PgPool, session: &Session, user_id: Uuid, days: i64) -> Result<()> {
    let epoch = auth::session_epoch(pool, user_id).await?;
    session.cycle_id().await.map_err(session_error)?;
    let until = time::OffsetDateTime::now_utc() + time::Duration::days(days);
    session.set_expiry(Some(tower_sessions::Expiry::AtDateTime(until)));
    session
        .insert(USER_ID, user_id)
        .await
        .map_err(session_error)?;
    session.insert(EPOCH, epoch).await.map_err(session_error)
}

pub async fn sign_out(session: &Session) -> Result<()> {
    session.flush().await.map_err(session_error)
}
