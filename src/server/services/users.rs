//! Accounts: the admin's user management, the CLI's, and the first admin.

use super::{Actor, Result, audit, auth};
use crate::model::user::{NewUser, Role, UserView, validate_password};
use crate::server::error::{Error, ResultExt};
use crate::server::store::users;
use rand::Rng;
use rand::distributions::Alphanumeric;
use sqlx::PgPool;
use uuid::Uuid;

pub async fn list(pool: &PgPool, actor: &Actor) -> Result<Vec<UserView>> {
    actor.require(Role::Admin)?;
    Ok(users::list(pool).await?)
}

/// For the CLI, which has the database itself.
pub async fn list_accounts(pool: &PgPool) -> Result<Vec<UserView>> {
    Ok(users::list(pool).await?)
}

/// The admin's form: the permission is checked before the fields (a refusal says nothing
/// about them), then each field, named when it is wrong.
pub async fn create_from_form(
    pool: &PgPool,
    actor: &Actor,
    email: &str,
    display_name: &str,
    password: &str,
    role: &str,
) -> Result<UserView> {
    actor.require(Role::Admin)?;
    let new =
        Role::parse(role).and_then(|role| NewUser::parse(email, display_name, password, role))?;
    create_as(pool, actor, new).await
}

pub async fn create(pool: &PgPool, actor: &Actor, new: NewUser) -> Result<UserView> {
    actor.require(Role::Admin)?;
    create_as(pool, actor, new).await
}

/// Creates an account without a permission check: for the CLI (which has the database
/// itself) and for bootstrapping.
pub async fn create_account(pool: &PgPool, new: NewUser) -> Result<UserView> {
    create_as(pool, &Actor::cli(), new).await
}

async fn create_as(pool: &PgPool, actor: &Actor, new: NewUser) -> Result<UserView> {
    let hash = auth::hash_password(&new.password).await?;
    let mut tx = pool.begin().await?;
    let user = users::insert(&mut *tx, &new.email, &new.display_name, &hash, new.role)
        .await
        .on_constraint("users_email_key", || {
            Error::invalid("email", "an account with this email exists")
        })?;
    audit::record(
        &mut *tx,
        actor,
        "user.create",
        None,
        Some(&user.email),
        None,
        audit::json(serde_json::json!({ "role": user.role.as_str() })),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user.id = %user.user_id, user.role = user.role.as_str(), "account created");
    Ok(user)
}

pub async fn set_disabled(
    pool: &PgPool,
    actor: &Actor,
    user_id: Uuid,
    disabled: bool,
) -> Result<()> {
    actor.require(Role::Admin)?;
    if disabled && user_id == actor.user_id {
        return Err(Error::invalid(
            "user_id",
            "you cannot disable your own account",
        ));
    }
    let mut tx = pool.begin().await?;
    if !users::set_disabled(&mut *tx, user_id, disabled).await? {
        return Err(Error::NotFound("user"));
    }
    audit::record(
        &mut *tx,
        actor,
        if disabled {
            "user.disable"
        } else {
            "user.enable"
        },
        None,
        Some(&user_id.to_string()),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user.id = %user_id, disabled, "account status changed");
    Ok(())
}

/// Ends every session of the user, everywhere (an admin's action, or anyone's for
/// themselves: their own session ends too). A lost laptop, a shared computer.
pub async fn sign_out_everywhere(pool: &PgPool, actor: &Actor, user_id: Uuid) -> Result<()> {
    if user_id != actor.user_id {
        actor.require(Role::Admin)?;
    }
    let mut tx = pool.begin().await?;
    if !users::end_sessions(&mut *tx, user_id).await? {
        return Err(Error::NotFound("user"));
    }
    audit::record(
        &mut *tx,
        actor,
        "user.sign_out_everywhere",
        None,
        Some(&user_id.to_string()),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user.id = %user_id, "sessions ended");
    Ok(())
}

/// For the CLI: sets a new password for the account with this email, which ends its
/// sessions; recorded in the audit log (never the password).
pub async fn set_password(pool: &PgPool, actor: &Actor, email: &str, password: &str) -> Result<()> {
    validate_password(password)?;
    let hash = auth::hash_password(password).await?;
    let mut tx = pool.begin().await?;
    if !users::set_password_hash(&mut *tx, email, &hash).await? {
        return Err(Error::NotFound("user"));
    }
    audit::record(
        &mut *tx,
        actor,
        "user.set_password",
        None,
        Some(email),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Created credentials to show once: the plain password is never stored.
pub struct Created {
    pub user: UserView,
    pub password: String,
}

/// On an empty database, creates the first admin; `None` when users exist.
pub async fn ensure_first_admin(
    pool: &PgPool,
    email: &str,
    password: Option<&str>,
) -> Result<Option<Created>> {
    if users::count(pool).await? > 0 {
        return Ok(None);
    }
    let password = password.map_or_else(random_password, str::to_owned);
    let new = NewUser::parse(email, "Administrator", &password, Role::Admin)?;
    let user = create_account(pool, new).await?;
    Ok(Some(Created { user, password }))
}

/// Creates the account unless its email is taken; `None` when it exists.
pub async fn ensure_account(
    pool: &PgPool,
    email: &str,
    display_name: &str,
    password: Option<&str>,
    role: Role,
) -> Result<Option<Created>> {
    if users::find_credentials(pool, email).await?.is_some() {
        return Ok(None);
    }
    let password = password.map_or_else(random_password, str::to_owned);
    let user = create_account(pool, NewUser::parse(email, display_name, &password, role)?).await?;
    Ok(Some(Created { user, password }))
}

/// 20 random letters and digits (about 119 bits).
pub fn random_password() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect()
}
