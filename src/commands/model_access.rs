//! `models check` and `models activate`: Bedrock's control plane with the operator's
//! credentials, in `settings.region`. `check` only reads; `activate` writes only with `--yes`.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{CommandError, Outcome};
use crate::cli::{ModelsCommand, Output, OutputArg};
use crate::core::policy::foundation_model;
use crate::models::aws::AwsBedrock;
use crate::models::{self, is_anthropic, judge, ControlPlane, Readiness};
use crate::schedule::{self, Schedule};

/// Between availability reads while an activation settles.
const POLL: Duration = Duration::from_secs(5);

pub(super) async fn run(
    command: ModelsCommand,
    now: DateTime<Utc>,
) -> Result<Outcome, CommandError> {
    match command {
        ModelsCommand::Check {
            schedule,
            output: OutputArg { output },
            aws,
        } => {
            let s = schedule::load(&schedule.schedule)?;
            let cp = AwsBedrock::load(aws.profile.as_deref(), &s.settings.region).await;
            check(&s, &cp, now, output).await
        }
        ModelsCommand::Activate {
            models,
            yes,
            use_case_file,
            wait,
            schedule,
            aws,
        } => {
            let s = schedule::load(&schedule.schedule)?;
            let form = match &use_case_file {
                Some(path) => Some(read_form(path)?),
                None => None,
            };
            let cp = AwsBedrock::load(aws.profile.as_deref(), &s.settings.region).await;
            let opts = Activate {
                region: &s.settings.region,
                yes,
                form: form.as_deref(),
                form_file: use_case_file.as_deref(),
                wait: wait.into(),
            };
            let mut ok = true;
            for model in &models {
                ok &= activate(&cp, model, &opts).await;
            }
            Ok(Outcome::done_unless(ok, Outcome::ActivationFailed))
        }
    }
}

/// The models of every workshop that has not ended (key not yet revoked), sorted, unique.
fn upcoming_models(s: &Schedule, now: DateTime<Utc>) -> Vec<String> {
    let mut models: Vec<String> = s
        .workshops
        .iter()
        .filter(|w| w.revoke_at() > now)
        .flat_map(|w| w.models.iter().cloned())
        .collect();
    models.sort();
    models.dedup();
    models
}

async fn check(
    s: &Schedule,
    cp: &impl ControlPlane,
    now: DateTime<Utc>,
    output: Output,
) -> Result<Outcome, CommandError> {
    let region = &s.settings.region;
    let models = upcoming_models(s, now);
    let (ready, unread) = models::read(cp, region, &models).await;
    let mut all: Vec<Readiness> = ready.into_values().collect();
    // A model whose readiness could not be read is not known to be ready.
    for (model, why) in &unread {
        all.push(Readiness {
            model: model.clone(),
            region: region.clone(),
            ready: false,
            authorization: "UNKNOWN".into(),
            entitlement: "UNKNOWN".into(),
            agreement: "UNKNOWN".into(),
            region_availability: "UNKNOWN".into(),
            fix: Some(format!(
                "{why}; the operator needs bedrock:GetFoundationModelAvailability and bedrock:GetUseCaseForModelAccess"
            )),
        });
    }
    all.sort_by(|a, b| a.model.cmp(&b.model));
    let ok = all.iter().all(|r| r.ready);
    match output {
        Output::Json => print!("{}", crate::view::render::json(&all)),
        Output::Text => {
            if all.is_empty() {
                println!(
                    "No upcoming workshop names a model (models = [...] in [settings] or a [[workshop]]); keys are verified with {}.",
                    s.settings.verify_model
                );
            }
            for r in &all {
                println!(
                    "{:<9} {} in {}: authorization {}, entitlement {}, agreement {}, region {}",
                    if r.ready { "ready" } else { "not ready" },
                    r.model,
                    r.region,
                    r.authorization,
                    r.entitlement,
                    r.agreement,
                    r.region_availability
                );
                if let Some(fix) = &r.fix {
                    println!("          fix: {fix}");
                }
            }
            if !all.is_empty() {
                let bad = all.iter().filter(|r| !r.ready).count();
                println!(
                    "{}",
                    if bad == 0 {
                        format!(
                            "All {} ready in {region}.",
                            crate::text::count(all.len(), "model", "models")
                        )
                    } else {
                        format!(
                            "{} not ready in {region}.",
                            crate::text::count(bad, "model", "models")
                        )
                    }
                );
            }
        }
    }
    Ok(Outcome::done_unless(ok, Outcome::ModelsNotReady))
}

/// The use-case form: JSON, as `PutUseCaseForModelAccess` takes it.
fn read_form(path: &Path) -> Result<Vec<u8>, CommandError> {
    let bytes = std::fs::read(path).map_err(|e| CommandError::Usage {
        message: format!(
            "cannot read the use-case file {}: {e}; pass the path of Anthropic's first-time-use form as JSON",
            path.display()
        ),
    })?;
    if let Err(e) = serde_json::from_slice::<serde_json::Value>(&bytes) {
        return Err(CommandError::Usage {
            message: format!(
                "the use-case file {} is not JSON ({e}); write the form as a JSON object, e.g. {{\"companyName\": \"…\", \"companyWebsite\": \"…\", \"intendedUsers\": \"0\", \"industryOption\": \"Education\", \"otherIndustryOption\": \"\", \"useCases\": \"Hands-on workshops\"}}",
                path.display()
            ),
        });
    }
    Ok(bytes)
}

struct Activate<'a> {
    region: &'a str,
    yes: bool,
    form: Option<&'a [u8]>,
    form_file: Option<&'a Path>,
    wait: Duration,
}

/// One model: what is missing, what would be done (without `--yes`) or is done. True when
/// nothing failed or was refused.
async fn activate(cp: &impl ControlPlane, model: &str, o: &Activate<'_>) -> bool {
    let base = foundation_model(model);
    let shown = if base == model {
        model.to_string()
    } else {
        format!("{model} (foundation model {base})")
    };
    let a = match cp.availability(&base).await {
        Ok(a) => a,
        Err(e) => {
            println!("{shown}: {e}");
            return false;
        }
    };
    if a.region_availability != "AVAILABLE" {
        println!(
            "{shown}: not offered in {}; activation cannot change that: use an inference profile that routes to it (us.…, eu.…, global.…), another model, or another settings.region",
            o.region
        );
        return false;
    }
    let needs_form = if is_anthropic(&base) {
        match cp.use_case_on_file().await {
            Ok(on_file) => !on_file,
            Err(e) => {
                println!("{shown}: {e}");
                return false;
            }
        }
    } else {
        false
    };
    let before = judge(
        model,
        o.region,
        &a,
        is_anthropic(&base).then_some(!needs_form),
    );
    if before.ready {
        println!("{shown}: already ready in {}; nothing to do", o.region);
        return true;
    }
    if needs_form && !submit_form(cp, &shown, o).await {
        return false;
    }
    if a.agreement != "AVAILABLE"
        && a.agreement != "PENDING"
        && !accept_offer(cp, &base, &shown, o).await
    {
        return false;
    }
    if !o.yes {
        println!("Nothing changed. Run again with --yes to do this.");
        return true;
    }
    wait_until_ready(cp, model, &base, &shown, o).await
}

/// Anthropic's first-time-use form: submitted with `--yes`, else only announced. False when
/// activation cannot go on (no form given, or AWS refused it).
async fn submit_form(cp: &impl ControlPlane, shown: &str, o: &Activate<'_>) -> bool {
    match (o.form, o.form_file) {
        (Some(form), Some(file)) if o.yes => match cp.put_use_case(form).await {
            Ok(()) => println!(
                "{shown}: submitted Anthropic's first-time-use form from {}",
                file.display()
            ),
            Err(e) => {
                println!("{shown}: {e}");
                return false;
            }
        },
        (Some(_), Some(file)) => println!(
            "{shown}: would submit Anthropic's first-time-use form from {} (once per account or organisation)",
            file.display()
        ),
        _ => {
            println!(
                "{shown}: refused: Anthropic models need the first-time-use form on file once per account (or organisation), and none is; write it as JSON (companyName, companyWebsite, intendedUsers, industryOption, otherIndustryOption, useCases) and run again with --use-case-file FILE"
            );
            return false;
        }
    }
    true
}

/// Show the model's public offer and accept it with `--yes`. False when activation cannot go on.
async fn accept_offer(cp: &impl ControlPlane, base: &str, shown: &str, o: &Activate<'_>) -> bool {
    let offers = match cp.offers(base).await {
        Ok(offers) => offers,
        Err(e) => {
            println!("{shown}: {e}");
            return false;
        }
    };
    let Some(offer) = offers.first() else {
        println!(
            "{shown}: no public offer to accept in {}; check the model id with `workshop-keys models check`",
            o.region
        );
        return false;
    };
    println!(
        "{shown}: offer {}{}{}",
        offer.offer_id.as_deref().unwrap_or("(no id)"),
        offer
            .legal_terms
            .as_deref()
            .map(|u| format!(", terms {u}"))
            .unwrap_or_default(),
        if offer.prices.is_empty() {
            String::new()
        } else {
            format!(", prices: {}", offer.prices.join("; "))
        }
    );
    if o.yes {
        match cp.create_agreement(base, &offer.offer_token).await {
            Ok(()) => println!("{shown}: accepted the offer"),
            Err(e) => {
                println!("{shown}: {e}");
                return false;
            }
        }
    } else {
        println!("{shown}: would accept this offer");
    }
    true
}

/// Poll until the availability reads ready, or the wait is over. False when a read fails.
async fn wait_until_ready(
    cp: &impl ControlPlane,
    model: &str,
    base: &str,
    shown: &str,
    o: &Activate<'_>,
) -> bool {
    let start = tokio::time::Instant::now();
    loop {
        let form_on_file = if is_anthropic(base) {
            cp.use_case_on_file().await.ok()
        } else {
            None
        };
        match cp.availability(base).await {
            Ok(a) => {
                let r = judge(model, o.region, &a, form_on_file);
                if r.ready {
                    println!("{shown}: ready in {}", o.region);
                    return true;
                }
                if start.elapsed() >= o.wait {
                    println!(
                        "{shown}: not ready yet after {} (agreement {}, entitlement {}): AWS may take up to 15 minutes to finalise a Marketplace subscription; run `workshop-keys models check` later",
                        humantime::format_duration(o.wait),
                        a.agreement,
                        a.entitlement
                    );
                    return true;
                }
            }
            Err(e) => {
                println!("{shown}: {e}");
                return false;
            }
        }
        tokio::time::sleep(POLL.min(o.wait.saturating_sub(start.elapsed()))).await;
    }
}
