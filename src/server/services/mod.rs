//! The use cases. Every permission check lives here: server functions, REST handlers and
//! the CLI all come through these functions.

pub mod auth;
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
