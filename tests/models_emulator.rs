//! Bedrock model access end to end (issue 16), through the built binary: IAM on the shared moto
//! server (through `AWS_ENDPOINT_URL`), Bedrock's control plane and runtime on the local
//! stand-in in `common::bedrock` (through `AWS_ENDPOINT_URL_BEDROCK` and
//! `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`: moto serves neither the model-access operations nor the
//! Marketplace answers). `models check` exit codes and JSON; `models activate` without `--yes`
//! changes nothing; readiness lines in `plan` from the key window on; `reconcile` with a model
//! not ready; the re-verification in the hour before the start, and its failure path.

mod common;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use common::bedrock::{Bedrock, Model};
use common::run::Run;

const TITAN: &str = "amazon.titan-embed-text-v1";
const HAIKU: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";
const HAIKU_US: &str = "us.anthropic.claude-3-5-haiku-20241022-v1:0";
const LLAMA: &str = "meta.llama3-8b-instruct-v1:0";
const PREMIER: &str = "amazon.nova-premier-v1:0";

/// Far enough ahead that `models check` (which reads the clock) sees the workshop as upcoming.
const START: &str = "2030-06-03T09:00:00Z";
const END: &str = "2030-06-03T17:00:00Z";
/// Before the key window (lead 12h).
const BEFORE_WINDOW: &str = "2030-06-02T20:00:00Z";
/// In the key window, hours before the start.
const EARLY: &str = "2030-06-03T03:00:00Z";
/// Inside the hour before the start.
const LAST_HOUR: &str = "2030-06-03T08:30:00Z";
const LATER_IN_LAST_HOUR: &str = "2030-06-03T08:40:00Z";

struct Fx {
    dir: tempfile::TempDir,
    bedrock: Bedrock,
    user: String,
    path: String,
}

impl Fx {
    fn new() -> Fx {
        Fx {
            dir: tempfile::tempdir().unwrap(),
            bedrock: Bedrock::start(),
            user: format!("models-{}", common::unique_suffix()),
            path: common::unique_path("models"),
        }
    }

    /// A schedule with one workshop `ws`; `settings` and `workshop` are extra lines.
    fn schedule(&self, settings: &str, workshop: &str) {
        let text = format!(
            "[settings]\nuser = \"{}\"\npath = \"{}\"\nlead = \"12h\"\nverify_timeout = \"2s\"\nnotify = [\"sh\", \"-c\", \"cat > '{}'\"]\n{settings}\n\n[[workshop]]\nid = \"ws\"\nstart = {START}\nend = {END}\n{workshop}\n",
            self.user,
            self.path,
            self.notified().display()
        );
        std::fs::write(self.dir.path().join("workshops.toml"), text).unwrap();
    }

    fn notified(&self) -> PathBuf {
        self.dir.path().join("notified.json")
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = common::shared().command();
        self.bedrock.apply_env(&mut cmd);
        cmd.current_dir(self.dir.path()).args(args);
        Run::of(cmd, format!("workshop-keys {}", args.join(" ")))
    }

    fn posts(&self) -> Vec<String> {
        self.bedrock
            .calls()
            .into_iter()
            .filter(|c| c.starts_with("POST") && !c.ends_with("/invoke"))
            .collect()
    }

    fn availability_reads(&self) -> usize {
        self.bedrock
            .calls()
            .iter()
            .filter(|c| c.starts_with("GET /foundation-model-availability/"))
            .count()
    }

    fn invocations(&self, model: &str) -> u32 {
        self.bedrock
            .state
            .lock()
            .unwrap()
            .invocations
            .get(model)
            .copied()
            .unwrap_or(0)
    }

    fn key_file(&self) -> &Path {
        self.dir.path()
    }
}

fn entry<'a>(list: &'a Value, model: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["model"] == model)
        .unwrap_or_else(|| panic!("no entry for {model} in {list:#}"))
}

#[test]
fn models_check_reports_each_model_and_exits_by_readiness() {
    let fx = Fx::new();
    fx.bedrock
        .set(TITAN, Model::available())
        .set(HAIKU, Model::available())
        .set(LLAMA, Model::not_entitled())
        .set(PREMIER, Model::not_in_region())
        .set_use_case(Some(r#"{"companyName":"Example"}"#));
    fx.schedule(
        &format!("policy = \"all-models\"\nmodels = [\"{TITAN}\", \"{HAIKU_US}\"]"),
        "",
    );
    let run = fx.run(&["models", "check", "--output", "json"]);
    run.code(0);
    let list = run.json();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list:#}");
    // The profile is checked through the foundation model it routes to.
    assert_eq!(
        entry(&list, HAIKU_US),
        &json!({
            "model": HAIKU_US,
            "region": "us-east-1",
            "ready": true,
            "authorization": "AUTHORIZED",
            "entitlement": "AVAILABLE",
            "agreement": "AVAILABLE",
            "region_availability": "AVAILABLE",
            "fix": null,
        })
    );
    assert!(fx
        .bedrock
        .calls()
        .contains(&format!("GET /foundation-model-availability/{HAIKU}")));
    assert!(fx
        .bedrock
        .calls()
        .contains(&"GET /use-case-for-model-access".to_string()));

    // A workshop of its own uses models that are not ready: exit 1, each with its fix.
    fx.schedule(
        &format!("policy = \"all-models\"\nmodels = [\"{TITAN}\"]"),
        &format!("models = [\"{LLAMA}\", \"{PREMIER}\", \"{HAIKU_US}\"]"),
    );
    fx.bedrock.set_use_case(None);
    let run = fx.run(&["models", "check", "--output", "json"]);
    run.code(1);
    let list = run.json();
    let llama = entry(&list, LLAMA);
    assert_eq!(llama["ready"], false);
    assert_eq!(llama["agreement"], "NOT_AVAILABLE");
    assert_eq!(
        llama["fix"],
        format!("accept the model's offer: run `workshop-keys models activate {LLAMA} --yes`")
    );
    let premier = entry(&list, PREMIER);
    assert_eq!(premier["region_availability"], "NOT_AVAILABLE");
    assert!(premier["fix"]
        .as_str()
        .unwrap()
        .contains("not offered in us-east-1"));
    let haiku = entry(&list, HAIKU_US);
    assert_eq!(haiku["ready"], false);
    assert!(haiku["fix"].as_str().unwrap().contains(&format!(
        "workshop-keys models activate {HAIKU_US} --yes --use-case-file"
    )));

    let run = fx.run(&["models", "check"]);
    run.code(1)
        .stdout_line_with(&["not ready", LLAMA, "agreement NOT_AVAILABLE"])
        .stdout_line_with(&["fix:", "workshop-keys models activate"])
        .stdout_line_with(&["3 models not ready in us-east-1."]);
    assert!(fx.posts().is_empty(), "check only reads: {:?}", fx.posts());
}

#[test]
fn activate_without_yes_changes_nothing() {
    let fx = Fx::new();
    fx.bedrock
        .set(LLAMA, Model::not_entitled())
        .set(HAIKU, Model::available());
    fx.schedule("", "");

    let run = fx.run(&["models", "activate", LLAMA]);
    run.code(0)
        .stdout_line_with(&[LLAMA, "offer offer-meta", "input tokens: 0.0008 USD per 1K"])
        .stdout_line_with(&["would accept this offer"])
        .stdout_line_with(&["Nothing changed. Run again with --yes"]);
    assert!(fx.posts().is_empty(), "{:?}", fx.posts());
    assert_eq!(fx.bedrock.model(LLAMA).agreement, "NOT_AVAILABLE");

    let run = fx.run(&["models", "activate", LLAMA, "--yes"]);
    run.code(0)
        .stdout_line_with(&[LLAMA, "accepted the offer"])
        .stdout_line_with(&[LLAMA, "ready in us-east-1"]);
    assert_eq!(
        fx.posts(),
        ["POST /create-foundation-model-agreement".to_string()]
    );
    assert_eq!(fx.bedrock.model(LLAMA).entitlement, "AVAILABLE");

    // Anthropic without the use-case form on file: refused, unless a form is given.
    let run = fx.run(&["models", "activate", HAIKU_US, "--yes"]);
    run.code(1)
        .stdout_line_with(&[HAIKU_US, "refused", "--use-case-file"]);
    let form = fx.dir.path().join("form.json");
    std::fs::write(&form, r#"{"companyName":"Example","useCases":"Workshops"}"#).unwrap();
    let form_arg = form.to_str().unwrap();
    let run = fx.run(&["models", "activate", HAIKU_US, "--use-case-file", form_arg]);
    run.code(0)
        .stdout_line_with(&["would submit Anthropic's first-time-use form"]);
    assert_eq!(fx.posts().len(), 1, "still only the earlier agreement");
    assert!(fx.bedrock.state.lock().unwrap().use_case.is_none());

    let run = fx.run(&[
        "models",
        "activate",
        HAIKU_US,
        "--yes",
        "--use-case-file",
        form_arg,
    ]);
    run.code(0)
        .stdout_line_with(&["submitted Anthropic's first-time-use form"])
        .stdout_line_with(&[HAIKU_US, "ready in us-east-1"]);
    let stored = fx.bedrock.state.lock().unwrap().use_case.clone().unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&stored).unwrap()["useCases"],
        "Workshops"
    );
}

#[test]
fn plan_shows_models_not_ready_from_the_key_window_on() {
    let fx = Fx::new();
    fx.bedrock
        .set(TITAN, Model::available())
        .set(LLAMA, Model::not_entitled());
    fx.schedule(&format!("models = [\"{TITAN}\", \"{LLAMA}\"]"), "");

    let run = fx.run(&["plan", "--at", BEFORE_WINDOW]);
    run.code(0);
    assert!(!run.stdout.contains("model not ready"), "{run}");
    assert_eq!(fx.availability_reads(), 0, "no reads before the key window");

    let run = fx.run(&["plan", "--at", EARLY]);
    run.code(0).stdout_line_with(&[
        "! model not ready",
        LLAMA,
        "[workshop ws]",
        &format!("workshop-keys models activate {LLAMA} --yes"),
    ]);
    assert!(
        !run.stdout.contains(&format!("not ready    {TITAN}")),
        "{run}"
    );
    let run = fx.run(&["plan", "--at", EARLY, "--output", "json"]);
    assert_eq!(
        run.json()["models_not_ready"],
        json!([{
            "workshop": "ws",
            "model": LLAMA,
            "fix": format!("accept the model's offer: run `workshop-keys models activate {LLAMA} --yes`"),
        }])
    );
    let run = fx.run(&["plan", "--at", EARLY, "--detailed-exitcode"]);
    run.code(2);

    // Off for operators without control-plane read access.
    fx.schedule(
        &format!("models = [\"{TITAN}\", \"{LLAMA}\"]\ncheck_models = false"),
        "",
    );
    let reads = fx.availability_reads();
    let run = fx.run(&["plan", "--at", EARLY, "--output", "json"]);
    assert!(run.json().get("models_not_ready").is_none(), "{run}");
    assert_eq!(fx.availability_reads(), reads);
}

#[test]
fn reconcile_with_a_model_not_ready_makes_the_key_fails_and_notifies() {
    let fx = Fx::new();
    fx.bedrock.set(LLAMA, Model::not_entitled());
    fx.schedule(&format!("models = [\"{LLAMA}\"]"), "");
    let run = fx.run(&["reconcile", "--at", EARLY, "--output", "json"]);
    run.code(1);
    let out = run.json();
    assert!(fx.key_file().join("credentials/ws.env").exists(), "{run}");
    assert_eq!(out["plan"]["models_not_ready"][0]["model"], LLAMA);
    // The new key is checked against the workshop's model, not Titan.
    assert_eq!(out["verifications"][0]["models"][0]["model"], LLAMA);
    assert_eq!(
        out["verifications"][0]["outcome"],
        "marketplace-subscription"
    );
    assert_eq!(fx.invocations(TITAN), 0);
    run.stderr_has(&format!("error: model {LLAMA} of workshop ws is not ready"));
    let notified: Value =
        serde_json::from_str(&std::fs::read_to_string(fx.notified()).unwrap()).unwrap();
    assert_eq!(notified["plan"]["models_not_ready"][0]["workshop"], "ws");
}

#[test]
fn reverify_once_in_the_hour_before_the_start() {
    let fx = Fx::new();
    fx.bedrock.set(TITAN, Model::available());
    fx.schedule(&format!("models = [\"{TITAN}\"]"), "");
    fx.run(&["reconcile", "--at", EARLY]).code(0);
    assert_eq!(fx.invocations(TITAN), 1);

    // Not before the hour.
    fx.run(&["plan", "--at", EARLY, "--detailed-exitcode"])
        .code(0);
    let run = fx.run(&["plan", "--at", LAST_HOUR]);
    run.stdout_line_with(&["~ reverify", "[workshop ws]", "starts in 30m"]);
    let json = fx
        .run(&["plan", "--at", LAST_HOUR, "--output", "json"])
        .json();
    assert_eq!(json["reverify"][0]["workshop"], "ws");
    assert!(
        json["actions"].as_array().unwrap().is_empty(),
        "no IAM change: {json:#}"
    );

    let run = fx.run(&["reconcile", "--at", LAST_HOUR, "--output", "json"]);
    run.code(0);
    assert_eq!(run.json()["verifications"][0]["outcome"], "verified");
    assert_eq!(fx.invocations(TITAN), 2);
    // Done once: a later run in the same hour has nothing to do.
    fx.run(&["plan", "--at", LATER_IN_LAST_HOUR, "--detailed-exitcode"])
        .code(0);
    fx.run(&["reconcile", "--at", LATER_IN_LAST_HOUR]).code(0);
    assert_eq!(fx.invocations(TITAN), 2);
}

#[test]
fn reverify_catches_a_subscription_that_failed_after_the_first_call() {
    let fx = Fx::new();
    // The first call goes through while the subscription is finalised; then it fails.
    fx.bedrock.set(LLAMA, Model::succeeds_then_denies(1));
    fx.schedule(&format!("models = [\"{LLAMA}\"]"), "");
    let run = fx.run(&["reconcile", "--at", EARLY, "--output", "json"]);
    run.code(0);
    assert_eq!(run.json()["verifications"][0]["outcome"], "verified");
    let _ = std::fs::remove_file(fx.notified());

    let run = fx.run(&["reconcile", "--at", LAST_HOUR, "--output", "json"]);
    run.code(1);
    let out = run.json();
    // No change to IAM but the tag that records the re-verification (bookkeeping is reported
    // with the other writes).
    let results = out["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{out:#}");
    assert_eq!(results[0]["action"], "tag_user", "{out:#}");
    let check = &out["verifications"][0];
    assert_eq!(check["outcome"], "marketplace-subscription");
    assert!(
        check["advice"]
            .as_str()
            .unwrap()
            .contains(&format!("workshop-keys models activate {LLAMA} --yes")),
        "{check:#}"
    );
    let notified: Value =
        serde_json::from_str(&std::fs::read_to_string(fx.notified()).unwrap()).unwrap();
    assert_eq!(
        notified["verifications"][0]["outcome"],
        "marketplace-subscription"
    );
    assert_eq!(notified["ok"], false);
    // Not done while it fails: the next run checks again.
    fx.run(&["plan", "--at", LATER_IN_LAST_HOUR])
        .stdout_line_with(&["~ reverify", "[workshop ws]"]);
}
