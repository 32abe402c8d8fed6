//! Small helpers over the `redis` crate for asserting exact replies.

use redis::Value;

/// A reply, or the server's error as Redis prints it (`ERR syntax error`,
/// `WRONGTYPE Operation…`), or `client error: …` for anything else (I/O,
/// parse, cluster routing).
pub type Reply = Result<Value, String>;

/// Sends one command and returns its reply.
pub async fn q<C, A>(c: &mut C, args: &[A]) -> Reply
where
    C: redis::aio::ConnectionLike,
    A: AsRef<[u8]>,
{
    let mut cmd = redis::cmd(&String::from_utf8_lossy(args[0].as_ref()));
    for a in &args[1..] {
        cmd.arg(a.as_ref());
    }
    match cmd.query_async::<Value>(c).await {
        Ok(Value::ServerError(e)) => Err(match e.details() {
            Some(d) => format!("{} {d}", e.code()),
            None => e.code().to_string(),
        }),
        Ok(v) => Ok(v),
        Err(e) => Err(error_text(&e)),
    }
}

/// Redis's text for a server error, else `client error: …`.
pub fn error_text(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_string(),
        _ => format!("client error: {e}"),
    }
}

pub fn ok() -> Reply {
    Ok(Value::Okay)
}

pub fn nil() -> Reply {
    Ok(Value::Nil)
}

pub fn int(i: i64) -> Reply {
    Ok(Value::Int(i))
}

pub fn bulk(b: impl AsRef<[u8]>) -> Reply {
    Ok(Value::BulkString(b.as_ref().to_vec()))
}

pub fn status(s: &str) -> Reply {
    Ok(Value::SimpleString(s.to_string()))
}

pub fn err(text: &str) -> Reply {
    Err(text.to_string())
}

/// An array reply of bulk strings, `None` standing for nil.
pub fn array(items: &[Option<&str>]) -> Reply {
    Ok(Value::Array(
        items
            .iter()
            .map(|i| match i {
                Some(s) => Value::BulkString(s.as_bytes().to_vec()),
                None => Value::Nil,
            })
            .collect(),
    ))
}

/// The integer of an `Int` reply; panics otherwise.
pub fn as_int(r: &Reply) -> i64 {
    match r {
        Ok(Value::Int(i)) => *i,
        other => panic!("expected an integer, got {other:?}"),
    }
}

/// The bytes of a bulk or simple string reply, as text; panics otherwise.
pub fn as_text(r: &Reply) -> String {
    match r {
        Ok(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
        Ok(Value::SimpleString(s)) => s.clone(),
        Ok(Value::Okay) => "OK".into(),
        other => panic!("expected a string, got {other:?}"),
    }
}

/// Seconds since the Unix epoch.
pub fn unix_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
