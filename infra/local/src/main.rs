//! `provisio-local`: serve the local stack, mint dev tokens, run a state machine file offline.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use provisio_asl::{Definition, ExecutionStatus};
use provisio_core::usecases::compliance::{ComplianceSettings, DEFAULT_EXPIRY_NOTICE_HOURS};
use provisio_core::usecases::lifecycle::{DEFAULT_MOVER_GRACE_HOURS, LifecycleSettings};
use provisio_local::auth::{DEFAULT_DEV_SECRET, DevAuth};
use provisio_local::seed::Seed;
use provisio_local::stack::substitutions;
use provisio_local::{Config, LocalStack, Store};

/// Local-only defaults, documented in docs/local-stack.md; a deployment sets its own.
const DEFAULT_SCIM_TOKEN: &str = "local-scim-token";
const DEFAULT_HR_WEBHOOK_SECRET: &str = "local-hr-webhook-secret";

/// How often the server looks whether a schedule is due on the virtual clock.
const SCHEDULE_TICK: Duration = Duration::from_secs(1);

#[derive(Parser)]
#[command(
    name = "provisio-local",
    version,
    about = "Provisio local stack: the whole product in one process"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Port to serve on (127.0.0.1).
    #[arg(long, default_value_t = 3000, global = true)]
    port: u16,
    /// Seed directory (identities.json, catalog.json, licenses.json); default: the demo organisation.
    #[arg(long, global = true)]
    seed: Option<PathBuf>,
    /// HS256 secret of dev tokens. The default is for local use only.
    #[arg(long, env = "PROVISIO_DEV_JWT_SECRET", default_value = DEFAULT_DEV_SECRET, hide_default_value = true, global = true)]
    jwt_secret: String,
    /// Bearer token of SCIM clients (/scim/v2). The default is for local use only.
    #[arg(long, env = "PROVISIO_SCIM_TOKEN", default_value = DEFAULT_SCIM_TOKEN, hide_default_value = true, global = true)]
    scim_token: String,
    /// HMAC secret HR systems sign POST /hr/events with. The default is for local use only.
    #[arg(long, env = "PROVISIO_HR_WEBHOOK_SECRET", default_value = DEFAULT_HR_WEBHOOK_SECRET, hide_default_value = true, global = true)]
    hr_webhook_secret: String,
    /// How long a mover keeps access they are no longer eligible for.
    #[arg(long, env = "PROVISIO_MOVER_GRACE_HOURS", default_value_t = DEFAULT_MOVER_GRACE_HOURS, global = true)]
    mover_grace_hours: u32,
    /// How long before a time-bound holding expires its holder is notified (a finding of kind `expiring`).
    #[arg(long, env = "PROVISIO_EXPIRY_NOTICE_HOURS", default_value_t = DEFAULT_EXPIRY_NOTICE_HOURS, global = true)]
    expiry_notice_hours: u32,
    /// Keep data in DynamoDB tables at this endpoint (e.g. a moto server) instead of memory; tables are
    /// created if missing, and the seed is loaded only into an empty catalog.
    #[arg(long, env = "PROVISIO_DYNAMODB_ENDPOINT", global = true)]
    dynamodb_endpoint: Option<String>,
    /// Prefix of the table names on --dynamodb-endpoint, so several stacks can share one endpoint.
    #[arg(long, default_value = "", global = true)]
    table_prefix: String,
}

#[derive(Subcommand)]
enum Command {
    /// Print a bearer token for an employee.
    Token {
        employee_id: String,
        /// Comma-separated groups, e.g. provisio-admins,provisio-auditors.
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
        #[arg(long, default_value_t = 12)]
        ttl_hours: i64,
    },
    /// Amazon States Language tools.
    Asl {
        #[command(subcommand)]
        command: AslCommand,
    },
}

#[derive(Subcommand)]
enum AslCommand {
    /// Run a definition to completion against the in-process handlers and print its output.
    Run {
        file: PathBuf,
        #[arg(long, default_value = "{}")]
        input: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("provisio-local: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn stack(cli: &Cli) -> Result<Arc<LocalStack>, Box<dyn std::error::Error>> {
    let seed = match &cli.seed {
        Some(dir) => Seed::from_dir(dir)?,
        None => Seed::demo()?,
    };
    let config = Config {
        seed,
        jwt_secret: cli.jwt_secret.clone(),
        scim_token: cli.scim_token.clone(),
        hr_webhook_secret: cli.hr_webhook_secret.clone(),
        lifecycle: LifecycleSettings {
            mover_grace: chrono::Duration::hours(cli.mover_grace_hours.into()),
        },
        compliance: ComplianceSettings {
            expiry_notice: chrono::Duration::hours(cli.expiry_notice_hours.into()),
        },
        connector_timeout: Duration::from_secs(10),
        store: match &cli.dynamodb_endpoint {
            Some(endpoint) => Store::DynamoDb {
                endpoint: endpoint.clone(),
                table_prefix: cli.table_prefix.clone(),
            },
            None => Store::Memory(Default::default()),
        },
    };
    Ok(LocalStack::new(config).await?)
}

async fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match &cli.command {
        Some(Command::Token {
            employee_id,
            groups,
            ttl_hours,
        }) => {
            println!(
                "{}",
                DevAuth::new(&cli.jwt_secret).token(employee_id, groups, ttl_hours * 3600)?
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Asl {
            command: AslCommand::Run { file, input },
        }) => {
            let text =
                std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
            let definition = Arc::new(Definition::parse(&text, &substitutions())?);
            let input =
                serde_json::from_str(input).map_err(|e| format!("--input is not JSON: {e}"))?;
            let stack = stack(&cli).await?;
            let name = format!("cli-{}", std::process::id());
            let done = stack.engine.run("cli", definition, &name, input).await?;
            println!("{}", serde_json::to_string_pretty(&done)?);
            Ok(if done.status == ExecutionStatus::Succeeded {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        None => {
            let stack = stack(&cli).await?;
            tokio::spawn(stack.clone().run_schedules_on_timers(SCHEDULE_TICK));
            let addr = SocketAddr::from(([127, 0, 0, 1], cli.port));
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("bind {addr}: {e}"))?;
            tracing::info!(%addr, "Provisio local stack listening");
            axum::serve(listener, provisio_local::http::router(stack)?)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
