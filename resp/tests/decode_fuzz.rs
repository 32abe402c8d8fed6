//! Bounded fuzzing of the request decoder, part of the normal test suite.
//!
//! What: [`parse_request`] is fed (1) a checked-in corpus of malformed
//! frames whose outcome was recorded from redis-server 7.0.15
//! (`tests/corpus/`), (2) a few thousand random byte strings built from RESP
//! tokens, split into random chunks, and (3) random argument vectors
//! encoded as multibulk and inline requests.
//!
//! Invariants checked: the decoder never panics; every error is one of
//! Redis's protocol errors; every request it returns is non-empty and
//! consumed bytes; the outcome does not depend on how the bytes were split
//! into reads; and a well-formed request decodes to exactly its arguments.
//!
//! The longer, coverage-guided run is `scripts/fuzz.sh` (cargo-fuzz target
//! `resp_decode`, seeded with the same corpus).

use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use redraft_resp::{parse_request, Limits, Protocol, ProtocolError, Reply};

/// Every error text the decoder may produce (after `Protocol error: `).
/// `expected '$', got '…'` carries the offending character.
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

fn assert_protocol_error(e: &ProtocolError) {
    let text = e.to_string();
    let msg = text
        .strip_prefix("Protocol error: ")
        .unwrap_or_else(|| panic!("not a protocol error: {text:?}"));
    let ok = KNOWN_ERRORS.contains(&msg)
        || (msg.starts_with("expected '$', got '")
            && msg.ends_with('\'')
            && msg.chars().count() == 21);
    assert!(ok, "unexpected protocol error text {msg:?}");
}

/// How a byte stream ends after its requests.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// Waiting for more bytes.
    Wait,
    /// A protocol error: the connection is closed.
    Error(String),
}

/// Decodes everything in `buf` as a connection does, checking the
/// per-request invariants.
fn decode_all(buf: &mut BytesMut, limits: &Limits) -> (Vec<Vec<Bytes>>, End) {
    let mut requests = Vec::new();
    loop {
        let before = buf.len();
        match parse_request(buf, limits) {
            Ok(Some(r)) => {
                assert!(
                    !r.args.is_empty(),
                    "empty requests are skipped, never returned"
                );
                assert!(buf.len() < before, "a request consumes bytes");
                requests.push(r.args);
            }
            Ok(None) => return (requests, End::Wait),
            Err(e) => {
                assert_protocol_error(&e);
                return (requests, End::Error(e.0));
            }
        }
    }
}

/// Decodes `input` delivered in pieces at `cuts` (offsets, any order).
fn decode_chunked(input: &[u8], cuts: &[usize], limits: &Limits) -> (Vec<Vec<Bytes>>, End) {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    cuts.push(input.len());
    cuts.sort_unstable();
    let mut buf = BytesMut::new();
    let mut requests = Vec::new();
    let mut from = 0;
    for cut in cuts {
        buf.extend_from_slice(&input[from..cut]);
        from = cut;
        let (mut got, end) = decode_all(&mut buf, limits);
        requests.append(&mut got);
        if end != End::Wait {
            return (requests, end);
        }
    }
    (requests, End::Wait)
}

// -- the corpus ----------------------------------------------------------

/// Cases where redraft's bytes differ from Redis's on purpose, with why.
/// (file stem, what redraft sends after `-ERR `, reason)
const DEVIATIONS: &[(&str, &[u8], &str)] = &[(
    "bad_type_high_byte",
    "Protocol error: expected '$', got '\u{ff}'".as_bytes(),
    "error texts are Rust strings: the byte 0xFF is sent as U+00FF in UTF-8, \
     where Redis sends the raw byte",
)];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// `\xHH` escapes to bytes.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') && i + 3 < b.len() {
            let hex = std::str::from_utf8(&b[i + 2..i + 4]).expect("hex");
            out.push(u8::from_str_radix(hex, 16).expect("\\xHH"));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// The bytes a connection sends for a protocol error (RESP2: the error
/// closes the connection before any HELLO could matter).
fn wire_error(text: &str) -> Vec<u8> {
    let mut out = BytesMut::new();
    Reply::error(format!("ERR {}", ProtocolError(text.to_string())))
        .encode(Protocol::Resp2, &mut out);
    out.to_vec()
}

#[test]
fn corpus_matches_redis() {
    let expected =
        std::fs::read_to_string(corpus_dir().join("expected.txt")).expect("expected.txt");
    let mut checked = 0;
    let mut files: Vec<_> = std::fs::read_dir(corpus_dir().join("malformed"))
        .expect("corpus folder")
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    for path in files {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("file name");
        let line = expected
            .lines()
            .find(|l| l.split('\t').next() == Some(stem))
            .unwrap_or_else(|| panic!("{stem}: no line in expected.txt"));
        let fields: Vec<&str> = line.split('\t').collect();
        let (want_n, want_end) = (fields[1].parse::<usize>().expect("count"), fields[2]);
        let input = std::fs::read(&path).expect("read corpus file");
        let (requests, end) = decode_all(&mut BytesMut::from(&input[..]), &Limits::default());
        assert_eq!(requests.len(), want_n, "{stem}: requests before the end");
        match (end, want_end) {
            (End::Wait, "wait") => {}
            (End::Error(text), want) if want != "wait" => {
                let got = wire_error(&text);
                match DEVIATIONS.iter().find(|d| d.0 == stem) {
                    Some((_, ours, _)) => {
                        assert_eq!(
                            got,
                            [b"-ERR ", *ours, b"\r\n"].concat(),
                            "{stem} (deviation)"
                        )
                    }
                    None => assert_eq!(
                        String::from_utf8_lossy(&got),
                        String::from_utf8_lossy(&[b"-ERR ", &unescape(want)[..], b"\r\n"].concat()),
                        "{stem}"
                    ),
                }
            }
            (end, want) => panic!("{stem}: got {end:?}, Redis: {want}"),
        }
        // However the bytes arrive, the outcome is the same.
        let whole = decode_all(&mut BytesMut::from(&input[..]), &Limits::default());
        for cut in 0..input.len() {
            assert_eq!(
                decode_chunked(&input, &[cut], &Limits::default()),
                whole,
                "{stem} cut at {cut}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 30, "the corpus has {checked} files");
}

/// Oversized lines, generated rather than checked in; outcomes recorded
/// from redis-server 7.0.15.
#[test]
fn oversized_lines_match_redis() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            [&b"*"[..], &[b'1'; 70_000]].concat(),
            "too big mbulk count string",
        ),
        (
            [&b"*1\r\n$"[..], &[b'1'; 70_000]].concat(),
            "too big bulk count string",
        ),
        (vec![b'a'; 70_000], "too big inline request"),
        (
            [&[b'a'; 100_000][..], b"\r\n"].concat(),
            "too big inline request",
        ),
    ];
    for (input, want) in cases {
        let (requests, end) = decode_all(&mut BytesMut::from(&input[..]), &Limits::default());
        assert!(requests.is_empty());
        assert_eq!(end, End::Error(want.to_string()), "{want}");
        // Arriving in 16 KiB reads, as Redis reads them, changes nothing.
        let cuts: Vec<usize> = (1..input.len() / 16_384 + 1).map(|i| i * 16_384).collect();
        assert_eq!(
            decode_chunked(&input, &cuts, &Limits::default()),
            (vec![], End::Error(want.to_string()))
        );
    }
}

/// redis-server 7.0.15 looks for an inline request's newline with
/// `strchr`, which stops at a NUL byte: such a request never completes
/// (it waits, and fails as too big past 64 KiB).
#[test]
fn inline_request_with_nul_byte_waits_like_redis() {
    for input in [&b"PING \x00\r\n"[..], b"PI\x00NG\r\n", b"\x00\r\nPING\r\n"] {
        let got = decode_all(&mut BytesMut::from(input), &Limits::default());
        assert_eq!(got, (vec![], End::Wait), "{input:?}");
    }
    let mut served_first = b"PING\r\n\x00\r\n".to_vec();
    let (requests, end) = decode_all(&mut BytesMut::from(&served_first[..]), &Limits::default());
    assert_eq!((requests.len(), end), (1, End::Wait));
    served_first.extend(vec![b'a'; 70_000]);
    let (_, end) = decode_all(&mut BytesMut::from(&served_first[..]), &Limits::default());
    assert_eq!(end, End::Error("too big inline request".into()));
}

// -- random input --------------------------------------------------------

/// Bytes that make up RESP, so random strings get past the first check.
fn token() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => Just(b"\r\n".to_vec()),
        3 => Just(b"*".to_vec()),
        3 => Just(b"$".to_vec()),
        3 => (0i64..12).prop_map(|n| n.to_string().into_bytes()),
        1 => any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        1 => Just(b"-1".to_vec()),
        1 => Just(b"536870913".to_vec()),
        1 => Just(b"2147483648".to_vec()),
        1 => Just(b"99999999999999999999".to_vec()),
        2 => Just(b" ".to_vec()),
        1 => Just(b"\"".to_vec()),
        1 => Just(b"'".to_vec()),
        1 => Just(b"\\x4".to_vec()),
        1 => Just(b"\n".to_vec()),
        1 => Just(b"\r".to_vec()),
        2 => Just(b"PING".to_vec()),
        2 => Just(b"SET".to_vec()),
        4 => proptest::collection::vec(any::<u8>(), 1..6),
    ]
}

fn token_soup() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(token(), 0..40).prop_map(|t| t.concat())
}

fn limits() -> impl Strategy<Value = Limits> {
    (
        prop_oneof![Just(512 * 1024 * 1024u64), 0u64..64],
        prop_oneof![Just(i32::MAX as u64), 0u64..8],
        any::<bool>(),
    )
        .prop_map(
            |(max_bulk_len, max_multibulk_len, unauthenticated)| Limits {
                max_bulk_len,
                max_multibulk_len,
                unauthenticated,
            },
        )
}

/// A valid multibulk request for `args`.
fn multibulk(args: &[Vec<u8>]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// A few thousand cases in the suite; `PROPTEST_CASES` asks for more
/// (`scripts/fuzz.sh --stable`).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Random token soup, any limits, any split: no panic, only protocol
    /// errors, and the same outcome whether the bytes come at once or in
    /// pieces.
    #[test]
    fn random_input_never_panics_and_ignores_chunking(
        input in token_soup(),
        cuts in proptest::collection::vec(0usize..400, 0..6),
        limits in limits(),
    ) {
        let whole = decode_all(&mut BytesMut::from(&input[..]), &limits);
        prop_assert_eq!(decode_chunked(&input, &cuts, &limits), whole);
    }

    /// Completely arbitrary bytes, too.
    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..300)) {
        decode_all(&mut BytesMut::from(&input[..]), &Limits::default());
    }

    /// Well-formed requests, pipelined and split anywhere, decode to
    /// exactly their arguments and leave nothing behind.
    #[test]
    fn multibulk_requests_round_trip(
        reqs in proptest::collection::vec(
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 1..6),
            1..5,
        ),
        cuts in proptest::collection::vec(0usize..300, 0..6),
    ) {
        let input: Vec<u8> = reqs.iter().flat_map(|r| multibulk(r)).collect();
        let (got, end) = decode_chunked(&input, &cuts, &Limits::default());
        prop_assert_eq!(end, End::Wait);
        let got: Vec<Vec<Vec<u8>>> =
            got.into_iter().map(|r| r.into_iter().map(|a| a.to_vec()).collect()).collect();
        prop_assert_eq!(got, reqs);
    }

    /// Inline commands of plain words decode to those words.
    #[test]
    fn inline_requests_round_trip(words in proptest::collection::vec("[a-zA-Z0-9:{}_.-]{1,8}", 1..6)) {
        let line = format!("{}\r\n", words.join(" "));
        let (got, end) = decode_all(&mut BytesMut::from(line.as_bytes()), &Limits::default());
        prop_assert_eq!(end, End::Wait);
        prop_assert_eq!(got.len(), 1);
        let args: Vec<String> = got[0].iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        prop_assert_eq!(args, words);
    }
}

/// Corpus files with random single-byte mutations: a seeded, bounded walk
/// near the interesting inputs.
#[test]
fn mutated_corpus_never_panics() {
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(corpus_dir().join("malformed"))
        .expect("corpus folder")
        .map(|e| std::fs::read(e.expect("entry").path()).expect("read"))
        .collect();
    seeds.push(multibulk(&[b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()]));
    // xorshift64*: deterministic without a dependency.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    const INTERESTING: &[u8] = b"*$\r\n-0123456789 \"'\\x";
    for _ in 0..5000 {
        let mut input = seeds[(next() % seeds.len() as u64) as usize].clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % (input.len() as u64 + 1)) as usize;
            let byte = if next() % 2 == 0 {
                INTERESTING[(next() % INTERESTING.len() as u64) as usize]
            } else {
                next() as u8
            };
            match next() % 3 {
                0 if at < input.len() => input[at] = byte,
                1 if at < input.len() => {
                    input.remove(at);
                }
                _ => input.insert(at, byte),
            }
        }
        let cut = (next() % (input.len() as u64 + 1)) as usize;
        let whole = decode_all(&mut BytesMut::from(&input[..]), &Limits::default());
        assert_eq!(
            decode_chunked(&input, &[cut], &Limits::default()),
            whole,
            "input {:?} cut at {cut}",
            String::from_utf8_lossy(&input)
        );
    }
}
