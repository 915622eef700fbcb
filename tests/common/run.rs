//! One run of the built binary, kept for assertions that print everything it said on failure.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

pub struct Run {
    pub what: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` exited {}\n--- stdout\n{}\n--- stderr\n{}",
            self.what, self.code, self.stdout, self.stderr
        )
    }
}

impl Run {
    /// Run `cmd` (at most three minutes) and keep what it said.
    pub fn of(mut cmd: Command, what: String) -> Run {
        let out = super::proxy::output_within(&mut cmd, Duration::from_secs(180));
        Run {
            what,
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn code(&self, expected: i32) -> &Run {
        assert_eq!(self.code, expected, "unexpected exit code:\n{self}");
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }

    /// A line of stdout that contains every one of `words`.
    pub fn stdout_line_with(&self, words: &[&str]) -> &Run {
        assert!(
            self.stdout
                .lines()
                .any(|l| words.iter().all(|w| l.contains(w))),
            "no line of stdout contains all of {words:?}:\n{self}"
        );
        self
    }

    pub fn stderr_has(&self, text: &str) -> &Run {
        assert!(self.stderr.contains(text), "stderr lacks {text:?}:\n{self}");
        self
    }

    /// The AWS API calls the SDK made (`rpc.method` of its spans in JSON logs at debug level).
    pub fn iam_calls(&self) -> BTreeSet<String> {
        const FIELD: &str = "\"rpc.method\":\"";
        let mut calls = BTreeSet::new();
        for line in self.stderr.lines() {
            let mut rest = line;
            while let Some(i) = rest.find(FIELD) {
                rest = &rest[i + FIELD.len()..];
                if let Some(end) = rest.find('"') {
                    calls.insert(rest[..end].to_string());
                }
            }
        }
        calls
    }
}

/// Run `cmd` (the binary, set up by the caller) with `args`, echo what it said to the test's
/// stderr (shown when the test fails), and return its output.
pub fn echoed(mut cmd: Command, args: &[&str]) -> std::process::Output {
    let out = cmd.args(args).output().expect("run workshop-keys");
    eprintln!(
        "$ workshop-keys {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The plan at `at` is a no-op, as a script sees it: `--detailed-exitcode` exits 0 with "No
/// changes.", and the JSON plan has no action. Returns that JSON for further checks.
pub fn assert_no_changes(run: impl Fn(&str, &[&str]) -> Run, at: &str) -> Value {
    let plan = run("plan", &["--at", at, "--detailed-exitcode"]);
    plan.code(0);
    assert!(plan.stdout.contains("No changes."), "{plan}");
    let json = run("plan", &["--at", at, "--output", "json"]).json();
    assert_eq!(json["actions"].as_array().unwrap().len(), 0, "{json}");
    json
}
