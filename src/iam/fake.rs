//! In-memory IAM that enforces IAM's rules, for unit and simulation tests.
