//! Credentials files: one `<credentials_dir>/<workshop-id>.env` per workshop, mode 0600 in a 0700
//! directory, written atomically. The secret type here never prints itself.

use zeroize::Zeroizing;

/// A secret access key. Debug and Display print a placeholder; the bytes are wiped on drop.
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(Zeroizing::new(value))
    }

    /// The secret itself: only for the credentials file and the SDK's credentials provider.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}
