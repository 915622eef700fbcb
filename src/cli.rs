//! The command-line contract (commands, flags, formats), as clap derive types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::observe::ObserveMode;

#[derive(Debug, Parser)]
#[command(
    name = "workshop-keys",
    version,
    about = "Short-lived AWS access keys for hands-on workshops, reconciled from a schedule file",
    long_about = "Reads workshops.toml (the desired state) and the live IAM state, and creates, rotates, \
deactivates and deletes access keys so that each workshop has a working key from shortly before it \
starts until shortly after it ends, and no longer."
)]
pub struct Cli {
    /// Log format on stderr (filter with RUST_LOG, e.g. RUST_LOG=debug).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// `handout --output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HandoutOutput {
    Csv,
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimelineOutput {
    Text,
    Svg,
}

#[derive(Debug, Args)]
pub struct ScheduleArg {
    /// The schedule file.
    #[arg(long, default_value = "workshops.toml", value_name = "PATH")]
    pub schedule: PathBuf,
}

#[derive(Debug, Args)]
pub struct AwsArgs {
    /// AWS profile to use instead of the standard credential chain's default.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region for the IAM client (IAM is global; this picks the endpoint's signing region).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// How many AWS calls to have in flight at once, over the whole run.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// How to read IAM: in bulk (needs iam:GetAccountAuthorizationDetails), user by user, or
    /// auto (bulk when allowed, else user by user).
    #[arg(long = "observe", value_enum, default_value_t = ObserveMode::Auto, value_name = "MODE")]
    pub observe_mode: ObserveMode,
}

/// `--output text|json`, for the commands that print either.
#[derive(Debug, Args)]
pub struct OutputArg {
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// `--at TIME`: the moment a command acts or judges as if it were now. Each command says, with
/// `at_help`, what the time means for it.
#[derive(Debug, Args)]
pub struct AtArg {
    /// Act as if the time were TIME (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
}

/// Give `--at` a command's own help text. `mut_args` edits the flag in place, so it keeps its
/// place in completion scripts (`mut_arg` would move it last).
fn at_help(help: &'static str) -> impl FnMut(clap::Arg) -> clap::Arg {
    move |arg| {
        if arg.get_id() == "at" {
            arg.help(help)
        } else {
            arg
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a schedule file and report every problem with its line and column.
    Validate {
        #[command(flatten)]
        schedule: ScheduleArg,
    },
    /// Show what `reconcile` would do, now or at another moment. Changes nothing.
    #[command(mut_args(at_help(
        "Plan as if the time were TIME (RFC 3339, e.g. 2026-12-02T09:00:00Z)"
    )))]
    Plan {
        #[command(flatten)]
        schedule: ScheduleArg,
        #[command(flatten)]
        at: AtArg,
        #[command(flatten)]
        output: OutputArg,
        /// Exit 0 when there are no changes, 2 when there are changes or blocked workshops, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Also save the plan, with fingerprints of the schedule and the observed IAM state, for
        /// `reconcile --plan PLANFILE`.
        #[arg(long, value_name = "PLANFILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Compute the plan and apply it: the job cron runs.
    #[command(mut_args(at_help(
        "Act as if the time were TIME (RFC 3339). For rehearsals and demos"
    )))]
    Reconcile {
        #[command(flatten)]
        schedule: ScheduleArg,
        #[command(flatten)]
        at: AtArg,
        #[command(flatten)]
        output: OutputArg,
        /// Only show the plan (same as `plan`).
        #[arg(long)]
        dry_run: bool,
        /// Wait this long for another reconcile of the same schedule to finish (e.g. "30s").
        /// 0 exits at once with code 3.
        #[arg(long, default_value = "0s", value_name = "DURATION")]
        lock_timeout: humantime::Duration,
        /// Apply exactly this saved plan (from `plan --out`); refused, changing nothing, when the
        /// schedule file or the observed IAM state no longer match it.
        #[arg(long, value_name = "PLANFILE", conflicts_with = "at")]
        plan: Option<PathBuf>,
        /// Write the run's outcome and the keys' state to PATH (atomically), in Prometheus's text
        /// format for node_exporter's textfile collector, e.g.
        /// /var/lib/prometheus/node-exporter/workshop_keys.prom. Written when the run fails too.
        #[arg(long, value_name = "PATH", conflicts_with = "dry_run")]
        metrics_file: Option<PathBuf>,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Lift AWS's quarantine from a user whose key leaked: delete every exposed key first, then
    /// detach the quarantine policy. The next reconcile makes fresh keys for live workshops.
    #[command(mut_args(at_help(
        "Show the next reconcile as if the time were TIME (RFC 3339), for rehearsals"
    )))]
    Release {
        /// The quarantined IAM user.
        user: String,
        #[command(flatten)]
        schedule: ScheduleArg,
        #[command(flatten)]
        at: AtArg,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Deactivate a workshop's keys at once (a leaked key): the shared key, one participant's
    /// key, or all of them. While the window is open, the next reconcile hands out fresh keys;
    /// the revoked keys are deleted after the hold.
    #[command(mut_args(at_help("Revoke as if the time were TIME (RFC 3339), for rehearsals")))]
    Revoke {
        /// The workshop's id.
        workshop: String,
        /// Only this participant's key (e.g. p07); without it, every key of the workshop.
        #[arg(long, value_name = "LABEL")]
        participant: Option<String>,
        #[command(flatten)]
        schedule: ScheduleArg,
        #[command(flatten)]
        at: AtArg,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Add a workshop to the schedule (comments and layout kept; validated before writing).
    Add {
        /// Its id: 1-64 characters of A-Za-z0-9._-
        id: String,
        /// Start: RFC 3339, or a local date-time read in settings.timezone.
        #[arg(long, value_name = "TIME")]
        start: String,
        /// End: RFC 3339, or a local date-time read in settings.timezone.
        #[arg(long, value_name = "TIME")]
        end: String,
        #[arg(long, value_name = "T")]
        title: Option<String>,
        /// The IAM user for its key (default: settings.user).
        #[arg(long, value_name = "U")]
        user: Option<String>,
        /// Overrides settings.lead, e.g. "3h".
        #[arg(long, value_name = "D")]
        lead: Option<String>,
        /// Overrides settings.grace, e.g. "30m".
        #[arg(long, value_name = "D")]
        grace: Option<String>,
        #[command(flatten)]
        schedule: ScheduleArg,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Remove a workshop from the schedule.
    Remove {
        id: String,
        #[command(flatten)]
        schedule: ScheduleArg,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Change a workshop's start and end.
    Move {
        id: String,
        #[arg(long, value_name = "TIME")]
        start: String,
        #[arg(long, value_name = "TIME")]
        end: String,
        #[command(flatten)]
        schedule: ScheduleArg,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// List the workshops: upcoming, live and past, sorted by start.
    List {
        #[command(flatten)]
        schedule: ScheduleArg,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Draw the workshops' keys across the days: lead, live, grace and hold, collisions, now.
    #[command(mut_args(at_help(
        "Draw the now marker at TIME (RFC 3339) instead of the clock's time"
    )))]
    Timeline {
        #[command(flatten)]
        schedule: ScheduleArg,
        /// First day shown: a date (2026-12-01) or an RFC 3339 time. Default: today.
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// Days shown.
        #[arg(long, default_value_t = 14, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=366))]
        days: u32,
        #[command(flatten)]
        at: AtArg,
        /// `text` for the terminal (honours NO_COLOR and COLUMNS), `svg` to write FILE.
        /// Default: `svg` when FILE ends in `.svg`, else `text`.
        #[arg(long, value_enum, value_name = "FORMAT")]
        output: Option<TimelineOutput>,
        /// The SVG file to write (`-`: standard output).
        #[arg(value_name = "FILE", required_if_eq("output", "svg"))]
        file: Option<PathBuf>,
    },
    /// Print a shell completion script (e.g. `workshop-keys completions bash`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `workshop-keys man > workshop-keys.1`.
    Man,
    /// Render a plan saved with `plan --out`.
    Show {
        /// The saved plan.
        planfile: PathBuf,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Show the managed users and keys, their use, and each workshop's state.
    #[command(mut_args(at_help(
        "Judge ages and workshop states as if the time were TIME (RFC 3339)"
    )))]
    Status {
        #[command(flatten)]
        schedule: ScheduleArg,
        #[command(flatten)]
        at: AtArg,
        #[command(flatten)]
        output: OutputArg,
        /// The full table (exact times, key windows, last use with service and region), however
        /// wide; by default the text fits the terminal (COLUMNS, else 100 columns).
        #[arg(long)]
        wide: bool,
        /// A monitoring check: one line per problem, exit 1 when a key is active outside its
        /// window, a live or imminent workshop has no verified key, or anything is blocked or
        /// quarantined; exit 0 when all is well.
        #[arg(long)]
        check: bool,
        /// Only this workshop: one row per participant (one for a shared key) with its key,
        /// state, last use and whether its credentials file is here.
        #[arg(long, value_name = "ID", conflicts_with = "check")]
        workshop: Option<String>,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Write a workshop's live keys (from its credentials files, or its secrets in Secrets
    /// Manager with `store = "secretsmanager"`) to FILE: a CSV for a mail merge or a printable
    /// HTML page of cards, one per participant. FILE holds secrets: mode 0600; delete it once
    /// printed or sent.
    Handout {
        /// The workshop's id.
        workshop: String,
        /// `csv`: participant,access_key_id,secret_access_key,region,expires; `html`: A4 cards.
        #[arg(long, value_enum, value_name = "FORMAT")]
        output: HandoutOutput,
        /// The file to write (never standard output: it holds secrets).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Replace FILE when it exists.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        schedule: ScheduleArg,
        // The AWS setup for Secrets Manager (with `store = "secretsmanager"`; no IAM call).
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Bedrock model access for the workshops' models, with the operator's credentials: check
    /// readiness, or activate a model (accept its Marketplace offer, Anthropic's use-case form).
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Re-check live keys now: call Bedrock with each key's secret from its credentials file.
    Verify {
        #[command(flatten)]
        schedule: ScheduleArg,
        /// Only this workshop's key.
        #[arg(long, value_name = "ID")]
        workshop: Option<String>,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        aws: AwsArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// For each model of every upcoming workshop, in settings.region: authorization,
    /// entitlement, agreement and region availability (and Anthropic's use-case form), a verdict
    /// and the exact fix. Exit 0 when all are ready, 1 otherwise. Changes nothing.
    Check {
        #[command(flatten)]
        schedule: ScheduleArg,
        #[command(flatten)]
        output: OutputArg,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Activate models in settings.region: accept each model's Marketplace offer
    /// (ListFoundationModelAgreementOffers, CreateFoundationModelAgreement) and, for Anthropic,
    /// submit the first-time-use form. Without --yes, shows the offers and changes nothing.
    /// cron never does this: it is the operator's explicit step.
    Activate {
        /// Model ids as the schedule names them (inference profiles such as us.… activate the
        /// foundation model they route to).
        #[arg(required = true, value_name = "MODEL")]
        models: Vec<String>,
        /// Accept the offers (and submit the use-case form); without it nothing changes.
        #[arg(long)]
        yes: bool,
        /// Anthropic's first-time-use form as JSON (PutUseCaseForModelAccess's form data),
        /// needed once per account when none is on file.
        #[arg(long, value_name = "FILE")]
        use_case_file: Option<PathBuf>,
        /// How long to wait for the availability to read ready after accepting.
        #[arg(long, default_value = "2m", value_name = "DURATION")]
        wait: humantime::Duration,
        #[command(flatten)]
        schedule: ScheduleArg,
        #[command(flatten)]
        aws: AwsArgs,
    },
}
