//! Small wording helpers shared by views, checks and error hints; no dependencies inside the crate.

use std::path::Path;

/// `1 workshop`, `2 workshops`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `path` as one shell word, for hints meant to be pasted: as it is when only safe characters
/// appear, otherwise in single quotes (a `'` written as `'\''`).
pub fn shell_quote(path: &Path) -> String {
    let text = path.to_string_lossy();
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        return text.into_owned();
    }
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_pluralises() {
        assert_eq!(count(1, "workshop", "workshops"), "1 workshop");
        assert_eq!(count(0, "workshop", "workshops"), "0 workshops");
    }

    #[test]
    fn shell_quote_quotes_only_when_needed() {
        assert_eq!(shell_quote(Path::new("/srv/keys/creds")), "/srv/keys/creds");
        assert_eq!(
            shell_quote(Path::new("sub dir/../creds here")),
            "'sub dir/../creds here'"
        );
        assert_eq!(shell_quote(Path::new("it's")), "'it'\\''s'");
        assert_eq!(shell_quote(Path::new("$HOME;rm")), "'$HOME;rm'");
    }
}
