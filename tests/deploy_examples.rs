//! The deployment examples stay valid:
//!
//! - `examples/kubernetes/` passes `kubectl apply --dry-run=client`. kubectl asks an API server
//!   which kinds exist even for a client-side dry run, so the test answers that discovery from a
//!   small stand-in server on 127.0.0.1 (everything else: 404, "not there yet"); the objects
//!   are then checked for what the README promises (PyYAML from `.venv`).
//! - `examples/github-actions/reconcile.yml` parses, and holds the schedule trigger, the OIDC
//!   permission, the concurrency group, the credentials action and the log artifact.
//!
//! kubectl must be installed: the test fails (never skips) without it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    root().join(".venv/bin/python")
}

/// The YAML documents of `file` as JSON, read with PyYAML.
fn yaml_docs(file: &Path) -> Vec<serde_json::Value> {
    let out = Command::new(python())
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]))",
        ])
        .arg(file)
        .output()
        .expect("run .venv/bin/python (scripts/setup-emulator installs it)");
    assert!(
        out.status.success(),
        "{} does not parse as YAML: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

const DISCOVERY: &[(&str, &str)] = &[
    (
        "/api",
        r#"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}"#,
    ),
    (
        "/apis",
        r#"{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"batch","versions":[{"groupVersion":"batch/v1","version":"v1"}],"preferredVersion":{"groupVersion":"batch/v1","version":"v1"}}]}"#,
    ),
    (
        "/api/v1",
        r#"{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"configmaps","singularName":"configmap","namespaced":true,"kind":"ConfigMap","verbs":["create","get","list","patch"]},{"name":"namespaces","singularName":"namespace","namespaced":false,"kind":"Namespace","verbs":["create","get","list","patch"]},{"name":"serviceaccounts","singularName":"serviceaccount","namespaced":true,"kind":"ServiceAccount","verbs":["create","get","list","patch"]}]}"#,
    ),
    (
        "/apis/batch/v1",
        r#"{"kind":"APIResourceList","groupVersion":"batch/v1","resources":[{"name":"cronjobs","singularName":"cronjob","namespaced":true,"kind":"CronJob","verbs":["create","get","list","patch"]}]}"#,
    ),
];

const NOT_FOUND: &str =
    r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#;

/// A stand-in API server that answers discovery and nothing else.
fn discovery_server() -> String {
    let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut length = 0;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let path = line.split_whitespace().nth(1).unwrap_or("/");
            let path = path.split('?').next().unwrap();
            let (status, body) = match DISCOVERY.iter().find(|(p, _)| *p == path) {
                Some((_, b)) => ("200 OK", *b),
                None => ("404 Not Found", NOT_FOUND),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

#[test]
fn kubernetes_examples_pass_kubectl_dry_run() {
    let dir = root().join("examples/kubernetes");
    let kubectl = Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output();
    assert!(
        kubectl.as_ref().is_ok_and(|o| o.status.success()),
        "kubectl is needed for this test and was not found on PATH; install it (https://kubernetes.io/docs/tasks/tools/) and run again"
    );
    let server = discovery_server();
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("kubeconfig");
    std::fs::write(
        &config,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: stand-in\n  cluster:\n    server: {server}\ncontexts:\n- name: stand-in\n  context:\n    cluster: stand-in\n    user: nobody\nusers:\n- name: nobody\n  user: {{}}\ncurrent-context: stand-in\n"
        ),
    )
    .unwrap();
    let out = Command::new("kubectl")
        .env("HOME", tmp.path())
        .arg("--kubeconfig")
        .arg(&config)
        .args(["apply", "--dry-run=client", "--validate=false", "-f"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kubectl apply --dry-run=client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for object in [
        "namespace/workshop-keys",
        "serviceaccount/workshop-keys",
        "configmap/workshop-keys-schedule",
        "cronjob.batch/workshop-keys",
    ] {
        assert!(
            stdout.contains(&format!("{object} created (dry run)")),
            "{object} missing:\n{stdout}"
        );
    }

    let cron = &yaml_docs(&dir.join("cronjob.yaml"))[0];
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    let pod = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(pod["serviceAccountName"], "workshop-keys");
    let container = &pod["containers"][0];
    assert!(container["resources"]["requests"]["memory"].is_string());
    assert_eq!(container["args"][0], "reconcile");
    // The schedule in the ConfigMap is one the tool accepts, keeping nothing on local disk.
    let map = &yaml_docs(&dir.join("configmap.yaml"))[0];
    let text = map["data"]["workshops.toml"].as_str().unwrap();
    let s = workshop_keys::schedule::parse(Path::new("workshops.toml"), text)
        .unwrap_or_else(|e| panic!("the ConfigMap's schedule is invalid: {e}"));
    assert_eq!(
        s.settings.backends.store,
        workshop_keys::schedule::backends::StoreKind::SecretsManager
    );
    assert!(s.settings.backends.state.is_some());
}

#[test]
fn github_actions_workflow_parses_and_holds_what_it_promises() {
    let file = root().join("examples/github-actions/reconcile.yml");
    let wf = &yaml_docs(&file)[0];
    // PyYAML reads the key `on` as the boolean true.
    let on = wf
        .get("on")
        .or_else(|| wf.get("true"))
        .expect("an `on:` trigger");
    assert!(on["schedule"][0]["cron"].is_string(), "a schedule: trigger");
    assert_eq!(wf["permissions"]["id-token"], "write");
    assert!(wf["concurrency"]["group"].is_string());
    assert_eq!(wf["concurrency"]["cancel-in-progress"], false);
    let steps = wf["jobs"]["reconcile"]["steps"].as_array().unwrap();
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    assert!(
        uses.iter()
            .any(|u| u.starts_with("aws-actions/configure-aws-credentials@")),
        "{uses:?}"
    );
    assert!(uses
        .iter()
        .any(|u| u.starts_with("actions/upload-artifact@")));
    let run: String = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(run.contains("--log-format json"), "{run}");
}
