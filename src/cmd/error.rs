//! Errors become RESP replies here, and only here.

use redraft_resp::Reply;

use crate::keyspace::KsError;

pub fn err_syntax() -> Reply {
    Reply::error("ERR syntax error")
}

pub fn err_not_integer() -> Reply {
    Reply::error("ERR value is not an integer or out of range")
}

pub fn err_not_float() -> Reply {
    Reply::error("ERR value is not a valid float")
}

pub fn err_wrong_type() -> Reply {
    Reply::error("WRONGTYPE Operation against a key holding the wrong kind of value")
}

pub fn err_wrong_args(name: &str) -> Reply {
    Reply::error(format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}

/// Redis's reply to an unknown command, quoting up to 128 bytes of each
/// of the first arguments.
pub fn err_unknown_command(args: &[bytes::Bytes]) -> Reply {
    // Redis formats with `%.*s`, which stops at a NUL byte.
    fn c_str(a: &[u8]) -> &[u8] {
        a.iter().position(|&b| b == 0).map_or(a, |n| &a[..n])
    }
    let name = c_str(&args[0]);
    let name = String::from_utf8_lossy(&name[..name.len().min(128)]).into_owned();
    // The 128-byte budget covers the quoted arguments alone, as in Redis.
    let mut quoted: Vec<u8> = Vec::new();
    for a in args.iter().skip(1) {
        if quoted.len() >= 128 {
            break;
        }
        let room = 128 - quoted.len();
        let a = c_str(a);
        quoted.push(b'\'');
        quoted.extend_from_slice(&a[..a.len().min(room)]);
        quoted.extend_from_slice(b"' ");
    }
    let quoted = String::from_utf8_lossy(&quoted);
    // An error line must not break the protocol: CR and LF become spaces.
    let text = format!("ERR unknown command '{name}', with args beginning with: {quoted}")
        .replace(['\r', '\n'], " ");
    Reply::error(text)
}

pub fn err_unknown_subcommand(container: &str, sub: &[u8]) -> Reply {
    Reply::error(format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        String::from_utf8_lossy(sub),
        container.to_ascii_uppercase()
    ))
}

pub fn err_crossslot() -> Reply {
    Reply::error("CROSSSLOT Keys in request don't hash to the same slot")
}

impl From<KsError> for Reply {
    fn from(e: KsError) -> Reply {
        match e {
            KsError::WrongType => err_wrong_type(),
            KsError::Command(text) => Reply::Error(text),
            KsError::Io(e) => {
                tracing::error!("storage error: {e}");
                Reply::error(format!("ERR storage error: {e}"))
            }
        }
    }
}

/// Turns a keyspace result into a reply.
pub fn reply<T>(r: Result<T, KsError>, ok: impl FnOnce(T) -> Reply) -> Reply {
    match r {
        Ok(v) => ok(v),
        Err(e) => e.into(),
    }
}
