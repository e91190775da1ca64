//! People: roles, what the UI shows of a user, and validation of new accounts.

use super::AppError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a person may do. Ordered: an admin can do everything an annotator can.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type))]
#[cfg_attr(
    feature = "ssr",
    sqlx(type_name = "user_role", rename_all = "lowercase")
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Annotator,
    /// Checks annotators' work; like an annotator, reaches only the projects they are a
    /// member of.
    Reviewer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Annotator => "annotator",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Self, AppError> {
        match s {
            "annotator" => Ok(Role::Annotator),
            "reviewer" => Ok(Role::Reviewer),
            "admin" => Ok(Role::Admin),
            other => Err(AppError::invalid(
                "role",
                format!(
                    "unknown role {other:?}; expected \"annotator\", \"reviewer\" or \"admin\""
                ),
            )),
        }
    }
}

/// A user as shown to the signed-in user and to admins. Never carries the password hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
}

pub const MIN_PASSWORD_LEN: usize = 10;
pub const MAX_PASSWORD_LEN: usize = 200;

/// A validated request to create an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
}

impl NewUser {
    /// Checks every field and returns the first problem, naming the field.
    pub fn parse(
        email: &str,
        display_name: &str,
        password: &str,
        role: Role,
    ) -> Result<Self, AppError> {
        let email = parse_email(email)?;
        let display_name = display_name.trim();
        if display_name.is_empty() {
            return Err(AppError::invalid("display_name", "must not be empty"));
        }
        if display_name.chars().count() > 100 {
            return Err(AppError::invalid(
                "display_name",
                "must be at most 100 characters",
            ));
        }
        validate_password(password)?;
        Ok(Self {
            email,
            display_name: display_name.to_owned(),
            password: password.to_owned(),
            role,
        })
    }
}

pub fn parse_email(email: &str) -> Result<String, AppError> {
    let email = email.trim();
    let valid_shape = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.contains(char::is_whitespace)
        }
        None => false,
    };
    if !valid_shape {
        return Err(AppError::invalid(
            "email",
            "must look like name@example.org",
        ));
    }
    if email.len() > 254 {
        return Err(AppError::invalid("email", "must be at most 254 characters"));
    }
    Ok(email.to_owned())
}

pub fn validate_password(password: &str) -> Result<(), AppError> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(AppError::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(AppError::invalid(
            "password",
            format!("must be at most {MAX_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_outranks_annotator() {
        assert!(Role::Admin > Role::Reviewer && Role::Reviewer > Role::Annotator);
    }

    #[test]
    fn role_round_trips_through_text() {
        for role in [Role::Annotator, Role::Reviewer, Role::Admin] {
            assert_eq!(Role::parse(role.as_str()).unwrap(), role);
        }
        assert_eq!(
            Role::parse("root").unwrap_err().field.as_deref(),
            Some("role")
        );
    }

    #[test]
    fn new_user_names_the_bad_field() {
        let bad = |e: &str, n: &str, p: &str| {
            NewUser::parse(e, n, p, Role::Annotator)
                .unwrap_err()
                .field
                .unwrap()
        };
        assert_eq!(bad("no-at-sign", "Ann", "long enough pw"), "email");
        assert_eq!(bad("a@b@c", "Ann", "long enough pw"), "email");
        assert_eq!(bad("a b@c.org", "Ann", "long enough pw"), "email");
        assert_eq!(
            bad("ann@example.org", "   ", "long enough pw"),
            "display_name"
        );
        assert_eq!(bad("ann@example.org", "Ann", "short"), "password");
    }

    #[test]
    fn new_user_trims_email_and_name() {
        let user =
            NewUser::parse(" ann@example.org ", " Ann ", "long enough pw", Role::Admin).unwrap();
        assert_eq!(user.email, "ann@example.org");
        assert_eq!(user.display_name, "Ann");
    }
}
