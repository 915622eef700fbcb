//! `Iam` over the AWS SDK for Rust.
