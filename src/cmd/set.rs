//! Set commands (issue 5). Rows and handlers land here.

use super::CommandSpec;

pub static COMMANDS: &[CommandSpec] = &[];
