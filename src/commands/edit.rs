//! `add`, `remove`, `move` and `list`: edit the schedule file in place (comments and layout
//! kept, the result validated and written atomically), then show what the next reconcile would
//! do about the workshop edited.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::{observe, CommandError, Outcome};
use crate::cli::{AwsArgs, Command, Output};
use crate::core::desired::Desired;
use crate::core::plan::{ActionKind, Blocked, Plan};
use crate::core::planner;
use crate::schedule::edit::{self, NewWorkshop};
use crate::schedule::{self, Schedule};
use crate::view::render;

/// One edit of the schedule.
pub(super) enum Edit {
    Add(NewWorkshop),
    Remove(String),
    Move {
        id: String,
        start: String,
        end: String,
    },
}

impl Edit {
    fn id(&self) -> &str {
        match self {
            Edit::Add(w) => &w.id,
            Edit::Remove(id) | Edit::Move { id, .. } => id,
        }
    }
}

/// `add`, `remove` or `move`; `run` in `mod.rs` sends no other command here.
pub(super) async fn run(command: Command, now: DateTime<Utc>) -> Result<Outcome, CommandError> {
    let (schedule, change, aws) = match command {
        Command::Add {
            id,
            start,
            end,
            title,
            user,
            lead,
            grace,
            schedule,
            aws,
        } => {
            let w = NewWorkshop {
                id,
                start,
                end,
                title,
                user,
                lead,
                grace,
            };
            (schedule, Edit::Add(w), aws)
        }
        Command::Remove { id, schedule, aws } => (schedule, Edit::Remove(id), aws),
        Command::Move {
            id,
            start,
            end,
            schedule,
            aws,
        } => (schedule, Edit::Move { id, start, end }, aws),
        other => unreachable!("not a schedule edit: {other:?}"),
    };
    edit(&schedule.schedule, change, &aws, now).await
}

async fn edit(
    path: &Path,
    change: Edit,
    aws: &AwsArgs,
    now: DateTime<Utc>,
) -> Result<Outcome, CommandError> {
    let original = schedule::read(path)?;
    let before = schedule::parse(path, &original)?;
    let tz = before.settings.timezone;
    let new_text = match &change {
        Edit::Add(w) => edit::add(&original, w, tz)?,
        Edit::Remove(id) => edit::remove(&original, id)?,
        Edit::Move { id, start, end } => edit::move_workshop(&original, id, start, end, tz)?,
    };
    let after = edit::write_validated(path, &original, &new_text)?;
    let id = change.id();
    let verb = match change {
        Edit::Add(_) => "Added",
        Edit::Remove(_) => "Removed",
        Edit::Move { .. } => "Moved",
    };
    println!("{verb} workshop {id} in {}.", path.display());
    if let Some(w) = after.workshop(id) {
        println!(
            "Its key is due from {} (start - lead) until {} (end + grace).",
            crate::time::format_time(w.key_from()),
            crate::time::format_time(w.revoke_at())
        );
    }
    // The effect: the part of the next reconcile's plan about this workshop and its user.
    match observe(&after, aws, false).await {
        Ok((observed, _)) => {
            let plan = planner::plan(&Desired::from_schedule(&after), &observed, now);
            let relevant = relevant_part(&plan, id, &before, &after);
            println!("\nWhat the next reconcile would do about it:");
            print!(
                "{}",
                render::fit_lines(&render::plan_text(&relevant), super::text_width())
            );
        }
        Err(e) => println!(
            "\nnote: could not read IAM to show what the next reconcile would do about it ({}); run `workshop-keys plan`",
            e.to_string().replace('\n', "; ")
        ),
    }
    Ok(Outcome::Done)
}

/// The actions, blocked entries and deliveries about workshop `id`, and user-level actions on
/// the users it was or is on.
fn relevant_part(plan: &Plan, id: &str, before: &Schedule, after: &Schedule) -> Plan {
    let users: Vec<&str> = [before.workshop(id), after.workshop(id)]
        .into_iter()
        .flatten()
        .map(|w| w.user.as_str())
        .collect();
    let user_level = |kind: ActionKind| {
        matches!(
            kind,
            ActionKind::CreateUser
                | ActionKind::PutUserPolicy
                | ActionKind::DeleteUserPolicy
                | ActionKind::DetachUserPolicy
                | ActionKind::DeleteUser
        )
    };
    let about = |list: &[Blocked]| -> Vec<Blocked> {
        list.iter()
            .filter(|b| b.workshop_id() == id)
            .cloned()
            .collect()
    };
    Plan {
        at: plan.at,
        actions: plan
            .actions
            .iter()
            .filter(|a| {
                a.workshop.as_deref() == Some(id)
                    || (user_level(a.kind()) && users.contains(&a.user.as_str()))
            })
            .cloned()
            .collect(),
        blocked: about(&plan.blocked),
        waiting: about(&plan.waiting),
        warnings: plan
            .warnings
            .iter()
            .filter(|w| w.contains(id))
            .cloned()
            .collect(),
        deliveries: plan
            .deliveries
            .iter()
            .filter(|d| d.workshop == id)
            .cloned()
            .collect(),
        settled: plan
            .settled
            .iter()
            .filter(|s| s.workshop == id)
            .cloned()
            .collect(),
        quarantined: plan
            .quarantined
            .iter()
            .filter(|q| users.contains(&q.user.as_str()))
            .cloned()
            .collect(),
        models_not_ready: plan
            .models_not_ready
            .iter()
            .filter(|m| m.workshop == id)
            .cloned()
            .collect(),
        reverify: plan
            .reverify
            .iter()
            .filter(|r| r.workshop == id)
            .cloned()
            .collect(),
    }
}

/// `list`: the workshops, upcoming, live and past, sorted by start.
pub(super) fn list(
    path: &Path,
    now: DateTime<Utc>,
    output: Output,
) -> Result<Outcome, CommandError> {
    let s = schedule::load(path)?;
    let listed = edit::list(&s, now);
    match output {
        Output::Text => print!("{}", edit::list_text_fitted(&listed, super::text_width())),
        Output::Json => print!("{}", render::json(&listed)),
    }
    Ok(Outcome::Done)
}
