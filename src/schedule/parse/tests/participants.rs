//! `participants` on a workshop, `pool` and `pool_size` in settings.

use super::*;

const WS: &str = "[[workshop]]\nid = \"a\"\nstart = 2026-12-03T09:00:00+01:00\nend = 2026-12-03T17:00:00+01:00\n";

#[test]
fn participants_and_the_pool_are_read() {
    let s = ok(&format!(
        "[settings]\npool = \"ws-p\"\npool_size = 250\n\n{WS}participants = 40\n"
    ));
    assert_eq!(
        (s.settings.pool.as_str(), s.settings.pool_size),
        ("ws-p", 250)
    );
    assert_eq!(s.workshops[0].participants, Some(40));
    let s = ok(W);
    assert_eq!(s.settings.pool, "workshop-participant");
    assert_eq!(s.settings.pool_size, 100);
    assert_eq!(s.workshops[0].participants, None);
}

#[test]
fn pool_users_are_not_the_schedules_users() {
    let s = ok(&format!(
        "{WS}participants = 3\n[[workshop]]\nid = \"b\"\nuser = \"other\"\n\
         start = 2026-12-04T09:00:00Z\nend = 2026-12-04T17:00:00Z\n"
    ));
    assert_eq!(s.users(), ["other", "workshop-bedrock-user"]);
}

#[test]
fn participants_must_be_a_whole_number_in_range() {
    assert_eq!(
        one(&format!("{WS}participants = 0\n")),
        "5:16: participants = 0 is out of range: it must be from 1 to 1000 | \
         write participants = 12, or another number in that range"
    );
    assert_eq!(
        one(&format!("{WS}participants = 1001\n")),
        "5:16: participants = 1001 is out of range: it must be from 1 to 1000 | \
         write participants = 12, or another number in that range"
    );
    assert_eq!(
        one(&format!("{WS}participants = -3\n")),
        "5:16: participants = -3 is out of range: it must be from 1 to 1000 | \
         write participants = 12, or another number in that range"
    );
    assert_eq!(
        one(&format!("{WS}participants = \"12\"\n")),
        "5:16: participants must be a whole number | \
         write it without quotes: participants = 12 (found a string)"
    );
    assert_eq!(
        one(&format!("{WS}participants = 1.5\n")),
        "5:16: participants must be a whole number | \
         write participants = 12, a whole number without quotes (found a float)"
    );
}

#[test]
fn participants_with_a_user_of_its_own_is_an_error() {
    assert_eq!(
        one(&format!("{WS}participants = 12\nuser = \"trainer\"\n")),
        "6:1: workshop \"a\" has both participants and its own user | participants' keys \
         live on the pool's users (settings.pool); remove `user` or `participants`"
    );
}

#[test]
fn pool_size_must_be_in_range() {
    assert_eq!(
        one("[settings]\npool_size = 4901\n"),
        "2:13: pool_size = 4901 is out of range: it must be from 1 to 4900 | \
         write pool_size = 100, or another number in that range"
    );
    assert_eq!(
        one("[settings]\npool_size = \"many\"\n"),
        "2:13: pool_size must be a whole number | \
         write pool_size = 100, a whole number without quotes (found a string)"
    );
    assert_eq!(
        ok("[settings]\npool_size = 4900\n").settings.pool_size,
        4900
    );
}

#[test]
fn pool_user_names_must_be_valid_iam_user_names() {
    // 59 characters + "-" + "4900" = 64: fits; one more does not.
    let fits = "p".repeat(59);
    let s = ok(&format!(
        "[settings]\npool = \"{fits}\"\npool_size = 4900\n"
    ));
    assert_eq!(s.settings.pool, fits);
    let long = "p".repeat(60);
    let e = one(&format!(
        "[settings]\npool = \"{long}\"\npool_size = 4900\n"
    ));
    assert!(
        e.starts_with(&format!(
            "2:8: invalid pool \"{long}\": its users are named \"{long}-001\" to \"{long}-4900\""
        )),
        "{e}"
    );
    assert!(e.contains("| IAM user names are 1-64 characters"), "{e}");
    assert!(one("[settings]\npool = \"a b\"\n").starts_with("2:8: invalid pool \"a b\""));
    assert!(one("[settings]\npool = \"\"\n").starts_with("2:8: invalid pool \"\""));
    assert_eq!(
        one("[settings]\npool = 3\n"),
        "2:8: pool must be a string | write pool = \"workshop-participant\" (found an integer)"
    );
}

#[test]
fn a_named_user_must_not_be_a_pool_user() {
    assert_eq!(
        one("[settings]\nuser = \"workshop-participant-007\"\n"),
        "2:8: user \"workshop-participant-007\" is one of the pool's users | the pool's \
         users hold participants' keys; give the shared user another name, or change pool"
    );
    assert_eq!(
        one(&format!("{WS}user = \"workshop-participant-100\"\n")),
        "5:8: user \"workshop-participant-100\" is one of the pool's users | the pool's \
         users hold participants' keys; give this workshop another user, or use participants = N"
    );
    // Beyond the pool's size it is just a user.
    ok(&format!("{WS}user = \"workshop-participant-101\"\n"));
}

#[test]
fn participant_workshops_do_not_count_against_the_shared_user() {
    // Three workshops at once on settings.user would collide; with participants they do not.
    let three: String = ["a", "b", "c"]
        .iter()
        .map(|id| {
            format!(
                "[[workshop]]\nid = \"{id}\"\nparticipants = 2\n\
                 start = 2026-12-03T09:00:00Z\nend = 2026-12-03T17:00:00Z\n"
            )
        })
        .collect();
    assert_eq!(ok(&three).workshops.len(), 3);
}
