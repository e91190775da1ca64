//! The use cases. Every permission check lives here: server functions, REST handlers and
//! the CLI all come through these functions.

pub mod assist;
pub mod audit;
pub mod auth;
pub mod dashboard;
pub mod datasets;
pub mod export;
pub mod feedback;
pub mod form;
pub mod gold;
pub mod import;
pub mod items;
pub mod labeling;
pub mod leaderboard;
pub mod members;
pub mod projects;
pub mod quality;
pub mod review;
pub mod tokens;
pub mod users;

use super::{Error, Result};
use crate::model::api::Scope;
use crate::model::user::{Role, UserView};
use uuid::Uuid;

/// On whose behalf a service runs: a signed-in person, the CLI operator, or a program
/// holding an API token (then `grant` says what the token allows).
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Uuid,
    pub role: Role,
    pub grant: Option<Grant>,
}

/// What an API token allows.
#[derive(Clone, Debug)]
pub struct Grant {
    pub token_id: Uuid,
    pub scopes: Vec<Scope>,
    /// The one project the token reaches, if it is limited to one.
    pub project_id: Option<Uuid>,
}

impl Actor {
    /// The operator at the command line: whoever can run `verdict` against the database
    /// already has it all, so the CLI acts as an admin with no account.
    pub fn cli() -> Self {
        Self {
            user_id: Uuid::nil(),
            role: Role::Admin,
            grant: None,
        }
    }

    /// Refuses unless the actor is a person (or the CLI) with at least `role`. API tokens
    /// never pass: they reach only what [`Actor::require_scope`] lets through.
    pub fn require(&self, role: Role) -> Result<()> {
        if self.grant.is_none() && self.role >= role {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
}

impl From<&UserView> for Actor {
    fn from(user: &UserView) -> Self {
        Self {
            user_id: user.user_id,
            role: user.role,
            grant: None,
        }
    }
}

impl Actor {
    /// Refuses unless the actor may do what `scope` names: a token needs the scope, a
    /// person needs to be an admin. The project check comes after, in
    /// [`projects::authorize`], so that a limited token learns nothing about other projects.
    pub fn require_scope(&self, scope: Scope) -> Result<()> {
        self.require_any_scope(&[scope])
    }

    pub fn require_any_scope(&self, scopes: &[Scope]) -> Result<()> {
        match &self.grant {
            None => self.require(Role::Admin),
            Some(grant) if scopes.iter().any(|s| grant.scopes.contains(s)) => Ok(()),
            Some(_) => Err(Error::Forbidden),
        }
    }
}
