//! Server commands: INFO, DBSIZE, TIME, CONFIG, FLUSHALL, COMMAND, …

use super::CommandSpec;

pub static COMMANDS: &[CommandSpec] = &[];
