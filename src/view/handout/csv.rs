//! The CSV handout for a mail merge (RFC 4180: CRLF line ends, fields quoted when needed).

use std::fmt::Write as _;

use zeroize::Zeroizing;

use super::Handout;

/// The header, exactly.
pub const HEADER: &str = "participant,access_key_id,secret_access_key,region,expires";

/// One line per card under [`HEADER`]; `participant` is empty for a shared key, `expires` is
/// `end + grace` in RFC 3339 UTC.
pub fn render(h: &Handout<'_>) -> Zeroizing<String> {
    let expires = crate::time::format_time(h.expires());
    // Quoting at most doubles a field, plus its two quotes and a separator.
    let capacity: usize = h
        .cards
        .iter()
        .map(|c| {
            let own = c.participant.as_deref().map_or(0, str::len)
                + c.access_key_id.len()
                + c.secret.expose().len();
            2 * (own + h.region.len() + expires.len()) + 5 * 3 + 2
        })
        .sum();
    let mut out = Zeroizing::new(String::with_capacity(HEADER.len() + 2 + capacity));
    out.push_str(HEADER);
    out.push_str("\r\n");
    for c in &h.cards {
        let fields = [
            c.participant.as_deref().unwrap_or(""),
            &c.access_key_id,
            c.secret.expose(),
            h.region,
            &expires,
        ];
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, f);
        }
        out.push_str("\r\n");
    }
    out
}

/// `value` as a field: quoted (with `"` doubled) when it holds `,`, `"`, CR or LF.
fn field(out: &mut String, value: &str) {
    if value.contains([',', '"', '\r', '\n']) {
        let _ = write!(out, "\"{}\"", value.replace('"', "\"\""));
    } else {
        out.push_str(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        let mut s = String::new();
        field(&mut s, "plain");
        s.push('|');
        field(&mut s, "a,b");
        s.push('|');
        field(&mut s, "say \"hi\"");
        s.push('|');
        field(&mut s, "two\nlines");
        assert_eq!(s, "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"");
    }
}
