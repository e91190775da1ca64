//! The use cases. Every permission check lives here: server functions, REST handlers and
//! the CLI all come through these functions.

pub mod auth;
pub mod export;
pub mod import;
pub mod items;
pub mod labeling;
pub mod projects;
pub mod users;

use super::{Error, Result};
use crate::model::user::{Role, UserView};
use uuid::Uuid;

/// The signed-in person on whose behalf a service runs.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Uuid,
    pub role: Role,
}

impl Actor {
    /// The operator at the command line: whoever can run `verdict` against the database
    /// already has it all, so the CLI acts as an admin with no account.
    pub fn cli() -> Self {
        Self {
            user_id: Uuid::nil(),
            role: Role::Admin,
        }
    }

    /// Refuses unless the actor has at least `role`.
    pub fn require(&self, role: Role) -> Result<()> {
        if self.role >= role {
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
        }
    }
}
