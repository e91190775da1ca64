//! Passwords (argon2id), login with throttling, and who a session belongs to.

use super::{Error, Result};
use crate::model::user::UserView;
use crate::server::config::LoginThrottle;
use crate::server::store::{login_failures, users};
use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use sqlx::PgPool;
use std::sync::LazyLock;
use uuid::Uuid;

/// Hashes with argon2id (the `argon2` crate's default algorithm and parameters) on a
/// blocking thread: a hash takes tens of milliseconds of CPU.
pub async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .context("password hashing task")?
    .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))?;
    Ok(hash)
}

async fn verify_password(password: &str, hash: &str) -> Result<bool> {
    let (password, hash) = (password.to_owned(), hash.to_owned());
    let ok = tokio::task::spawn_blocking(move || {
        let parsed =
            PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("stored hash unreadable: {e}"))?;
        Ok::<_, anyhow::Error>(
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
        )
    })
    .await
    .context("password verification task")??;
    Ok(ok)
}

/// Verified against when the email is unknown, so that a wrong email takes as long as a
/// wrong password and does not reveal which accounts exist.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(b"not a real password", &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Checks an email and password. Refuses further attempts once an account has had
/// `max_failures` failures within the window.
pub async fn login(
    pool: &PgPool,
    throttle: LoginThrottle,
    email: &str,
    password: &str,
) -> Result<UserView> {
    let email = email.trim();
    let window = i32::try_from(throttle.window_secs).unwrap_or(i32::MAX);
    let (failures, retry_after) = login_failures::recent(pool, email, window).await?;
    if failures >= i64::from(throttle.max_failures) {
        return Err(Error::TooManyRequests {
            retry_after_secs: retry_after.max(1).unsigned_abs(),
        });
    }

    let credentials = users::find_credentials(pool, email).await?;
    let hash = credentials
        .as_ref()
        .map_or(DUMMY_HASH.as_str(), |c| c.password_hash.as_str());
    let password_ok = verify_password(password, hash).await?;
    match credentials {
        Some(c) if password_ok => {
            if c.disabled {
                return Err(Error::Forbidden);
            }
            login_failures::clear(pool, email).await?;
            users::find(pool, c.user_id)
                .await?
                .ok_or(Error::Unauthenticated)
        }
        _ => {
            login_failures::record(pool, email).await?;
            tracing::info!("failed login");
            Err(Error::Unauthenticated)
        }
    }
}

/// The user a session points at, unless that account is gone or disabled, or its sessions
/// were ended after this one began (`epoch`: the one it was signed in at).
pub async fn session_user(pool: &PgPool, user_id: Uuid, epoch: i32) -> Result<Option<UserView>> {
    Ok(users::find_for_session(pool, user_id)
        .await?
        .filter(|(user, current)| !user.disabled && *current == epoch)
        .map(|(user, _)| user))
}

/// The epoch a session signed in now must carry.
pub async fn session_epoch(pool: &PgPool, user_id: Uuid) -> Result<i32> {
    users::find_for_session(pool, user_id)
        .await?
        .map(|(_, epoch)| epoch)
        .ok_or(Error::Unauthenticated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let a = hash_password("correct horse battery").await.unwrap();
        let b = hash_password("correct horse battery").await.unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password("correct horse battery", &a).await.unwrap());
        assert!(!verify_password("correct horse battery!", &a).await.unwrap());
    }
}
