//! Glob-style matching exactly as Redis's `stringmatchlen` (KEYS, SCAN
//! MATCH, and anything else that takes a Redis pattern).
//!
//! Syntax: `*` any run of bytes, `?` one byte, `[abc]` one of the set,
//! `[^abc]` none of the set, `[a-z]` a range (reversed ends are swapped),
//! `\x` the byte `x` literally (inside brackets too).
//!
//! Redis's quirks are kept on purpose, so that the same pattern selects the
//! same keys here and on a real server:
//! - an unterminated `[` set ends at the end of the pattern;
//! - in a set, `a-]` is a range ending at `]`, and the set then goes on;
//! - a trailing lone `\` matches a literal `\`;
//! - bytes compare as C `char`s, which are signed on x86-64, so a range such
//!   as `[a-\xff]` contains no byte at or above 0x80;
//! - `*` alone is special-cased by callers (it matches every key, even the
//!   empty one), not here: the bare matcher does not match `*` against `""`.
//!
//! Redis recurses at each `*` and, once a `*` has tried every suffix of the
//! string in vain, gives up on the whole match (the fix for CVE-2022-36021).
//! That is the same as backtracking to the most recent `*` only, which is
//! what the loop below does: no recursion, so a pattern with many stars
//! cannot exhaust the stack, and matching is O(pattern × string).

/// Whether `string` matches `pattern`, case-sensitively.
pub fn glob_match(pattern: &[u8], string: &[u8]) -> bool {
    glob_match_with(pattern, string, false)
}

/// Whether `string` matches `pattern`; `nocase` folds ASCII letters (Redis's
/// `stringmatchlen(..., nocase=1)`, used by e.g. `CONFIG GET`).
pub fn glob_match_with(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    Matcher {
        pat: pattern,
        s: string,
        nocase,
    }
    .run()
}

struct Matcher<'a> {
    pat: &'a [u8],
    s: &'a [u8],
    nocase: bool,
}

/// A byte as a C `char` on x86-64 (signed).
fn c(b: u8) -> i32 {
    i32::from(b as i8)
}

/// C `tolower` in the "C" locale.
fn lower(ch: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&ch) {
        ch + 32
    } else {
        ch
    }
}

impl Matcher<'_> {
    /// The pattern byte at `i`, or the NUL terminator C would read past the
    /// end.
    fn p(&self, i: usize) -> u8 {
        self.pat.get(i).copied().unwrap_or(0)
    }

    fn eq(&self, a: u8, b: u8) -> bool {
        if self.nocase {
            lower(c(a)) == lower(c(b))
        } else {
            a == b
        }
    }

    fn run(&self) -> bool {
        let plen = self.pat.len();
        let slen = self.s.len();
        // `p`/`si`: positions in the pattern and the string. `star`: where
        // to resume after a mismatch: (pattern index after the latest `*`,
        // string index that `*` currently stops at).
        let mut p = 0usize;
        let mut si = 0usize;
        let mut star: Option<(usize, usize)> = None;
        loop {
            let matched_step = if p < plen && si < slen {
                match self.step(&mut p, &mut si) {
                    Step::Star => {
                        // Collapse consecutive stars.
                        while p + 1 < plen && self.pat[p + 1] == b'*' {
                            p += 1;
                        }
                        if p + 1 == plen {
                            return true;
                        }
                        star = Some((p + 1, si));
                        p += 1;
                        continue;
                    }
                    Step::Matched => true,
                    Step::Failed => false,
                }
            } else {
                // The loop of the C code ended: a match only if both ran out.
                if p >= plen && si >= slen {
                    return true;
                }
                false
            };
            if matched_step {
                // C: `pattern++` after the switch, then the end-of-string
                // check that swallows trailing stars.
                p += 1;
                if si == slen {
                    while self.p(p) == b'*' {
                        p += 1;
                    }
                    if p >= plen {
                        return true;
                    }
                    // Falls to the failure path below.
                } else {
                    continue;
                }
            }
            // Failure: retry the latest `*` one byte further, if any byte is
            // left for it.
            match star {
                Some((sp, ss)) if ss + 1 < slen => {
                    star = Some((sp, ss + 1));
                    p = sp;
                    si = ss + 1;
                }
                _ => return false,
            }
        }
    }

    /// One iteration of the C switch on `pattern[0]`, with `p < plen` and
    /// `si < slen`. On `Matched`, `p` points at the last pattern byte used
    /// (the caller advances past it) and `si` is already advanced.
    fn step(&self, p: &mut usize, si: &mut usize) -> Step {
        let plen = self.pat.len();
        let sc = self.s[*si];
        match self.pat[*p] {
            b'*' => Step::Star,
            b'?' => {
                *si += 1;
                Step::Matched
            }
            b'[' => {
                *p += 1;
                let not = self.p(*p) == b'^';
                if not {
                    *p += 1;
                }
                let mut matched = false;
                loop {
                    let rem = plen.saturating_sub(*p);
                    let pc = self.p(*p);
                    if pc == b'\\' && rem >= 2 {
                        *p += 1;
                        if self.p(*p) == sc {
                            matched = true;
                        }
                    } else if pc == b']' && rem > 0 {
                        break;
                    } else if rem == 0 {
                        *p -= 1;
                        break;
                    } else if rem >= 3 && self.p(*p + 1) == b'-' {
                        let mut start = c(pc);
                        let mut end = c(self.p(*p + 2));
                        let mut ch = c(sc);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if self.nocase {
                            start = lower(start);
                            end = lower(end);
                            ch = lower(ch);
                        }
                        *p += 2;
                        if ch >= start && ch <= end {
                            matched = true;
                        }
                    } else if self.eq(pc, sc) {
                        matched = true;
                    }
                    *p += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return Step::Failed;
                }
                *si += 1;
                Step::Matched
            }
            b => {
                let lit = if b == b'\\' && plen - *p >= 2 {
                    *p += 1;
                    self.pat[*p]
                } else {
                    b
                };
                if !self.eq(lit, sc) {
                    return Step::Failed;
                }
                *si += 1;
                Step::Matched
            }
        }
    }
}

enum Step {
    Star,
    Matched,
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        glob_match(p.as_bytes(), s.as_bytes())
    }

    #[test]
    fn literals_and_wildcards() {
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hell"));
        assert!(!m("hell", "hello"));
        assert!(m("h?llo", "hello"));
        assert!(m("h?llo", "hallo"));
        assert!(!m("h?llo", "hllo"));
        assert!(m("h*llo", "hllo"));
        assert!(m("h*llo", "heeeello"));
        assert!(m("*", "anything"));
        assert!(m("**", "anything"));
        assert!(m("a*", "a"));
        assert!(m("a**", "a"));
        assert!(m("*a", "a"));
        assert!(m("*a*b*c", "xxaxxbxxc"));
        assert!(!m("*a*b*c", "xxaxxbxxcx"));
        assert!(m("user:*:name", "user:1000:name"));
        assert!(!m("user:*:name", "user:1000:names"));
        assert!(m("*:*", ":"));
    }

    #[test]
    fn empty_string_and_pattern() {
        assert!(m("", ""));
        assert!(!m("", "a"));
        // As in Redis: the matcher itself does not match `*` against "";
        // KEYS and SCAN special-case the pattern `*`.
        assert!(!m("*", ""));
        assert!(!m("?", ""));
    }

    #[test]
    fn sets_and_ranges() {
        assert!(m("h[ae]llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[ae]llo", "hillo"));
        assert!(m("h[^e]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(!m("h[a-b]llo", "hcllo"));
        assert!(m("h[b-a]llo", "hallo"), "reversed ranges are swapped");
        assert!(m("[0-9][0-9]", "42"));
        assert!(!m("[^0-9]", "4"));
        assert!(m("[\\]]", "]"));
        assert!(m("[\\-]", "-"));
        assert!(m("[a\\-z]", "-"));
        assert!(!m("[a\\-z]", "b"));
    }

    #[test]
    fn escapes() {
        assert!(m("h\\*llo", "h*llo"));
        assert!(!m("h\\*llo", "hello"));
        assert!(m("\\?", "?"));
        assert!(!m("\\?", "a"));
        assert!(m("a\\", "a\\"), "a trailing backslash is literal");
        assert!(m("\\[a]", "[a]"));
    }

    #[test]
    fn redis_quirks() {
        // Unterminated set: ends with the pattern.
        assert!(m("[abc", "a"));
        assert!(m("x[abc", "xc"));
        assert!(!m("[abc", "d"));
        // `a-]` is a range up to `]`, and the set goes on to the next `]`.
        assert!(m("[a-]b]", "b"));
        assert!(!m("[a-]b]", "c"));
        // Unterminated negated set at the end.
        assert!(m("[^", "x"));
        // Empty set `[]` is unterminated and then `]` is the set.
        assert!(!m("[]", "]"));
        assert!(!m("[]", "a"));
        // Signed chars: 0x80..0xff are below 'a'.
        assert!(!glob_match(b"[a-\xff]", b"\x90"));
        assert!(glob_match(b"[\x80-a]", b"\x90"));
        assert!(glob_match(b"[\x80-a]", b"0"));
    }

    #[test]
    fn nocase() {
        assert!(glob_match_with(b"HeLLo*", b"hello world", true));
        assert!(glob_match_with(b"[A-C]x", b"bX", true));
        assert!(!glob_match_with(b"HeLLo*", b"hello world", false));
    }

    #[test]
    fn many_stars_do_not_blow_up() {
        let pat = "a*".repeat(20_000) + "b";
        let s = "a".repeat(30_000);
        assert!(!m(&pat, &s));
        let pat = "*a".repeat(50);
        assert!(m(&pat, &"a".repeat(50)));
        assert!(!m(&pat, &"a".repeat(49)));
    }

    /// A direct transcription of Redis 7.0's recursive `stringmatchlen`,
    /// to check the iterative version against on many inputs.
    fn reference(pat: &[u8], s: &[u8]) -> bool {
        fn at(v: &[u8], i: usize) -> u8 {
            v.get(i).copied().unwrap_or(0)
        }
        fn imp(pat: &[u8], mut p: usize, s: &[u8], mut si: usize, skip: &mut bool) -> bool {
            let mut plen = pat.len() as isize - p as isize;
            let mut slen = s.len() as isize - si as isize;
            while plen > 0 && slen > 0 {
                match pat[p] {
                    b'*' => {
                        while plen > 0 && at(pat, p + 1) == b'*' {
                            p += 1;
                            plen -= 1;
                        }
                        if plen == 1 {
                            return true;
                        }
                        while slen > 0 {
                            if imp(pat, p + 1, s, si, skip) {
                                return true;
                            }
                            if *skip {
                                return false;
                            }
                            si += 1;
                            slen -= 1;
                        }
                        *skip = true;
                        return false;
                    }
                    b'?' => {
                        si += 1;
                        slen -= 1;
                    }
                    b'[' => {
                        p += 1;
                        plen -= 1;
                        let not = at(pat, p) == b'^';
                        if not {
                            p += 1;
                            plen -= 1;
                        }
                        let mut matched = false;
                        loop {
                            if at(pat, p) == b'\\' && plen >= 2 {
                                p += 1;
                                plen -= 1;
                                if at(pat, p) == s[si] {
                                    matched = true;
                                }
                            } else if at(pat, p) == b']' {
                                break;
                            } else if plen == 0 {
                                p -= 1;
                                plen += 1;
                                break;
                            } else if plen >= 3 && at(pat, p + 1) == b'-' {
                                let mut a = c(at(pat, p));
                                let mut b = c(at(pat, p + 2));
                                if a > b {
                                    std::mem::swap(&mut a, &mut b);
                                }
                                p += 2;
                                plen -= 2;
                                let ch = c(s[si]);
                                if ch >= a && ch <= b {
                                    matched = true;
                                }
                            } else if at(pat, p) == s[si] {
                                matched = true;
                            }
                            p += 1;
                            plen -= 1;
                        }
                        if not {
                            matched = !matched;
                        }
                        if !matched {
                            return false;
                        }
                        si += 1;
                        slen -= 1;
                    }
                    b => {
                        let mut lit = b;
                        if b == b'\\' && plen >= 2 {
                            p += 1;
                            plen -= 1;
                            lit = pat[p];
                        }
                        if lit != s[si] {
                            return false;
                        }
                        si += 1;
                        slen -= 1;
                    }
                }
                p += 1;
                plen -= 1;
                if slen == 0 {
                    while at(pat, p) == b'*' {
                        p += 1;
                        plen -= 1;
                    }
                    break;
                }
            }
            plen == 0 && slen == 0
        }
        let mut skip = false;
        imp(pat, 0, s, 0, &mut skip)
    }

    #[test]
    fn agrees_with_the_recursive_reference() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let pat_alphabet = b"ab*?[]^-\\";
        let str_alphabet = b"ab-]\\^*";
        for _ in 0..200_000 {
            let pl = rng.random_range(0..8);
            let sl = rng.random_range(0..7);
            let pat: Vec<u8> = (0..pl)
                .map(|_| pat_alphabet[rng.random_range(0..pat_alphabet.len())])
                .collect();
            let s: Vec<u8> = (0..sl)
                .map(|_| str_alphabet[rng.random_range(0..str_alphabet.len())])
                .collect();
            assert_eq!(
                glob_match(&pat, &s),
                reference(&pat, &s),
                "pattern {:?} string {:?}",
                String::from_utf8_lossy(&pat),
                String::from_utf8_lossy(&s)
            );
        }
    }
}
