//! # DUMP / RESTORE payloads in Redis's serialization format
//!
//! A payload is one RDB object followed by a footer, exactly as
//! redis-server 7.0 produces and checks it:
//!
//! ```text
//! [type: u8][object …][RDB version: u16 LE][CRC-64/Redis of everything before: u64 LE]
//! ```
//!
//! Lengths use RDB's variable encoding (`00xxxxxx` 6 bits, `01xxxxxx
//! xxxxxxxx` 14 bits, `0x80` + u32 BE, `0x81` + u64 BE); a string is a
//! length and its bytes, or a special form `11xxxxxx`: an 8/16/32-bit
//! little-endian integer, or LZF-compressed bytes (`0xC3`, compressed
//! length, original length, data).
//!
//! What [`encode`] (DUMP) writes, per type:
//! - string: `STRING` (0), integer-encoded when the value is a small
//!   integer, LZF-compressed when longer than 20 bytes and compressible.
//! - list: `LIST_QUICKLIST_2` (18), listpack nodes of at most ~8 KiB.
//! - set: `SET_INTSET` (11) while the set is an "intset", else `SET` (2).
//! - sorted set: `ZSET_LISTPACK` (17) while "listpack", else `ZSET_2` (5),
//!   members from the highest score down, as Redis writes its skiplist.
//! - hash: `HASH_LISTPACK` (16) while "listpack", else `HASH` (4).
//!
//! [`decode`] (RESTORE) also reads everything else redis-server 7.0 can
//! DUMP or load: `LIST` (1), `ZSET` (3, scores as text), the ziplist forms
//! (10, 12, 13), `LIST_QUICKLIST` (14) and plain quicklist nodes.
//!
//! Invariants:
//! - Decoding never trusts a length: every read is bounds-checked against
//!   the payload, nothing is preallocated from a length, and an LZF
//!   string's announced size is bounded by what its compressed bytes can
//!   expand to.
//! - Decoding is a pure function of the payload, so RESTORE applies the
//!   same on every replica.
//!
//! CAVEATS:
//! - A hash's fields come out in byte order (Redis: insertion order), so a
//!   hash's DUMP differs from Redis's bytes while meaning the same.
//! - Empty collections, duplicate members or fields, NaN scores, and
//!   malformed listpacks/ziplists/intsets are refused as "Bad data format"
//!   (Redis, without deep sanitization, accepts some of these and builds
//!   a corrupt value). As in Redis, the object is read from the whole
//!   payload, so bytes after it are ignored and a string running into the
//!   footer takes footer bytes.
//! - `HASH_ZIPMAP` (9), modules and streams are not supported.

use std::collections::HashSet;

use crc::{Crc, CRC_64_REDIS};

use super::list::End;
use super::{delete_key, meta_key, read_meta, set_string, KeyType, KsResult, KvRead, Overlay};
use crate::cmd::args::parse_i64;

/// The RDB version redis-server 7.0 writes and the newest it accepts.
pub const RDB_VERSION: u16 = 10;

const CRC64: Crc<u64> = Crc::<u64>::new(&CRC_64_REDIS);

const T_STRING: u8 = 0;
const T_LIST: u8 = 1;
const T_SET: u8 = 2;
const T_ZSET: u8 = 3;
const T_HASH: u8 = 4;
const T_ZSET_2: u8 = 5;
const T_LIST_ZIPLIST: u8 = 10;
const T_SET_INTSET: u8 = 11;
const T_ZSET_ZIPLIST: u8 = 12;
const T_HASH_ZIPLIST: u8 = 13;
const T_LIST_QUICKLIST: u8 = 14;
const T_HASH_LISTPACK: u8 = 16;
const T_ZSET_LISTPACK: u8 = 17;
const T_LIST_QUICKLIST_2: u8 = 18;

/// Redis's `list-max-listpack-size -2`: nodes of at most 8 KiB.
const NODE_MAX_BYTES: usize = 8192;

/// A value to serialize, or a deserialized one.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    String(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    /// Members in score order.
    ZSet(Vec<(Vec<u8>, f64)>),
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
}

/// A value with whether it is (or came) in a compact encoding (listpack,
/// intset, ziplist), which decides OBJECT ENCODING after RESTORE.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    pub value: Value,
    pub compact: bool,
}

/// Why a payload was refused (Redis's two RESTORE errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// "ERR DUMP payload version or checksum are wrong"
    VersionOrChecksum,
    /// "ERR Bad data format"
    BadFormat,
}

impl PayloadError {
    pub fn text(self) -> &'static str {
        match self {
            PayloadError::VersionOrChecksum => "ERR DUMP payload version or checksum are wrong",
            PayloadError::BadFormat => "ERR Bad data format",
        }
    }
}

// ---- reading the keyspace ----

/// The value of `key` as DUMP serializes it; `None` when absent.
pub fn read_object(
    kv: &(impl KvRead + ?Sized),
    key: &[u8],
    now_ms: u64,
) -> KsResult<Option<Object>> {
    let Some(meta) = read_meta(kv, key, now_ms)? else {
        return Ok(None);
    };
    let obj = match meta.ty {
        KeyType::String => Object {
            value: Value::String(meta.payload),
            compact: false,
        },
        KeyType::Hash => Object {
            compact: super::hash::encoding_of(&meta) == "listpack",
            value: Value::Hash(super::hash::all(kv, key, now_ms)?),
        },
        KeyType::Set => Object {
            compact: super::set::encoding_of(&meta) == "intset",
            value: Value::Set(super::set::members(kv, key, now_ms)?),
        },
        KeyType::ZSet => Object {
            compact: super::zset::encoding_of(&meta) == "listpack",
            value: Value::ZSet(super::zset::range(
                kv,
                key,
                &super::zset::Select::Rank(0, -1),
                false,
                0,
                -1,
                now_ms,
            )?),
        },
        KeyType::List => Object {
            compact: false,
            value: Value::List(super::list::range(kv, key, 0, -1, now_ms)?),
        },
    };
    Ok(Some(obj))
}

/// Writes `obj` as `key` (replacing whatever it held) with the absolute
/// expiry `expire_at_ms` (0: none). `version` is the new collection's.
pub fn write_object(
    ov: &mut Overlay<'_>,
    key: &[u8],
    obj: &Object,
    expire_at_ms: u64,
    now_ms: u64,
    version: u64,
) -> KsResult<()> {
    delete_key(ov, key, now_ms)?;
    match &obj.value {
        Value::String(s) => {
            set_string(ov, key, s.clone(), expire_at_ms);
            return Ok(());
        }
        Value::Hash(pairs) => {
            let c = super::hash::open_or_new(&*ov, key, now_ms, || version)?;
            let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(f, v)| (&f[..], &v[..])).collect();
            super::hash::set(ov, key, c, &refs)?;
        }
        Value::List(items) => {
            super::list::push(ov, key, items, End::Right, false, now_ms, version)?;
        }
        Value::Set(members) => {
            super::set::add(ov, key, members, now_ms, version)?;
        }
        Value::ZSet(entries) => {
            // Redis keeps a listpack payload a listpack unless it has too
            // many entries; a skiplist payload converts by the usual rule.
            let listpack = obj.compact && entries.len() as u64 <= super::zset::LISTPACK_MAX_ENTRIES;
            super::zset::store_as(ov, key, entries, now_ms, version, listpack.then_some(true))?;
        }
    }
    if expire_at_ms != 0 {
        if let Some(mut meta) = read_meta(&*ov, key, now_ms)? {
            meta.expire_at_ms = expire_at_ms;
            ov.put(meta_key(key), meta.encode());
        }
    }
    Ok(())
}

// ---- encoding ----

fn put_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Redis's `rdbSaveRawString`: a small integer as an integer, a long
/// compressible string LZF-compressed, else length and bytes.
fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(v) = parse_i64(s) {
            if let Ok(v) = i8::try_from(v) {
                out.push(0xC0);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            } else if let Ok(v) = i16::try_from(v) {
                out.push(0xC1);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            } else if let Ok(v) = i32::try_from(v) {
                out.push(0xC2);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
        }
    }
    if s.len() > 20 {
        if let Ok(c) = lzf::compress(s) {
            // liblzf, given `len - 4` bytes of room, gives up a little
            // before filling them.
            if !c.is_empty() && c.len() < s.len() - 4 {
                out.push(0xC3);
                put_len(out, c.len() as u64);
                put_len(out, s.len() as u64);
                out.extend_from_slice(&c);
                return;
            }
        }
    }
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// A listpack under construction.
struct ListpackWriter {
    body: Vec<u8>,
    count: usize,
}

impl ListpackWriter {
    fn new() -> Self {
        ListpackWriter {
            body: Vec::new(),
            count: 0,
        }
    }

    /// The listpack's total size with `extra` more bytes of entries.
    fn bytes_with(&self, extra: usize) -> usize {
        6 + self.body.len() + extra + 1
    }

    fn push(&mut self, s: &[u8]) {
        let start = self.body.len();
        let b = &mut self.body;
        match (s.len() <= 20).then(|| parse_i64(s)).flatten() {
            Some(v @ 0..=127) => b.push(v as u8),
            Some(v @ -4096..=4095) => {
                let u = (v as u16) & 0x1FFF;
                b.push(0xC0 | (u >> 8) as u8);
                b.push(u as u8);
            }
            Some(v) if i16::try_from(v).is_ok() => {
                b.push(0xF1);
                b.extend_from_slice(&(v as i16).to_le_bytes());
            }
            Some(v @ -8_388_608..=8_388_607) => {
                b.push(0xF2);
                b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            Some(v) if i32::try_from(v).is_ok() => {
                b.push(0xF3);
                b.extend_from_slice(&(v as i32).to_le_bytes());
            }
            Some(v) => {
                b.push(0xF4);
                b.extend_from_slice(&v.to_le_bytes());
            }
            None if s.len() < 64 => {
                b.push(0x80 | s.len() as u8);
                b.extend_from_slice(s);
            }
            None if s.len() < 4096 => {
                b.push(0xE0 | (s.len() >> 8) as u8);
                b.push(s.len() as u8);
                b.extend_from_slice(s);
            }
            None => {
                b.push(0xF0);
                b.extend_from_slice(&(s.len() as u32).to_le_bytes());
                b.extend_from_slice(s);
            }
        }
        let l = b.len() - start;
        put_backlen(b, l);
        self.count += 1;
    }

    fn finish(self) -> Vec<u8> {
        let total = self.bytes_with(0);
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&(self.count.min(65535) as u16).to_le_bytes());
        out.extend_from_slice(&self.body);
        out.push(0xFF);
        out
    }
}

/// Listpack's back-length: the entry's length, readable right to left.
fn put_backlen(b: &mut Vec<u8>, l: usize) {
    let l = l as u64;
    let n = backlen_size(l as usize);
    for i in (0..n).rev() {
        let group = ((l >> (7 * i)) & 127) as u8;
        b.push(if i == n - 1 { group } else { group | 128 });
    }
}

fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

fn intset(members: &[Vec<u8>]) -> Option<Vec<u8>> {
    let mut vals: Vec<i64> = members
        .iter()
        .map(|m| parse_i64(m))
        .collect::<Option<_>>()?;
    vals.sort_unstable();
    let width: usize = if vals.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if vals.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * vals.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(vals.len() as u32).to_le_bytes());
    for v in vals {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    Some(out)
}

/// DUMP: the payload of `obj`.
pub fn encode(obj: &Object) -> Vec<u8> {
    let mut out = Vec::new();
    match &obj.value {
        Value::String(s) => {
            out.push(T_STRING);
            put_string(&mut out, s);
        }
        Value::List(items) => {
            let mut nodes = Vec::new();
            let mut lp = ListpackWriter::new();
            for it in items {
                if lp.count > 0 && lp.bytes_with(it.len() + 8) > NODE_MAX_BYTES {
                    nodes.push(std::mem::replace(&mut lp, ListpackWriter::new()).finish());
                }
                lp.push(it);
            }
            if lp.count > 0 {
                nodes.push(lp.finish());
            }
            out.push(T_LIST_QUICKLIST_2);
            put_len(&mut out, nodes.len() as u64);
            for n in nodes {
                put_len(&mut out, 2); // a packed (listpack) node
                put_string(&mut out, &n);
            }
        }
        Value::Set(members) => match intset(members).filter(|_| obj.compact) {
            Some(blob) => {
                out.push(T_SET_INTSET);
                put_string(&mut out, &blob);
            }
            None => {
                out.push(T_SET);
                put_len(&mut out, members.len() as u64);
                for m in members {
                    put_string(&mut out, m);
                }
            }
        },
        Value::ZSet(entries) if obj.compact => {
            let mut lp = ListpackWriter::new();
            for (m, s) in entries {
                lp.push(m);
                lp.push(redraft_resp::format_double(*s).as_bytes());
            }
            out.push(T_ZSET_LISTPACK);
            put_string(&mut out, &lp.finish());
        }
        Value::ZSet(entries) => {
            out.push(T_ZSET_2);
            put_len(&mut out, entries.len() as u64);
            for (m, s) in entries.iter().rev() {
                put_string(&mut out, m);
                out.extend_from_slice(&s.to_le_bytes());
            }
        }
        Value::Hash(pairs) if obj.compact => {
            let mut lp = ListpackWriter::new();
            for (f, v) in pairs {
                lp.push(f);
                lp.push(v);
            }
            out.push(T_HASH_LISTPACK);
            put_string(&mut out, &lp.finish());
        }
        Value::Hash(pairs) => {
            out.push(T_HASH);
            put_len(&mut out, pairs.len() as u64);
            for (f, v) in pairs {
                put_string(&mut out, f);
                put_string(&mut out, v);
            }
        }
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = CRC64.checksum(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

// ---- decoding ----

type DResult<T> = Result<T, PayloadError>;

const BAD: PayloadError = PayloadError::BadFormat;

/// Checks the footer (RDB version and checksum); the object's bytes.
pub fn verify(payload: &[u8]) -> DResult<&[u8]> {
    if payload.len() < 10 {
        return Err(PayloadError::VersionOrChecksum);
    }
    let n = payload.len();
    let version = u16::from_le_bytes([payload[n - 10], payload[n - 9]]);
    if version > RDB_VERSION {
        return Err(PayloadError::VersionOrChecksum);
    }
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&payload[n - 8..]);
    if CRC64.checksum(&payload[..n - 8]) != u64::from_le_bytes(crc) {
        return Err(PayloadError::VersionOrChecksum);
    }
    Ok(&payload[..n - 10])
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Self {
        Reader { b, pos: 0 }
    }

    fn take(&mut self, n: usize) -> DResult<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(BAD)?;
        let s = self.b.get(self.pos..end).ok_or(BAD)?;
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> DResult<u8> {
        Ok(self.take(1)?[0])
    }

    fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    /// A length, or the special-encoding number when `11xxxxxx`.
    fn len_or_enc(&mut self) -> DResult<(u64, bool)> {
        let b = self.byte()?;
        Ok(match b >> 6 {
            0 => (u64::from(b & 0x3F), false),
            1 => (u64::from(b & 0x3F) << 8 | u64::from(self.byte()?), false),
            2 if b == 0x80 => {
                let v = self.take(4)?;
                (
                    u64::from(u32::from_be_bytes([v[0], v[1], v[2], v[3]])),
                    false,
                )
            }
            2 if b == 0x81 => {
                let mut a = [0u8; 8];
                a.copy_from_slice(self.take(8)?);
                (u64::from_be_bytes(a), false)
            }
            2 => return Err(BAD),
            _ => (u64::from(b & 0x3F), true),
        })
    }

    fn len(&mut self) -> DResult<u64> {
        match self.len_or_enc()? {
            (n, false) => Ok(n),
            _ => Err(BAD),
        }
    }

    fn usize_len(&mut self) -> DResult<usize> {
        usize::try_from(self.len()?).map_err(|_| BAD)
    }

    fn string(&mut self) -> DResult<Vec<u8>> {
        let (n, enc) = self.len_or_enc()?;
        if !enc {
            return Ok(self.take(usize::try_from(n).map_err(|_| BAD)?)?.to_vec());
        }
        match n {
            0 => Ok((self.take(1)?[0] as i8).to_string().into_bytes()),
            1 => {
                let v = self.take(2)?;
                Ok(i16::from_le_bytes([v[0], v[1]]).to_string().into_bytes())
            }
            2 => {
                let v = self.take(4)?;
                Ok(i32::from_le_bytes([v[0], v[1], v[2], v[3]])
                    .to_string()
                    .into_bytes())
            }
            3 => {
                let clen = self.usize_len()?;
                let ulen = self.usize_len()?;
                let data = self.take(clen)?;
                // One LZF back-reference (2-3 bytes) expands to at most
                // 264 bytes: refuse sizes the data cannot produce before
                // allocating them.
                if ulen == 0 || ulen > clen.saturating_mul(132).saturating_add(64) {
                    return Err(BAD);
                }
                let out = lzf::decompress(data, ulen).map_err(|_| BAD)?;
                if out.len() != ulen {
                    return Err(BAD);
                }
                Ok(out)
            }
            _ => Err(BAD),
        }
    }

    /// RDB_TYPE_ZSET's score: a length byte, then text (253 nan, 254 inf,
    /// 255 -inf).
    fn text_double(&mut self) -> DResult<f64> {
        match self.byte()? {
            255 => Ok(f64::NEG_INFINITY),
            254 => Ok(f64::INFINITY),
            253 => Err(BAD),
            n => parse_score(self.take(usize::from(n))?),
        }
    }

    fn binary_double(&mut self) -> DResult<f64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        let d = f64::from_le_bytes(a);
        if d.is_nan() {
            return Err(BAD);
        }
        Ok(d)
    }
}

fn parse_score(b: &[u8]) -> DResult<f64> {
    let s = std::str::from_utf8(b).map_err(|_| BAD)?;
    let d: f64 = match s {
        "inf" | "+inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        _ => s.parse().map_err(|_| BAD)?,
    };
    if d.is_nan() {
        return Err(BAD);
    }
    Ok(d)
}

fn le_int(b: &[u8]) -> i64 {
    // Sign-extend a little-endian integer of 1..=8 bytes.
    let mut a = [0u8; 8];
    a[..b.len()].copy_from_slice(b);
    let shift = 64 - 8 * b.len() as u32;
    (i64::from_le_bytes(a) << shift) >> shift
}

/// The entries of a listpack.
fn listpack_entries(blob: &[u8]) -> DResult<Vec<Vec<u8>>> {
    if blob.len() < 7
        || u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize != blob.len()
    {
        return Err(BAD);
    }
    let declared = u16::from_le_bytes([blob[4], blob[5]]);
    let mut r = Reader::new(&blob[6..]);
    let mut out = Vec::new();
    loop {
        let start = r.pos;
        let b = r.byte()?;
        let entry = match b {
            0xFF => break,
            0x00..=0x7F => u64::from(b).to_string().into_bytes(),
            0x80..=0xBF => r.take(usize::from(b & 0x3F))?.to_vec(),
            0xC0..=0xDF => {
                let u = (u16::from(b & 0x1F) << 8) | u16::from(r.byte()?);
                let v = if u >= 1 << 12 {
                    i64::from(u) - (1 << 13)
                } else {
                    i64::from(u)
                };
                v.to_string().into_bytes()
            }
            0xE0..=0xEF => {
                let n = (usize::from(b & 0x0F) << 8) | usize::from(r.byte()?);
                r.take(n)?.to_vec()
            }
            0xF0 => {
                let l = r.take(4)?;
                let n = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
                r.take(n)?.to_vec()
            }
            0xF1 => le_int(r.take(2)?).to_string().into_bytes(),
            0xF2 => le_int(r.take(3)?).to_string().into_bytes(),
            0xF3 => le_int(r.take(4)?).to_string().into_bytes(),
            0xF4 => le_int(r.take(8)?).to_string().into_bytes(),
            _ => return Err(BAD),
        };
        let l = r.pos - start;
        r.take(backlen_size(l))?;
        out.push(entry);
    }
    if !r.at_end() || (declared != 65535 && usize::from(declared) != out.len()) {
        return Err(BAD);
    }
    Ok(out)
}

/// The entries of a ziplist.
fn ziplist_entries(blob: &[u8]) -> DResult<Vec<Vec<u8>>> {
    if blob.len() < 11
        || u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize != blob.len()
    {
        return Err(BAD);
    }
    let declared = u16::from_le_bytes([blob[8], blob[9]]);
    let mut r = Reader::new(&blob[10..]);
    let mut out = Vec::new();
    loop {
        let first = r.byte()?;
        if first == 0xFF {
            break;
        }
        if first == 0xFE {
            r.take(4)?;
        }
        let b = r.byte()?;
        let entry = match b >> 6 {
            0 => r.take(usize::from(b & 0x3F))?.to_vec(),
            1 => {
                let n = (usize::from(b & 0x3F) << 8) | usize::from(r.byte()?);
                r.take(n)?.to_vec()
            }
            2 if b == 0x80 => {
                let l = r.take(4)?;
                let n = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
                r.take(n)?.to_vec()
            }
            2 => return Err(BAD),
            _ => {
                let v = match b {
                    0xC0 => le_int(r.take(2)?),
                    0xD0 => le_int(r.take(4)?),
                    0xE0 => le_int(r.take(8)?),
                    0xF0 => le_int(r.take(3)?),
                    0xFE => le_int(r.take(1)?),
                    0xF1..=0xFD => i64::from(b & 0x0F) - 1,
                    _ => return Err(BAD),
                };
                v.to_string().into_bytes()
            }
        };
        out.push(entry);
    }
    if !r.at_end() || (declared != 65535 && usize::from(declared) != out.len()) {
        return Err(BAD);
    }
    Ok(out)
}

fn intset_members(blob: &[u8]) -> DResult<Vec<Vec<u8>>> {
    if blob.len() < 8 {
        return Err(BAD);
    }
    let width = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    let n = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    if !matches!(width, 2 | 4 | 8)
        || n.checked_mul(width).and_then(|x| x.checked_add(8)) != Some(blob.len())
    {
        return Err(BAD);
    }
    Ok(blob[8..]
        .chunks(width)
        .map(|c| le_int(c).to_string().into_bytes())
        .collect())
}

fn pairs(entries: Vec<Vec<u8>>) -> DResult<Vec<(Vec<u8>, Vec<u8>)>> {
    if !entries.len().is_multiple_of(2) {
        return Err(BAD);
    }
    let mut it = entries.into_iter();
    let mut out = Vec::new();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push((a, b));
    }
    Ok(out)
}

fn distinct<'a>(names: impl Iterator<Item = &'a Vec<u8>>) -> DResult<()> {
    let mut seen = HashSet::new();
    for n in names {
        if !seen.insert(n) {
            return Err(BAD);
        }
    }
    Ok(())
}

fn zset_from(entries: Vec<(Vec<u8>, Vec<u8>)>) -> DResult<Vec<(Vec<u8>, f64)>> {
    entries
        .into_iter()
        .map(|(m, s)| Ok((m, parse_score(&s)?)))
        .collect()
}

/// RESTORE: the object in `payload` (footer checked first).
pub fn decode(payload: &[u8]) -> DResult<Object> {
    verify(payload)?;
    // As in Redis, the object is read from the whole payload: a length
    // running into the footer reads footer bytes rather than failing.
    let mut r = Reader::new(payload);
    let ty = r.byte()?;
    let mut compact = true;
    let value = match ty {
        T_STRING => Value::String(r.string()?),
        T_LIST => {
            let n = r.len()?;
            let mut items = Vec::new();
            for _ in 0..n {
                items.push(r.string()?);
            }
            Value::List(items)
        }
        T_SET => {
            let n = r.len()?;
            let mut items = Vec::new();
            for _ in 0..n {
                items.push(r.string()?);
            }
            compact = false;
            Value::Set(items)
        }
        T_ZSET | T_ZSET_2 => {
            let n = r.len()?;
            let mut items = Vec::new();
            for _ in 0..n {
                let m = r.string()?;
                let s = if ty == T_ZSET {
                    r.text_double()?
                } else {
                    r.binary_double()?
                };
                items.push((m, s));
            }
            compact = false;
            Value::ZSet(items)
        }
        T_HASH => {
            let n = r.len()?;
            let mut items = Vec::new();
            for _ in 0..n {
                let f = r.string()?;
                items.push((f, r.string()?));
            }
            compact = false;
            Value::Hash(items)
        }
        T_LIST_ZIPLIST => Value::List(ziplist_entries(&r.string()?)?),
        T_SET_INTSET => Value::Set(intset_members(&r.string()?)?),
        T_ZSET_ZIPLIST => Value::ZSet(zset_from(pairs(ziplist_entries(&r.string()?)?)?)?),
        T_ZSET_LISTPACK => Value::ZSet(zset_from(pairs(listpack_entries(&r.string()?)?)?)?),
        T_HASH_ZIPLIST => Value::Hash(pairs(ziplist_entries(&r.string()?)?)?),
        T_HASH_LISTPACK => Value::Hash(pairs(listpack_entries(&r.string()?)?)?),
        T_LIST_QUICKLIST | T_LIST_QUICKLIST_2 => {
            let nodes = r.len()?;
            let mut items = Vec::new();
            for _ in 0..nodes {
                let container = if ty == T_LIST_QUICKLIST_2 {
                    r.len()?
                } else {
                    2
                };
                let blob = r.string()?;
                match (container, ty) {
                    (1, _) => items.push(blob),
                    (2, T_LIST_QUICKLIST) => items.extend(ziplist_entries(&blob)?),
                    (2, _) => items.extend(listpack_entries(&blob)?),
                    _ => return Err(BAD),
                }
            }
            Value::List(items)
        }
        _ => return Err(BAD),
    };
    match &value {
        Value::String(_) => compact = false,
        Value::List(v) | Value::Set(v) if v.is_empty() => return Err(BAD),
        Value::ZSet(v) if v.is_empty() => return Err(BAD),
        Value::Hash(v) if v.is_empty() => return Err(BAD),
        Value::Set(v) => distinct(v.iter())?,
        Value::Hash(v) => distinct(v.iter().map(|p| &p.0))?,
        Value::ZSet(v) => distinct(v.iter().map(|p| &p.0))?,
        Value::List(_) => {}
    }
    let value = match value {
        // Redis keeps a sorted set's entries in score order.
        Value::ZSet(mut v) => {
            v.sort_by(|a, b| {
                a.1.partial_cmp(&b.1)
                    .unwrap_or(std::cmp::Ordering::Equal)
                    .then_with(|| a.0.cmp(&b.0))
            });
            Value::ZSet(
                v.into_iter()
                    .map(|(m, s)| (m, if s == 0.0 { 0.0 } else { s }))
                    .collect(),
            )
        }
        v => v,
    };
    Ok(Object { value, compact })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(obj: Object) {
        let p = encode(&obj);
        assert_eq!(decode(&p).unwrap().value, obj.value);
    }

    #[test]
    fn crc64_is_redis_jones() {
        // Redis's own test vector (crc64.c).
        assert_eq!(CRC64.checksum(b"123456789"), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn strings_as_redis_writes_them() {
        // DUMP of "bar" and of the integer 1 in redis-server 7.0.15.
        let bar = encode(&Object {
            value: Value::String(b"bar".to_vec()),
            compact: false,
        });
        assert_eq!(&bar[..6], b"\x00\x03bar\x0a");
        let one = encode(&Object {
            value: Value::String(b"1".to_vec()),
            compact: false,
        });
        assert_eq!(&one[..3], b"\x00\xc0\x01");
        for s in [
            &b""[..],
            b"-1",
            b"300",
            b"-70000",
            b"12345678901",
            b"007",
            &[b'a'; 100],
            b"abcdefghijklmnopqrstuvwxyz0123456789",
        ] {
            roundtrip(Object {
                value: Value::String(s.to_vec()),
                compact: false,
            });
        }
    }

    #[test]
    fn collections_round_trip_in_both_encodings() {
        let items: Vec<Vec<u8>> = (0..3000)
            .map(|i| {
                if i % 3 == 0 {
                    (i as i64 * 7919 - 5_000_000).to_string().into_bytes()
                } else {
                    format!("item-{i}-{}", "x".repeat(i % 70)).into_bytes()
                }
            })
            .collect();
        roundtrip(Object {
            value: Value::List(items.clone()),
            compact: false,
        });
        for compact in [true, false] {
            let ints: Vec<Vec<u8>> = [-1i64, 5, 70000, i64::MIN, i64::MAX, 0]
                .iter()
                .map(|v| v.to_string().into_bytes())
                .collect();
            let mut sorted = ints.clone();
            sorted.sort_by_key(|m| parse_i64(m).unwrap());
            let got = decode(&encode(&Object {
                value: Value::Set(ints.clone()),
                compact,
            }))
            .unwrap();
            let Value::Set(mut got) = got.value else {
                panic!()
            };
            if !compact {
                assert_eq!(got, ints);
            }
            got.sort_by_key(|m| parse_i64(m).unwrap());
            assert_eq!(got, sorted);
            let z: Vec<(Vec<u8>, f64)> = vec![
                (b"n".to_vec(), f64::NEG_INFINITY),
                (b"a".to_vec(), -1.5),
                (b"b".to_vec(), 0.0),
                (b"1".to_vec(), 3.0),
                (b"c".to_vec(), 1e300),
                (b"i".to_vec(), f64::INFINITY),
            ];
            roundtrip(Object {
                value: Value::ZSet(z),
                compact,
            });
            let h: Vec<(Vec<u8>, Vec<u8>)> = items[..600]
                .iter()
                .map(|i| (i.clone(), [&i[..], b"v"].concat()))
                .collect();
            roundtrip(Object {
                value: Value::Hash(h),
                compact,
            });
        }
    }

    #[test]
    fn bad_payloads() {
        let mut p = encode(&Object {
            value: Value::String(b"hello".to_vec()),
            compact: false,
        });
        assert_eq!(decode(&p[..5]), Err(PayloadError::VersionOrChecksum));
        let n = p.len();
        p[n - 1] ^= 1;
        assert_eq!(decode(&p), Err(PayloadError::VersionOrChecksum));
        // A valid footer around garbage.
        let mut body = vec![0x77, 1, 2, 3];
        body.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = CRC64.checksum(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(decode(&body), Err(PayloadError::BadFormat));
        // A newer RDB version.
        let mut v11 = vec![0, 1, b'x'];
        v11.extend_from_slice(&11u16.to_le_bytes());
        let crc = CRC64.checksum(&v11);
        v11.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(decode(&v11), Err(PayloadError::VersionOrChecksum));
        // An LZF string claiming a huge size.
        let mut lzf = vec![T_STRING, 0xC3, 2, 0x81];
        lzf.extend_from_slice(&(1u64 << 40).to_be_bytes());
        lzf.extend_from_slice(&[0, b'a']);
        lzf.extend_from_slice(&RDB_VERSION.to_le_bytes());
        let crc = CRC64.checksum(&lzf);
        lzf.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(decode(&lzf), Err(PayloadError::BadFormat));
    }

    #[test]
    fn ziplists_decode() {
        // A ziplist of "a", 1, 1000 (int16), built by hand.
        let mut entries = Vec::new();
        entries.extend_from_slice(&[0x00, 0x01, b'a']);
        entries.extend_from_slice(&[0x03, 0xF2]);
        entries.extend_from_slice(&[0x02, 0xC0, 0xE8, 0x03]);
        let total = 10 + entries.len() + 1;
        let mut zl = Vec::new();
        zl.extend_from_slice(&(total as u32).to_le_bytes());
        zl.extend_from_slice(&0u32.to_le_bytes());
        zl.extend_from_slice(&3u16.to_le_bytes());
        zl.extend_from_slice(&entries);
        zl.push(0xFF);
        assert_eq!(
            ziplist_entries(&zl).unwrap(),
            vec![b"a".to_vec(), b"1".to_vec(), b"1000".to_vec()]
        );
    }
}
