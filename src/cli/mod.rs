//! Command-line interface. Each command prints its result on stdout and any
//! error on stderr, exiting non-zero on failure.

mod admin;
mod audit;
mod bench;
mod bench_dispatch;
mod bench_reports;
mod demo;
mod runbooks;
pub(crate) mod subjects;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::domain::Role;

/// Breachline: breach-notification incident response.
#[derive(Debug, Parser)]
#[command(name = "breachline", version, about)]
pub struct Cli {
    /// Configuration file (TOML); `BREACHLINE_*` variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server and a dispatch worker (migrates the database first).
    Serve,
    /// Run a dispatch worker only (run several against PostgreSQL to scale out).
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create and list tenants.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Create and list the people who sign in to the web UI.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Check the audit log and sign checkpoints of it.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Import data into a tenant.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Measure throughput on synthetic data.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Check and list runbooks (built-in and tenants' own).
    #[command(subcommand)]
    Runbooks(RunbooksCommand),
    /// Load the five demo customers (tenants, people, incidents, notices sent to the
    /// file outbox, bulletins) into the configured database; prints tokens once.
    Demo {
        /// Drop everything in the database first (refused when it holds other tenants).
        #[arg(long)]
        reset: bool,
        /// Load the demo beside tenants that are not the demo's.
        #[arg(long)]
        force: bool,
    },
    /// Compute notification obligations and deadlines from incident facts (JSON in, JSON out).
    Obligations {
        /// Input JSON file, or - for standard input.
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Generate, import and scope a synthetic registry (a temporary SQLite
    /// database unless BREACHLINE_DATABASE_URL is set); prints rows/s and times.
    Subjects {
        /// Subjects to generate.
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
    },
    /// Send e-mail notices through the real plan, dispatch and production worker
    /// loop to an SMTP server in another process, beside a minimal sender to the same
    /// server; prints both rates and their ratio.
    Dispatch {
        /// People in the synthetic registry (one e-mail each).
        #[arg(long, default_value_t = 20_000)]
        count: u64,
        /// Workers sending side by side (on PostgreSQL they claim with SKIP LOCKED;
        /// on SQLite their writes take turns).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
        workers: u16,
        /// An SMTP server to send to (host:port, no TLS); default: `bench smtp-sink`
        /// started as a process of its own.
        #[arg(long, value_name = "HOST:PORT")]
        smtp: Option<String>,
        /// E-mails per second the worker may send (raised so the limit is not what is
        /// measured).
        #[arg(long, default_value_t = 100_000.0)]
        rate: f64,
    },
    /// A local SMTP server that accepts and counts messages: prints its port, and
    /// the count when standard input closes (used by `bench dispatch`).
    SmtpSink,
    /// Generate and render a regulator report over HTTP for an incident whose affected
    /// set is a synthetic registry (a temporary SQLite database unless
    /// BREACHLINE_DATABASE_URL is set); prints the time of each request.
    Reports {
        /// People in the synthetic registry, all affected.
        #[arg(long, default_value_t = 1_000_000)]
        count: u64,
    },
    /// Render e-mail notices (subject, text, HTML) on one thread; prints notices/s.
    Render {
        /// How many notices.
        #[arg(long, default_value_t = 200_000)]
        count: usize,
    },
}

#[derive(Debug, Subcommand)]
enum RunbooksCommand {
    /// Validate runbooks: the *.md files of DIR over the built-in ones or, without DIR,
    /// the built-in runbooks and every tenant's under BREACHLINE_TEMPLATES_DIR; prints
    /// each problem as file:line: reason and exits 1 when there is any.
    Check {
        /// A folder of runbook files, e.g. a tenant's <templates>/<slug>/runbooks.
        dir: Option<PathBuf>,
    },
    /// Print id, version, title and conditions of each runbook (tab-separated).
    List {
        /// The set this tenant's incidents get (its own files over the built-in ones).
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TenantsCommand {
    /// Create a tenant.
    Create {
        /// Short unique name, e.g. jc-task.
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Country (or US-XX state) where the tenant is established; repeatable.
        #[arg(long = "establishment", value_name = "CC")]
        establishments: Vec<String>,
        /// Fallback locale for notices (BCP 47).
        #[arg(long, default_value = "en")]
        locale: String,
    },
    /// List tenants.
    List,
    /// Replace a tenant's profile from JSON `{establishments?, commitments, closures}`
    /// (`-` for stdin); recomputes the obligations of its open incidents.
    Profile {
        /// Tenant slug.
        slug: String,
        /// JSON file, or - for standard input.
        #[arg(long, value_name = "FILE")]
        input: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum TokensCommand {
    /// Create a bearer token; prints only the token, which is shown once.
    Create {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// admin, responder, approver, viewer, notifier or regulator.
        #[arg(long)]
        role: Role,
        /// Label naming who holds the token; recorded as author and actor.
        #[arg(long)]
        name: Option<String>,
    },
    /// One token per line: id, tenant, name, role, created, revoked (or -); never secrets.
    List {
        /// Only this tenant's tokens (default: every tenant's).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a token at once (audited); requests with it get 401 "token revoked".
    Revoke {
        /// The token's id: the part between `blt_` and the dot.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Create a user of the web UI; prints only the one-time set-password URL
    /// (valid 72 hours), to hand to the person.
    Create {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// The person's e-mail address: their sign-in name.
        #[arg(long)]
        email: String,
        /// admin, responder, approver, viewer, notifier or regulator.
        #[arg(long)]
        role: Role,
    },
    /// Print a new one-time set-password URL for an existing user (a forgotten
    /// password, an expired link); their sessions end when they use it.
    Link {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
    },
    /// One user per line: e-mail, tenant, role, whether a password is set.
    List {
        /// Only this tenant's users (default: every tenant's).
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Upsert subjects from a CSV or NDJSON file by external_id; prints the counts as JSON.
    Subjects {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// csv or ndjson (default: from the extension .csv, .ndjson or .jsonl).
        #[arg(long, value_parser = parse_format)]
        format: Option<crate::import::ImportFormat>,
        /// all-or-nothing (default: any invalid row rejects the file) or skip-invalid.
        #[arg(long, default_value = "all-or-nothing")]
        mode: crate::import::ImportMode,
        /// The file.
        file: PathBuf,
    },
}

fn parse_format(word: &str) -> Result<crate::import::ImportFormat, String> {
    match word {
        "csv" => Ok(crate::import::ImportFormat::Csv),
        "ndjson" | "jsonl" => Ok(crate::import::ImportFormat::Ndjson),
        _ => Err("expected csv or ndjson".into()),
    }
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; exit 0 when intact, 1 naming the first broken entry.
    Verify {
        /// Only this tenant (default: all).
        #[arg(long)]
        tenant: Option<String>,
        /// Also prove the chains still hold the entries of these signed checkpoints
        /// (a file of `audit checkpoint` lines; needs BREACHLINE_AUDIT_KEY).
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
    },
    /// Verify each chain and print its head signed with BREACHLINE_AUDIT_KEY, one JSON
    /// line per tenant, to keep outside the database (see docs/operations.md).
    Checkpoint {
        /// Only this tenant (default: all).
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// Parses the arguments, runs the command and turns errors into exit codes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Obligations { input } => return obligations(input),
        Command::Bench(BenchCommand::Render { count }) => return bench::render(*count),
        Command::Bench(BenchCommand::SmtpSink) => return bench_dispatch::smtp_sink(),
        _ => {}
    }
    let settings = Settings::load(cli.config.as_deref())?;
    crate::telemetry::init(settings.log.format);
    match cli.command {
        Command::Serve => admin::serve(&settings),
        Command::Worker => admin::worker(&settings),
        Command::Migrate => admin::migrate(&settings),
        Command::Demo { reset, force } => demo::demo(&settings, demo::DemoOptions { reset, force }),
        Command::Tenants(TenantsCommand::Create {
            slug,
            name,
            establishments,
            locale,
        }) => admin::create_tenant(&settings, slug, name, establishments, locale),
        Command::Tenants(TenantsCommand::List) => admin::list_tenants(&settings),
        Command::Tenants(TenantsCommand::Profile { slug, input }) => {
            admin::set_tenant_profile(&settings, &slug, &read_input(&input)?)
        }
        Command::Tokens(TokensCommand::Create { tenant, role, name }) => {
            admin::create_token(&settings, &tenant, role, name)
        }
        Command::Tokens(TokensCommand::List { tenant }) => {
            admin::list_tokens(&settings, tenant.as_deref())
        }
        Command::Tokens(TokensCommand::Revoke { id }) => admin::revoke_token(&settings, &id),
        Command::Users(UsersCommand::Create {
            tenant,
            email,
            role,
        }) => admin::create_user(&settings, &tenant, &email, role),
        Command::Users(UsersCommand::Link { email }) => admin::user_link(&settings, &email),
        Command::Users(UsersCommand::List { tenant }) => {
            admin::list_users(&settings, tenant.as_deref())
        }
        Command::Audit(AuditCommand::Verify { tenant, checkpoint }) => {
            audit::verify(&settings, tenant.as_deref(), checkpoint.as_deref())
        }
        Command::Audit(AuditCommand::Checkpoint { tenant }) => {
            audit::checkpoint(&settings, tenant.as_deref())
        }
        Command::Import(ImportCommand::Subjects {
            tenant,
            format,
            mode,
            file,
        }) => subjects::import_subjects(&settings, &tenant, &file, format, mode),
        Command::Bench(BenchCommand::Subjects { count }) => {
            subjects::bench_subjects(&settings, count)
        }
        Command::Bench(BenchCommand::Reports { count }) => bench_reports::reports(&settings, count),
        Command::Runbooks(RunbooksCommand::Check { dir }) => {
            runbooks::check(&settings, dir.as_deref())
        }
        Command::Runbooks(RunbooksCommand::List { tenant }) => {
            runbooks::list(&settings, tenant.as_deref())
        }
        Command::Obligations { input } => obligations(&input),
        Command::Bench(BenchCommand::Render { count }) => bench::render(count),
        Command::Bench(BenchCommand::Dispatch {
            count,
            workers,
            smtp,
            rate,
        }) => bench_dispatch::dispatch(
            &settings,
            bench_dispatch::DispatchBench {
                count,
                workers,
                smtp,
                rate,
            },
        ),
        Command::Bench(BenchCommand::SmtpSink) => bench_dispatch::smtp_sink(),
    }
}

/// Pure computation: needs no database or configuration.
fn obligations(input: &std::path::Path) -> anyhow::Result<ExitCode> {
    let json = read_input(input)?;
    let output = crate::regimes::run_cli(&json).map_err(crate::error::AppError::Validation)?;
    println!("{output}");
    Ok(ExitCode::SUCCESS)
}

/// Reads a file, or standard input for `-`.
fn read_input(input: &std::path::Path) -> anyhow::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    if input == std::path::Path::new("-") {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text = std::fs::read_to_string(input)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", input.display()))?;
    }
    Ok(text)
}
