//! The `parindex` binary: serve the application, run a demo, migrate, manage users from the
//! shell, and verify the audit chain.

mod backup;
mod config;
mod demo;
mod index_set_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use parindex_domain::{NewPassword, Role, RoleGrant, Username};
use parindex_store::users::NewUser;
use parindex_store::{AuditActor, ChainReport, Store};

use config::ServeArgs;

#[derive(Parser)]
#[command(
    name = "parindex",
    version,
    about = "Đánh giá, xếp hạng Chỉ số cải cách hành chính (PAR Index)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the application (SQLite in ./data by default).
    Serve(ServeArgs),
    /// Serve a fresh demo province (labelled as demo), printing a password for every role.
    Demo(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(config::DbArgs),
    /// Manage accounts from the shell (e.g. the first administrator).
    #[command(subcommand)]
    User(UserCommand),
    /// Audit-log tools.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Index sets: validate, import, export, diff.
    #[command(subcommand, name = "index-set")]
    IndexSet(index_set_cmd::IndexSetCommand),
    /// Copy the database (SQLite, online) and then the evidence files into a new folder.
    Backup {
        #[command(flatten)]
        db: config::DbArgs,
        /// The folder to write (new or empty).
        dest: std::path::PathBuf,
    },
    /// Put a backup back (stop the server first); refuses a database holding data unless --force.
    Restore {
        #[command(flatten)]
        db: config::DbArgs,
        /// The backup folder written by `parindex backup`.
        src: std::path::PathBuf,
        /// Replace a database that already holds data.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account and print its one-time password (to be changed at first login).
    Create {
        #[command(flatten)]
        db: config::DbArgs,
        #[arg(long)]
        username: String,
        #[arg(long)]
        full_name: String,
        /// One of: system_admin, secretariat, unit_officer, unit_head, appraiser,
        /// council_member, external_provider, survey_operator, viewer.
        #[arg(long, default_value = "system_admin")]
        role: String,
        /// The unit code, for unit-scoped roles.
        #[arg(long)]
        unit: Option<String>,
    },
    /// Reset a password to a one-time one (to be changed at next login).
    ResetPassword {
        #[command(flatten)]
        db: config::DbArgs,
        username: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain; exits non-zero and names the first broken record if any.
    Verify(config::DbArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    config::init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("parindex: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("parindex: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<ExitCode, String> {
    match command {
        Command::Serve(args) => {
            config::serve(args, false).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            config::serve(args, true).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate(db) => {
            let (store, _) = db.open().await?;
            drop(store);
            println!("Migrations applied.");
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::Create {
            db,
            username,
            full_name,
            role,
            unit,
        }) => {
            let (store, _) = db.open().await?;
            create_user(&store, &username, &full_name, &role, unit.as_deref()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User(UserCommand::ResetPassword { db, username }) => {
            let (store, _) = db.open().await?;
            let (user, _) = store
                .user_for_login(&username.to_lowercase())
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no user named {username}"))?;
            let password = parindex_app::password::generate_password();
            let hash = parindex_app::password::hash(password.clone())
                .await
                .map_err(|e| e.to_string())?;
            let mut tx = store
                .begin_write(AuditActor::system("cli"))
                .await
                .map_err(|e| e.to_string())?;
            tx.set_password(user.id, &hash, true, None)
                .await
                .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
            println!(
                "One-time password for {}: {password}\n(it must be changed at the next login)",
                user.username
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::IndexSet(command) => index_set_cmd::run(command).await,
        Command::Backup { db, dest } => backup::backup(&db, &dest).await,
        Command::Restore { db, src, force } => backup::restore(&db, &src, force).await,
        Command::Audit(AuditCommand::Verify(db)) => {
            let (store, _) = db.open().await?;
            match store.audit_verify().await.map_err(|e| e.to_string())? {
                ChainReport::Intact { records } => {
                    println!("Audit chain intact: {records} records verified.");
                    Ok(ExitCode::SUCCESS)
                }
                ChainReport::Broken { seq, reason } => {
                    println!("AUDIT CHAIN BROKEN at record {seq}: {reason}");
                    Ok(ExitCode::from(2))
                }
            }
        }
    }
}

async fn create_user(
    store: &Store,
    username: &str,
    full_name: &str,
    role: &str,
    unit: Option<&str>,
) -> Result<(), String> {
    let username = Username::parse(username).map_err(|e| e.message)?;
    let role = Role::from_code(role).ok_or_else(|| format!("unknown role {role}"))?;
    let unit_id = match unit {
        Some(code) => Some(
            store
                .find_unit_by_code(&code.to_uppercase())
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no unit with code {code}"))?
                .id,
        ),
        None => None,
    };
    let grant = RoleGrant { role, unit_id };
    grant.validate().map_err(|e| e.message)?;
    let password = parindex_app::password::generate_password();
    NewPassword::parse(&password, username.as_str()).map_err(|e| e.message)?;
    let hash = parindex_app::password::hash(password.clone())
        .await
        .map_err(|e| e.to_string())?;
    let mut tx = store
        .begin_write(AuditActor::system("cli"))
        .await
        .map_err(|e| e.to_string())?;
    let user = tx
        .create_user(&NewUser {
            username,
            full_name: full_name.to_owned(),
            email: None,
            password_hash: hash,
            must_change_password: true,
        })
        .await
        .map_err(|e| e.to_string())?;
    tx.grant_role(user.id, &grant)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    println!(
        "Created {} ({}). One-time password: {password}\n(it must be changed at the first login)",
        user.username,
        role.code()
    );
    Ok(())
}
