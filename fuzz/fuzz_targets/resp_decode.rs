//! Fuzz target: the RESP request decoder (`redraft_resp::parse_request`).
//!
//! The first input byte picks the limits (authenticated or not, tiny or
//! default bulk and multibulk limits) and where the bytes are split into
//! two reads; the rest is the byte stream. Checked: no panic, no hang;
//! every error is a Redis protocol error; every request is non-empty and
//! consumes bytes; and the outcome is the same whether the stream arrives
//! at once or in two reads.
//!
//! Seeds: `resp/tests/corpus/malformed/` (see `scripts/fuzz.sh`).

#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use redraft_resp::{parse_request, Limits};

const KNOWN_ERRORS: &[&str] = &[
    "invalid multibulk length",
    "invalid bulk length",
    "unauthenticated multibulk length",
    "unauthenticated bulk length",
    "too big mbulk count string",
    "too big bulk count string",
    "too big inline request",
    "unbalanced quotes in request",
];

#[derive(Debug, PartialEq, Eq)]
enum End {
    Wait,
    Error(String),
}

fn decode_all(buf: &mut BytesMut, limits: &Limits, out: &mut Vec<Vec<Bytes>>) -> End {
    loop {
        let before = buf.len();
        match parse_request(buf, limits) {
            Ok(Some(r)) => {
                assert!(!r.args.is_empty(), "an empty request was returned");
                assert!(buf.len() < before, "a request consumed no bytes");
                out.push(r.args);
            }
            Ok(None) => return End::Wait,
            Err(e) => {
                let msg = e.0;
                assert!(
                    KNOWN_ERRORS.contains(&msg.as_str())
                        || (msg.starts_with("expected '$', got '") && msg.ends_with('\'')),
                    "unknown protocol error {msg:?}"
                );
                return End::Error(msg);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        unauthenticated: control & 1 != 0,
        max_bulk_len: if control & 2 != 0 {
            16
        } else {
            512 * 1024 * 1024
        },
        max_multibulk_len: if control & 4 != 0 { 4 } else { i32::MAX as u64 },
    };
    let mut whole_reqs = Vec::new();
    let whole_end = decode_all(&mut BytesMut::from(&stream[..]), &limits, &mut whole_reqs);

    let cut = (usize::from(control >> 3) * stream.len()) / 31;
    let mut split_reqs = Vec::new();
    let mut buf = BytesMut::from(&stream[..cut.min(stream.len())]);
    let mut split_end = decode_all(&mut buf, &limits, &mut split_reqs);
    if split_end == End::Wait {
        buf.extend_from_slice(&stream[cut.min(stream.len())..]);
        split_end = decode_all(&mut buf, &limits, &mut split_reqs);
    }
    assert_eq!(
        split_reqs, whole_reqs,
        "requests depend on how bytes arrive"
    );
    assert_eq!(
        split_end, whole_end,
        "the outcome depends on how bytes arrive"
    );
});
