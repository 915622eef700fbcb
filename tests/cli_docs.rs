//! Shell completions and the man page come from the CLI definition itself.

use std::process::Command;

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_workshop-keys"))
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_name_every_command_in_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = run(&["completions", shell]);
        for command in ["validate", "plan", "reconcile", "status", "verify", "show"] {
            assert!(
                script.contains(command),
                "{shell} completion lacks {command}"
            );
        }
        assert!(
            script.contains("schedule"),
            "{shell} completion lacks --schedule"
        );
    }
    assert!(run(&["completions", "bash"]).contains("complete -F _workshop__keys"));
}

#[test]
fn man_page_is_roff_with_the_commands() {
    let page = run(&["man"]);
    assert!(
        page.contains(".TH workshop-keys 1"),
        "{}",
        &page[..200.min(page.len())]
    );
    assert!(page.contains("reconcile"));
    // roff escapes hyphens.
    assert!(
        page.contains(r"\-\-log\-format"),
        "man page lacks --log-format"
    );
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_workshop-keys"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'tcsh'"));
}
