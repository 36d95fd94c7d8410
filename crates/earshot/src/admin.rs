//! `earshot admin`: people and API tokens from the command line — above all the first
//! admin, before anyone can sign in to create the others.

use crate::cli::{settings, Global};
use anyhow::Context;
use clap::Subcommand;
use earshot_server::desk::people::{random_token, People, Role, Secret, UserRef};
use std::io::Read;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create a person who can sign in (the first one should be an admin).
    #[command(
        after_help = "Examples:\n  earshot admin create-user anna --role admin            # prints a generated password once\n  earshot admin create-user maria --name \"Maria Berg\" --role agent --password-file pw.txt\n  printf '%s' \"$PW\" | earshot admin create-user bo --password-stdin"
    )]
    CreateUser {
        /// Sign-in name: letters, digits, '.', '_', '-', '@'.
        username: String,
        /// Full name shown to colleagues.
        #[arg(long)]
        name: Option<String>,
        /// admin, agent or viewer.
        #[arg(long, default_value = "agent")]
        role: String,
        /// Read the password from standard input (trailing newline ignored).
        #[arg(long, conflicts_with = "password_file")]
        password_stdin: bool,
        /// Read the password from a file (trailing newline ignored).
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// List the people who can sign in.
    #[command(after_help = "Example:\n  earshot admin list-users --json")]
    ListUsers {
        /// Print the people as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create an API token for a person; it is printed once and stored only as a hash.
    #[command(
        after_help = "Examples:\n  earshot admin create-token --user maria --name nightly-export --scopes read\n  earshot admin create-token --user bot --name zapier --scopes read,reply,act\n\nUse it as: Authorization: Bearer es_…"
    )]
    CreateToken {
        /// The person the token acts as (its actions are audited under their name).
        #[arg(long)]
        user: String,
        /// What will use it.
        #[arg(long)]
        name: String,
        /// Comma-separated: read, reply, act.
        #[arg(long, default_value = "read")]
        scopes: String,
    },
    /// List API tokens (their first characters only) with their state.
    #[command(
        after_help = "Examples:\n  earshot admin list-tokens\n  earshot admin list-tokens --json"
    )]
    ListTokens {
        /// Print the tokens as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an API token by its id (see list-tokens); it stops working at once.
    #[command(after_help = "Example:\n  earshot admin revoke-token 3")]
    RevokeToken {
        /// The token's id, as list-tokens shows it.
        id: i64,
    },
}

/// People alone: `earshot admin` works before anything else is configured.
async fn people(g: &Global) -> anyhow::Result<People> {
    let s = settings(g)?;
    Ok(People::new(s.store.open(&s.db_url()).await?))
}

fn read_password(stdin: bool, file: Option<&PathBuf>) -> anyhow::Result<Option<Secret>> {
    let raw = if stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read the password from standard input")?;
        s
    } else if let Some(path) = file {
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the password file {}", path.display()))?
    } else {
        return Ok(None);
    };
    Ok(Some(Secret::new(raw.trim_end_matches(['\r', '\n']))))
}

pub async fn run(g: &Global, cmd: AdminCommand) -> anyhow::Result<()> {
    match cmd {
        AdminCommand::CreateUser {
            username,
            name,
            role,
            password_stdin,
            password_file,
        } => {
            let role: Role = role.parse()?;
            let given = read_password(password_stdin, password_file.as_ref())?;
            let generated = given.is_none();
            let password = given.unwrap_or_else(|| Secret::new(random_token(15)));
            let user = people(g)
                .await?
                .create(&username, name.as_deref().unwrap_or(""), role, &password)
                .await?;
            println!(
                "created {} ({}) as {}: they can sign in at /login",
                user.username, user.display_name, user.role
            );
            if generated {
                println!("password (shown once): {}", password.expose());
            }
            Ok(())
        }
        AdminCommand::ListUsers { json } => {
            let users = people(g).await?.list().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
                return Ok(());
            }
            if users.is_empty() {
                println!("nobody yet: earshot admin create-user NAME --role admin");
            }
            for u in users {
                println!(
                    "{:>4}  {:<20} {:<7} {}{}",
                    u.id,
                    u.username,
                    u.role.as_str(),
                    u.display_name,
                    if u.disabled_at.is_some() {
                        "  (disabled)"
                    } else {
                        ""
                    }
                );
            }
            Ok(())
        }
        AdminCommand::CreateToken { user, name, scopes } => {
            let (token, stored) = people(g)
                .await?
                .create_token(UserRef::Name(&user), &name, &scopes)
                .await
                .with_context(|| format!("no token for {user}: see earshot admin list-users"))?;
            println!(
                "token {} ({}) for {} with scopes {}",
                stored.id,
                stored.name,
                stored.username,
                stored.scopes.join(",")
            );
            println!("token (shown once): {}", token.expose());
            Ok(())
        }
        AdminCommand::ListTokens { json } => {
            let tokens = people(g).await?.tokens().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
                return Ok(());
            }
            for t in tokens {
                println!(
                    "{:>4}  {:<20} {:<12} {}…  {:<16} {}",
                    t.id,
                    t.name,
                    t.username,
                    t.prefix,
                    t.scopes.join(","),
                    match t.revoked_at {
                        Some(at) => format!("revoked {}", at.format("%Y-%m-%d %H:%M")),
                        None => "active".into(),
                    }
                );
            }
            Ok(())
        }
        AdminCommand::RevokeToken { id } => {
            let t = people(g).await?.revoke_token(id).await?;
            println!("token {} ({}, {}…) is revoked", t.id, t.name, t.prefix);
            Ok(())
        }
    }
}
