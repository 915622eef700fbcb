//! workshop-keys: short-lived AWS access keys for workshops, reconciled from a schedule file.
//!
//! Modules in pipeline order, one line each: the schedule is read, turned into desired state,
//! IAM and the local records are observed, the pure planner decides, the executor applies,
//! and the views print. Only `core` is pure (no I/O, no clock); the rest sits at its edges.

pub mod cli; //              the command-line contract (clap derive)
pub mod schedule; //         workshops.toml -> Schedule; diagnostics; byte-preserving edits
pub mod core; //             the decision, pure: desired, observed, planner, plan, policy, limits
pub mod sdk; //              the AWS SDK configuration, one session per account
pub mod iam; //              the Iam trait, its AWS client and its in-memory fake
pub mod models; //           Bedrock model access: readiness and activation
pub mod store; //            where secrets go: credentials files or Secrets Manager
pub mod state; //            records of recent writes and the lock: local or S3
pub mod progress; //         a progress bar on stderr when it is a terminal
pub mod limit; //            one bound on the AWS calls in flight, shared by a run
pub mod observe; //          IAM (bulk or per user) + store + state -> Observed
pub mod apply; //            the executor: a Plan through Iam and the store, with a report
pub mod bedrock_api_key; //  short-term Bedrock API keys (bearer tokens), presigned
pub mod verify; //           new keys call Bedrock with themselves
pub mod deliver; //          the deliver and notify hooks
pub mod saved_plan; //       plan files with fingerprints
pub mod view; //             plan and status text, list, timeline, health, metrics
pub mod commands; //         each command, returning an Outcome
pub mod atomic_file; //      one atomic file write
pub mod time; //             times and durations as written and read
pub mod text; //             small text helpers: counts, shell quoting
