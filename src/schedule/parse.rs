//! Schedule text -> validated `Schedule`, collecting every problem with its location.

use std::path::Path;

use super::{Schedule, ScheduleError};

pub fn parse(file: &Path, _text: &str) -> Result<Schedule, ScheduleError> {
    Err(ScheduleError::Invalid {
        path: file.to_path_buf(),
        diagnostics: vec![],
    })
}
