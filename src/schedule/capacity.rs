//! Capacity: no user may need more than two keys at one moment.
