//! The command line: `verdict [serve]`, `migrate`, `user …`.

use super::config::{DbConfig, ServeConfig};
use super::services::users;
use super::{db, startup};
use crate::model::user::{NewUser, Role};
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "verdict",
    version,
    about = "Human feedback on language-model answers, turned into training data"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(flatten)]
    pub db: DbConfig,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `verdict` alone serves, with these settings.
    #[command(flatten)]
    pub serve: ServeConfig,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the web application (the default).
    Serve(ServeConfig),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account. Prints the password when it was generated.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role, default_value = "annotator")]
        role: Role,
        /// The password; without it a random one is generated and printed.
        #[arg(long, env = "VERDICT_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// List accounts.
    List,
    /// Set a new password. Prints it when it was generated.
    SetPassword {
        #[arg(long)]
        email: String,
        #[arg(long, env = "VERDICT_NEW_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).map_err(|e| e.message)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => startup::serve(&cli.db, &cli.serve).await,
        Some(Command::Serve(serve)) => startup::serve(&cli.db, &serve).await,
        Some(Command::Migrate) => {
            let database = db::open(&cli.db).await?;
            db::migrate(&database.pool).await?;
            println!("migrations applied");
            Ok(())
        }
        Some(Command::User(command)) => {
            let database = db::open(&cli.db).await?;
            db::migrate(&database.pool).await?;
            user_command(&database.pool, command).await
        }
    }
}

async fn user_command(pool: &sqlx::PgPool, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            email,
            name,
            role,
            password,
        } => {
            let generated = password.is_none();
            let password = password.unwrap_or_else(users::random_password);
            let new = NewUser::parse(&email, &name, &password, role)?;
            let user = users::create_account(pool, new)
                .await
                .map_err(user_facing)?;
            println!(
                "created {} ({}) as {}",
                user.email,
                user.display_name,
                user.role.as_str()
            );
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::List => {
            for user in users::list_accounts(pool).await? {
                let status = if user.disabled { "disabled" } else { "active" };
                println!(
                    "{:<40} {:<10} {:<9} {}",
                    user.email,
                    user.role.as_str(),
                    status,
                    user.display_name
                );
            }
        }
        UserCommand::SetPassword { email, password } => {
            let generated = password.is_none();
            let password = password.unwrap_or_else(users::random_password);
            users::set_password(pool, &email, &password)
                .await
                .map_err(user_facing)?;
            println!("password changed for {email}");
            if generated {
                println!("password: {password}");
            }
        }
    }
    Ok(())
}

fn user_facing(e: crate::server::Error) -> anyhow::Error {
    anyhow::anyhow!("{}", e.to_app_error())
}
