//! Cluster commands: CLUSTER …, READONLY, READWRITE, ASKING.

use super::CommandSpec;

pub static COMMANDS: &[CommandSpec] = &[];
