//! Entry point: parse arguments, set up logging, read the clock once, map outcomes to exit codes.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use workshop_keys::cli::{Cli, LogFormat};
use workshop_keys::commands::{self, CommandError, Outcome};

fn main() -> ExitCode {
    restore_sigpipe();
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let now = chrono::Utc::now();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(commands::run(cli.command, now));
    if let Err(e) = &result {
        eprintln!("{}", error_text(e));
    }
    ExitCode::from(exit_code(&result))
}

/// The documented exit codes, and the only place that picks one: 0 success, 1 failure or error,
/// 2 changes pending (`plan --detailed-exitcode`), 3 another reconcile holds the lock.
fn exit_code(result: &Result<Outcome, CommandError>) -> u8 {
    match result {
        Ok(Outcome::Done) => 0,
        Ok(Outcome::ChangesPending) => 2,
        Ok(
            Outcome::ReconcileFailed
            | Outcome::ReleaseIncomplete
            | Outcome::NothingToRevoke
            | Outcome::RevokeIncomplete
            | Outcome::ProblemsFound
            | Outcome::VerificationFailed
            | Outcome::ModelsNotReady
            | Outcome::ActivationFailed,
        ) => 1,
        Err(CommandError::Locked { .. }) => 3,
        Err(_) => 1,
    }
}

/// Schedule diagnostics already carry `PATH:LINE:COLUMN: error:`; other errors get `error: `.
fn error_text(e: &CommandError) -> String {
    match e {
        CommandError::Schedule(s) => s.to_string(),
        other => format!("error: {other}"),
    }
}

fn init_logging(format: LogFormat) {
    // Without RUST_LOG: our warnings, and only errors from the AWS SDK and other crates (their
    // warnings repeat, in SDK terms, what our error message says).
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("error,workshop_keys=warn"));
    // Colour codes only for a person at a terminal: a log file or pipe gets plain text.
    let ansi = workshop_keys::view::timeline::use_color(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Rust ignores SIGPIPE, so `workshop-keys status | head` would panic on the closed pipe; end
/// quietly instead, as other command-line tools do. Results are printed after the work is done.
fn restore_sigpipe() {
    // SAFETY: setting a signal's disposition to the default before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
