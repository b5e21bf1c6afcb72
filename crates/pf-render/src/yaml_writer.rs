//! A fast YAML serializer that writes the bytes `serde_yaml_ng` writes for
//! the shapes the bundle uses (block mappings and sequences, empty
//! `{}`/`[]`, integers, booleans, floats, one-line printable ASCII strings
//! in plain or single-quoted style), with two deliberate differences that
//! make every string read back as the same string by every YAML reader the
//! bundle meets (Docker's and Compose's Go parsers, Prometheus's YAML 1.1
//! parser, the compose-spec validator):
//!
//! - a string a YAML 1.1 or 1.2 resolver reads as another type is single-
//!   quoted ([`reads_as_other_type`]): besides what `serde_yaml_ng`
//!   quotes (`true`, `null`, `~`, `0x1F`, `0o17`, `.inf`, `1e3`), YAML 1.1's
//!   `yes`/`no`/`on`/`off`/`y`/`n`, `1_000`, `190:20:30`, `2001-12-14` and
//!   `<<`, which `serde_yaml_ng` writes plain;
//! - any other string (a line break, a tab, a control, non-ASCII or bidi
//!   character) is written double-quoted with escapes, so the document is
//!   ASCII and one scalar is one line, where `serde_yaml_ng` would choose a
//!   style of its own.
//!
//! It follows libyaml's rules (`yaml_emitter_analyze_scalar`,
//! `select_scalar_style`, `write_indent`, `write_indicator`) where they are
//! simple. It is the only YAML writer of the renderer: `serde_yaml_ng`
//! (libyaml through `unsafe-libyaml`) is a dev-dependency, the oracle of
//! the differential tests (`yaml_oracle`): every YAML document rendered in the
//! unit tests, of every committed topology, target and fuzz corpus input,
//! and generated strings and shapes. What it does not write (a key longer
//! than 128 characters, which libyaml writes as `? key`; a collection as a
//! key; an enum variant with data, which is a tag; an `f32`, a float that
//! is not finite, bytes) cannot come from a topology: [`to_string`] returns
//! an error naming it, which the renderer reports as its own bug.

use std::fmt::{self, Display};

use serde::Serialize;
use serde::ser::{self, Impossible};

/// The document as `serde_yaml_ng::to_string` would write it, or what
/// it holds that this writer does not write.
pub(crate) fn to_string<T: ?Sized + Serialize>(value: &T) -> Result<String> {
    let mut w = Writer {
        out: String::with_capacity(8192),
        column: 0,
        whitespace: true,
        indention: true,
        indent: -1,
        indents: Vec::new(),
        frames: Vec::new(),
    };
    value.serialize(&mut w)?;
    if !w.frames.is_empty() {
        return Err(Unsupported::new("a collection that was not ended"));
    }
    // The implicit document end: a final line break.
    w.write_indent();
    Ok(w.out)
}

/// What a document holds that this writer does not write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsupported(String);

impl Unsupported {
    fn new(what: &str) -> Self {
        Self(what.to_owned())
    }
}

impl Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the YAML writer does not write {}", self.0)
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: Display>(msg: T) -> Self {
        Self(format!("a value whose serialization failed: {msg}"))
    }
}

type Result<T = ()> = std::result::Result<T, Unsupported>;

const SPACES: &str = "                                ";

/// libyaml's indentation step.
const INDENT: i32 = 2;
/// libyaml writes longer keys in the explicit `? key` form.
const MAX_SIMPLE_KEY: usize = 128;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mapping,
    Sequence,
}

/// An open mapping or sequence. Its block form starts at its first entry:
/// an empty one is written `{}` or `[]` instead (libyaml looks ahead for
/// the end event the same way).
struct Frame {
    kind: Kind,
    started: bool,
    /// The next scalar is a key (mappings).
    expect_key: bool,
    /// The collection is the value of a mapping entry (libyaml's
    /// `mapping_context` when it started).
    in_mapping: bool,
}

struct Writer {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
    indent: i32,
    indents: Vec<i32>,
    frames: Vec<Frame>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
}

impl Writer {
    fn put(&mut self, s: &str) {
        // Only ASCII reaches here, so bytes are columns.
        self.out.push_str(s);
        self.column += s.len();
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { INDENT } else { 0 };
        } else if !indentless {
            self.indent += INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn write_indent(&mut self) {
        let indent = usize::try_from(self.indent.max(0)).unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.out.push('\n');
            self.column = 0;
        }
        while self.column < indent {
            let n = (indent - self.column).min(SPACES.len());
            self.out.push_str(&SPACES[..n]);
            self.column += n;
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, indicator: &str, need_ws: bool, is_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.put(" ");
        }
        self.put(indicator);
        self.whitespace = is_ws;
        self.indention = self.indention && is_indention;
    }

    /// Starts the block form of the innermost collection at its first entry.
    fn start_block(&mut self) {
        let Some(frame) = self.frames.last_mut() else {
            return;
        };
        if frame.started {
            return;
        }
        frame.started = true;
        let (kind, in_mapping) = (frame.kind, frame.in_mapping);
        match kind {
            Kind::Mapping => self.increase_indent(false, false),
            // A sequence that is a mapping value is not indented (`key:\n- a`).
            Kind::Sequence => self.increase_indent(false, in_mapping && !self.indention),
        }
    }

    /// What comes before a node in its parent: the `- ` of a sequence item,
    /// nothing for a mapping value. Returns whether the node is a key.
    fn before_node(&mut self) -> bool {
        self.start_block();
        match self.frames.last() {
            Some(f) if f.kind == Kind::Sequence => {
                self.write_indent();
                self.write_indicator("-", true, false, true);
                false
            }
            Some(f) if f.expect_key => {
                self.write_indent();
                true
            }
            _ => false,
        }
    }

    /// After a node: a key is followed by `:`; a value makes room for the next key.
    fn after_node(&mut self, was_key: bool) {
        if let Some(f) = self.frames.last_mut()
            && f.kind == Kind::Mapping
        {
            f.expect_key = !was_key;
            if was_key {
                self.write_indicator(":", false, false, false);
            }
        }
    }

    fn scalar(&mut self, value: &str, style: Style) -> Result {
        let key = self.before_node();
        let style = if key {
            if value.len() > MAX_SIMPLE_KEY
                || (style == Style::DoubleQuoted && double_quoted(value).len() + 2 > MAX_SIMPLE_KEY)
            {
                return Err(Unsupported::new(
                    "a mapping key longer than 128 characters (libyaml's `? key` form)",
                ));
            }
            // An empty plain key is not allowed in the simple key form.
            if value.is_empty() {
                Style::SingleQuoted
            } else {
                style
            }
        } else {
            style
        };
        match style {
            Style::Plain => {
                if !self.whitespace && !value.is_empty() {
                    self.put(" ");
                }
                self.put(value);
            }
            Style::SingleQuoted => {
                self.write_indicator("'", true, false, false);
                let mut rest = value;
                while let Some(i) = rest.find('\'') {
                    self.put(&rest[..=i]);
                    self.put("'");
                    rest = &rest[i + 1..];
                }
                self.put(rest);
                self.write_indicator("'", false, false, false);
            }
            Style::DoubleQuoted => {
                self.write_indicator("\"", true, false, false);
                let escaped = double_quoted(value);
                self.put(&escaped);
                self.write_indicator("\"", false, false, false);
            }
        }
        self.whitespace = false;
        self.indention = false;
        self.after_node(key);
        Ok(())
    }

    fn string(&mut self, value: &str) -> Result {
        let style = match block_plain_allowed(value) {
            // Line breaks, tabs, control and non-ASCII characters: escaped.
            None => Style::DoubleQuoted,
            Some(false) => Style::SingleQuoted,
            Some(true) if reads_as_other_type(value) => Style::SingleQuoted,
            Some(true) => Style::Plain,
        };
        self.scalar(value, style)
    }

    fn start_collection(&mut self, kind: Kind) -> Result {
        if self.before_node() {
            return Err(Unsupported::new("a mapping or sequence as a mapping key"));
        }
        let in_mapping = matches!(self.frames.last(), Some(f) if f.kind == Kind::Mapping);
        self.frames.push(Frame {
            kind,
            started: false,
            expect_key: kind == Kind::Mapping,
            in_mapping,
        });
        Ok(())
    }

    fn end_collection(&mut self) -> Result {
        let frame = self
            .frames
            .pop()
            .ok_or_else(|| Unsupported::new("the end of a collection that was not started"))?;
        if frame.kind == Kind::Mapping && !frame.expect_key {
            return Err(Unsupported::new("a mapping key without a value"));
        }
        if frame.started {
            self.pop_indent();
        } else {
            let (open, close) = match frame.kind {
                Kind::Mapping => ("{", "}"),
                Kind::Sequence => ("[", "]"),
            };
            self.write_indicator(open, true, true, false);
            self.write_indicator(close, false, false, false);
        }
        self.after_node(false);
        Ok(())
    }

    fn integer(&mut self, v: impl Into<i128>) -> Result {
        let v: i128 = v.into();
        let mut digits = [0u8; 40];
        let mut at = digits.len();
        let mut rest = v.unsigned_abs();
        loop {
            at -= 1;
            // The remainder is below 10.
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        if v < 0 {
            at -= 1;
            digits[at] = b'-';
        }
        let text = std::str::from_utf8(&digits[at..])
            .map_err(|_| Unsupported::new("an integer it failed to format"))?;
        self.scalar(text, Style::Plain)
    }
}

/// libyaml's `block_plain_allowed` for a one-line printable ASCII string,
/// or `None` for any other string.
fn block_plain_allowed(s: &str) -> Option<bool> {
    let b = s.as_bytes();
    let (printable, marks) = scan(b);
    if !printable {
        return None;
    }
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return Some(true);
    };
    let blank_at_1 = b.get(1).is_none_or(|&c| c == b' ');
    let indicator_first = match first {
        b'#' | b',' | b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
        | b'"' | b'%' | b'@' | b'`' => true,
        b'?' | b':' | b'-' => blank_at_1,
        _ => false,
    };
    if indicator_first
        || first == b' '
        || last == b' '
        || s.starts_with("---")
        || s.starts_with("...")
    {
        return Some(false);
    }
    // The exact scan only for strings that have a `:` or `#`.
    if marks {
        for i in 1..b.len() {
            // Past the end is libyaml's terminating NUL, which counts as whitespace.
            let ends_key = b[i] == b':' && b.get(i + 1).is_none_or(|&n| n == b' ');
            let comment = b[i] == b'#' && b[i - 1] == b' ';
            if ends_key || comment {
                return Some(false);
            }
        }
    }
    Some(true)
}

/// Whether every byte is printable ASCII, and whether any is `:` or `#`:
/// eight bytes at a time, since scalars are scanned byte by byte otherwise.
fn scan(b: &[u8]) -> (bool, bool) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Exact for n <= 0x80: a byte's high bit is set only where it is below n.
    let any_below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH != 0;
    let any_eq = |x: u64, c: u8| any_below(x ^ (ONES * u64::from(c)), 1);
    let mut marks = false;
    let mut chunks = b.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        if x & HIGH != 0 || any_below(x, 0x20) || any_eq(x, 0x7f) {
            return (false, marks);
        }
        marks |= any_eq(x, b':') || any_eq(x, b'#');
    }
    for &c in chunks.remainder() {
        if c.wrapping_sub(0x20) >= 0x5f {
            return (false, marks);
        }
        marks |= (c == b':') | (c == b'#');
    }
    (true, marks)
}

/// Whether a plain scalar would be read as something other than this
/// string: null, a boolean, a number or a date, by YAML 1.2 (what
/// `serde_yaml_ng` checks) or YAML 1.1 (Go's yaml.v2 in Prometheus and
/// older Docker CLIs, PyYAML). Such strings are single-quoted.
pub(crate) fn reads_as_other_type(s: &str) -> bool {
    // Numbers and dates start with a digit, a sign or a dot; the words
    // below with one of `~nNtTfFyYoO<=`. Anything else is a string without
    // parsing it.
    match s.as_bytes().first() {
        None => return true,
        Some(
            b'0'..=b'9'
            | b'+'
            | b'-'
            | b'.'
            | b'~'
            | b'n'
            | b'N'
            | b't'
            | b'T'
            | b'f'
            | b'F'
            | b'y'
            | b'Y'
            | b'o'
            | b'O'
            | b'<'
            | b'=',
        ) => {}
        Some(_) => return false,
    }
    if matches!(
        s,
        "null"
            | "Null"
            | "NULL"
            | "~"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            // YAML 1.1 booleans, the merge key and the value key.
            | "y"
            | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
            | "<<"
            | "="
    ) {
        return true;
    }
    if !matches!(s.as_bytes()[0], b'0'..=b'9' | b'+' | b'-' | b'.') {
        return false;
    }
    if yaml11_sexagesimal(s) || yaml11_date(s) {
        return true;
    }
    // YAML 1.1 allows `_` between digits of every number (`1_000`,
    // `0x_0A`, `1_0.5`); yaml.v2 drops them all before parsing.
    let digits: std::borrow::Cow<'_, str> = if s.contains('_') {
        s.replace('_', "").into()
    } else {
        s.into()
    };
    let t = digits.as_ref();
    !t.is_empty()
        && (parse_unsigned_int(t, u128::from_str_radix)
            || parse_negative_int(t, i128::from_str_radix)
            || parse_f64(t)
            || digits_but_not_number(t)
            // Go's yaml.v2 reads any run of digits as a float when it is
            // not an integer (`019`).
            || t.strip_prefix(['-', '+']).unwrap_or(t).bytes().all(|b| b.is_ascii_digit()))
}

/// YAML 1.1 base-60 integers and floats: `190:20:30`, `-1:30.5`.
fn yaml11_sexagesimal(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    let mut parts = whole.split(':');
    let first = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    !rest.is_empty()
        && first.starts_with(|c: char| c.is_ascii_digit())
        && first.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && rest
            .iter()
            .all(|p| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
        && fraction.bytes().all(|b| b.is_ascii_digit() || b == b'_')
}

/// A YAML 1.1 timestamp starts `yyyy-m-d` (`2001-12-14`,
/// `2001-12-14t21:59:43.10-05:00`); any string that starts so is quoted.
fn yaml11_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| {
        b.len() >= from + n && b[from..from + n].iter().all(u8::is_ascii_digit)
    };
    digits(0, 4) && b.get(4) == Some(&b'-') && digits(5, 1) && {
        let day = if b.get(6) == Some(&b'-') { 7 } else { 8 };
        b.get(day - 1) == Some(&b'-') && digits(day, 1)
    }
}

/// The inside of a double-quoted scalar: `"` and `\` escaped, ASCII
/// controls as `\xXX` (or their short escapes), every non-ASCII character
/// as `\uXXXX` or `\UXXXXXXXX`, so the text is one line of printable
/// ASCII whatever the value holds (YAML 1.1 and 1.2 share these escapes).
pub(crate) fn double_quoted(value: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            ' '..='~' => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c if (c as u32) <= 0xFFFF => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08X}", c as u32);
            }
        }
    }
    out
}

// The next four follow serde_yaml_ng's `de.rs` (u64/i64 accept a subset of
// what u128/i128 accept, so the wider types answer for both).

fn parse_unsigned_int<T>(
    s: &str,
    radix: fn(&str, u32) -> std::result::Result<T, std::num::ParseIntError>,
) -> bool {
    let unpositive = s.strip_prefix('+').unwrap_or(s);
    for (prefix, base) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = unpositive.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return false;
            }
            if radix(rest, base).is_ok() {
                return true;
            }
        }
    }
    if unpositive.starts_with(['+', '-']) || digits_but_not_number(s) {
        return false;
    }
    radix(unpositive, 10).is_ok()
}

fn parse_negative_int<T>(
    s: &str,
    radix: fn(&str, u32) -> std::result::Result<T, std::num::ParseIntError>,
) -> bool {
    for (prefix, base) in [("-0x", 16), ("-0o", 8), ("-0b", 2)] {
        if let Some(rest) = s.strip_prefix(prefix)
            && radix(&format!("-{rest}"), base).is_ok()
        {
            return true;
        }
    }
    !digits_but_not_number(s) && radix(s, 10).is_ok()
}

fn parse_f64(s: &str) -> bool {
    let unpositive = match s.strip_prefix('+') {
        Some(u) if u.starts_with(['+', '-']) => return false,
        Some(u) => u,
        None => s,
    };
    matches!(unpositive, ".inf" | ".Inf" | ".INF")
        || matches!(s, "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN")
        || unpositive.parse::<f64>().is_ok_and(f64::is_finite)
}

fn digits_but_not_number(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    s.len() > 1 && s.starts_with('0') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

impl ser::Serializer for &mut Writer {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    fn serialize_bool(self, v: bool) -> Result {
        self.scalar(if v { "true" } else { "false" }, Style::Plain)
    }
    fn serialize_i8(self, v: i8) -> Result {
        self.integer(v)
    }
    fn serialize_i16(self, v: i16) -> Result {
        self.integer(v)
    }
    fn serialize_i32(self, v: i32) -> Result {
        self.integer(v)
    }
    fn serialize_i64(self, v: i64) -> Result {
        self.integer(v)
    }
    fn serialize_i128(self, v: i128) -> Result {
        self.integer(v)
    }
    fn serialize_u8(self, v: u8) -> Result {
        self.integer(v)
    }
    fn serialize_u16(self, v: u16) -> Result {
        self.integer(v)
    }
    fn serialize_u32(self, v: u32) -> Result {
        self.integer(v)
    }
    fn serialize_u64(self, v: u64) -> Result {
        self.integer(v)
    }
    fn serialize_u128(self, v: u128) -> Result {
        self.scalar(&v.to_string(), Style::Plain)
    }
    fn serialize_f32(self, _v: f32) -> Result {
        // serde_yaml_ng writes the shortest f32 digits; the bundle has none.
        Err(Unsupported::new("an f32"))
    }
    fn serialize_f64(self, v: f64) -> Result {
        // serde_yaml_ng prints floats with ryu; Rust's `{:?}` gives the same
        // shortest digits in the range where neither uses an exponent.
        // Outside it, no exponent at all: YAML 1.1 reads `1e-5` as a string.
        if !v.is_finite() {
            return Err(Unsupported::new("a float that is not finite"));
        }
        let a = v.abs();
        if v == 0.0 || (1e-4..1e16).contains(&a) {
            return self.scalar(&format!("{v:?}"), Style::Plain);
        }
        let mut text = format!("{v}");
        if !text.contains('.') {
            text.push_str(".0");
        }
        self.scalar(&text, Style::Plain)
    }
    fn serialize_char(self, v: char) -> Result {
        self.string(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result {
        self.string(v)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result {
        Err(Unsupported::new("bytes"))
    }
    fn serialize_none(self) -> Result {
        self.scalar("null", Style::Plain)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        self.scalar("null", Style::Plain)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        // serde_yaml_ng writes a tag (`!Variant`).
        Err(Unsupported::new("an enum variant with data (a YAML tag)"))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self> {
        self.start_collection(Kind::Sequence)?;
        Ok(self)
    }
    fn serialize_tuple(self, len: usize) -> Result<Self> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Self> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Unsupported::new("an enum variant with data (a YAML tag)"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self> {
        self.start_collection(Kind::Mapping)?;
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _len: usize) -> Result<Self> {
        self.start_collection(Kind::Mapping)?;
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Unsupported::new("an enum variant with data (a YAML tag)"))
    }
    fn collect_str<T: ?Sized + Display>(self, value: &T) -> Result {
        // serde_yaml_ng would read a leading `!` here as a tag; it is text
        // like any other (single-quoted: `!` is an indicator).
        self.string(&value.to_string())
    }
}

impl ser::SerializeSeq for &mut Writer {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        self.end_collection()
    }
}

impl ser::SerializeTuple for &mut Writer {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        self.end_collection()
    }
}

impl ser::SerializeTupleStruct for &mut Writer {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        self.end_collection()
    }
}

impl ser::SerializeMap for &mut Writer {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result {
        key.serialize(&mut **self)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        self.end_collection()
    }
}

impl ser::SerializeStruct for &mut Writer {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result {
        self.string(key)?;
        value.serialize(&mut **self)
    }
    fn end(self) -> Result {
        self.end_collection()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Value, json};

    use super::to_string;

    /// Every string in a JSON value.
    fn strings(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            Value::Object(o) => {
                for (k, v) in o {
                    out.push(k.clone());
                    strings(v, out);
                }
            }
            _ => {}
        }
    }

    /// Either the fast writer declines, or it writes what reads back as
    /// the same value, with serde_yaml_ng's bytes unless a string is one
    /// this writer quotes on purpose (YAML 1.1 types, non-printable text).
    fn same(value: &Value) -> bool {
        let expected = serde_yaml_ng::to_string(value).expect("serde_yaml_ng writes it");
        match to_string(value) {
            Ok(fast) => {
                let back: Value =
                    serde_yaml_ng::from_str(&fast).unwrap_or_else(|e| panic!("{e}: {fast}"));
                assert_eq!(&back, value, "for {value}:\n{fast}");
                let mut all = Vec::new();
                strings(value, &mut all);
                let deliberate = all.iter().any(|s| {
                    super::block_plain_allowed(s).is_none()
                        || (super::reads_as_other_type(s)
                            && !serde_yaml_ng::to_string(s)
                                .expect("serde_yaml_ng writes it")
                                .starts_with('\''))
                });
                if !deliberate {
                    assert_eq!(fast, expected, "for {value}");
                }
                true
            }
            Err(_) => false,
        }
    }

    #[test]
    fn shapes() {
        let shapes = [
            json!({}),
            json!([]),
            json!(null),
            json!("x"),
            json!(5),
            json!(true),
            json!({"a": {}, "b": [], "c": [{}], "d": [[]], "e": {"f": {}}}),
            json!([[1, [2, []]], {"a": [1, 2]}, [{"b": {"c": [3]}}], {}]),
            json!({"a": [{"b": 1, "c": [{"d": [], "e": {}}]}], "f": [[{"g": null}]]}),
            json!([[[]]]),
            json!({"k": [[], [[]], {}, [{}]]}),
            json!([{"a": 1}, {"b": [{"c": 2}, []]}]),
        ];
        for shape in &shapes {
            assert!(same(shape), "declined {shape}");
        }
    }

    #[test]
    fn integers() {
        #[derive(serde::Serialize)]
        struct Ints {
            a: i8,
            b: i16,
            c: i32,
            d: i64,
            e: i128,
            f: u8,
            g: u16,
            h: u32,
            i: u64,
            j: u128,
            k: Vec<i64>,
        }
        let ints = Ints {
            a: i8::MIN,
            b: -1,
            c: 0,
            d: i64::MIN,
            e: i128::MIN,
            f: u8::MAX,
            g: 8080,
            h: u32::MAX,
            i: u64::MAX,
            j: u128::MAX,
            k: vec![i64::MAX, -10, 10, 0],
        };
        assert_eq!(
            to_string(&ints).expect("fast"),
            serde_yaml_ng::to_string(&ints).expect("serde_yaml_ng writes it")
        );
    }

    #[test]
    fn floats() {
        for f in [
            0.0,
            -0.0,
            0.1,
            0.25,
            1.0,
            1.5,
            100.0,
            1e-4,
            0.00012,
            123456.789,
            9.99e15,
            1e15,
            -2.5,
            0.3333333333333333,
        ] {
            assert!(same(&json!({ "v": f })), "declined {f}");
        }
        // No exponent forms: YAML 1.1 reads `1e-5` as a string.
        for f in [1e16, 1e-5, 1e300, 5e-324] {
            let text = to_string(&json!({ "v": f })).expect("fast");
            assert!(!text.contains(['e', 'E']), "{text}");
            let back: Value = serde_yaml_ng::from_str(&text).expect("parses");
            assert_eq!(back["v"].as_f64(), Some(f), "{text}");
        }
    }

    /// Every string of up to two characters from the ones YAML treats
    /// specially, and of three from a smaller set, as a value, a key and
    /// a sequence item.
    #[test]
    fn strings_as_values_keys_and_items() {
        let wide: Vec<char> = " -:#?.0123x'\"{},[]&*!|>%@`~+eEnNtTo_/=$\\;<"
            .chars()
            .collect();
        let narrow: Vec<char> = " -:#?.0x'\"{!e1".chars().collect();
        let mut strings = vec![String::new()];
        for a in &wide {
            strings.push(a.to_string());
            for b in &wide {
                strings.push(format!("{a}{b}"));
            }
        }
        for a in &narrow {
            for b in &narrow {
                for c in &narrow {
                    strings.push(format!("{a}{b}{c}"));
                }
            }
        }
        for s in &strings {
            for value in [
                json!({ "key": s }),
                json!([s]),
                json!([[s]]),
                json!({ s: 1 }),
                json!({ s: [s] }),
                json!([{ s: { s: s } }]),
            ] {
                assert!(same(&value), "declined {value}");
            }
        }
    }

    #[test]
    fn typed_looking_strings() {
        for s in [
            "null",
            "Null",
            "NULL",
            "~",
            "true",
            "True",
            "TRUE",
            "false",
            "FALSE",
            "yes",
            "no",
            "on",
            "off",
            "y",
            "n",
            "0",
            "00",
            "007",
            "-0",
            "+1",
            "0x1F",
            "0o17",
            "0b101",
            "-0x1",
            "0x",
            "0b",
            "1e3",
            "1.5",
            ".5",
            "5.",
            ".inf",
            "-.inf",
            "+.inf",
            ".nan",
            ".NaN",
            "inf",
            "nan",
            "infinity",
            "-inf",
            "1_000",
            "12:30",
            "3.9",
            "1.0.0",
            "0.1.2",
            "340282366920938463463374607431768211456",
            "-170141183460469231731687303715884105729",
            "18446744073709551616",
            "+-1",
            "--1",
            "0x+1",
            "1e",
            "e1",
            "+",
            "-",
            ".",
            "2024-01-01",
            "key: value",
            "a #b",
            "a#b",
            "#a",
            "a:",
            "a:b",
            "http://x",
            "- a",
            "-a",
            "? a",
            "?a",
            "--- a",
            "...",
            "a ",
            " a",
            "it's",
            "'",
            "''",
            "a'b'c",
            "\"q\"",
            "say \"hi\"",
        ] {
            assert!(same(&json!({ "v": s, s: s })), "declined {s:?}");
        }
    }

    #[test]
    fn scans_every_byte_position() {
        let mut bytes = vec![b'a'; 19];
        for at in 0..bytes.len() {
            for (c, printable, mark) in [
                (b':', true, true),
                (b'#', true, true),
                (b' ', true, false),
                (b'~', true, false),
                (0x7f, false, false),
                (0x1f, false, false),
                (0x00, false, false),
                (b'\n', false, false),
                (0x80, false, false),
                (0xff, false, false),
            ] {
                bytes[at] = c;
                assert_eq!(
                    super::scan(&bytes[..=at]),
                    (printable, mark),
                    "{c:#x} at {at}"
                );
                let (p, m) = super::scan(&bytes);
                assert_eq!(p, printable, "{c:#x} at {at} of {}", bytes.len());
                if printable {
                    assert_eq!(m, mark);
                }
                bytes[at] = b'a';
            }
        }
    }

    #[test]
    fn declines_what_it_does_not_write() {
        let long_key = "k".repeat(129);
        assert!(!same(&json!({ long_key: 1 })));
        assert!(same(&json!({ "k".repeat(128): 1 })));
        #[derive(serde::Serialize)]
        enum E {
            Tagged(u32),
        }
        let tagged = to_string(&BTreeMap::from([("a", E::Tagged(1))]));
        assert_eq!(
            tagged.map_err(|e| e.to_string()),
            Err("the YAML writer does not write an enum variant with data (a YAML tag)".to_owned())
        );
        assert!(to_string(&BTreeMap::from([("v", f64::NAN)])).is_err());
        assert!(to_string(&BTreeMap::from([(vec![1], 1)])).is_err());
    }

    /// Line breaks, tabs, controls, non-ASCII and bidi characters: one
    /// double-quoted line of ASCII that reads back as the same string.
    #[test]
    fn escapes_what_is_not_printable_ascii() {
        for s in [
            "a\nb",
            "tab\there",
            "caf\u{e9}",
            "\u{0}",
            "\r",
            "\u{1b}[2J",
            "x\u{85}y\u{2028}z\u{2029}",
            "rlo\u{202e}txt",
            "emoji \u{1F600}",
            "quote \" and \\ backslash\n",
            "\nEOF\nid\n",
            "trailing\n\n",
        ] {
            for value in [json!({ "v": s }), json!({ s: [s] }), json!([s])] {
                assert!(same(&value), "declined {value}");
                let text = to_string(&value).expect("fast");
                assert!(
                    text.bytes()
                        .all(|b| b == b'\n' || (b' '..=b'~').contains(&b)),
                    "{text:?}"
                );
            }
            let one = to_string(&json!({ "v": s })).expect("fast");
            assert_eq!(one.lines().count(), 1, "{one:?}");
        }
    }

    /// YAML 1.1 (Go's yaml.v2, PyYAML) reads these plain scalars as
    /// booleans, numbers, dates or a merge key: each is quoted.
    #[test]
    fn yaml_1_1_types_are_quoted() {
        for s in [
            "yes",
            "Yes",
            "YES",
            "no",
            "No",
            "NO",
            "on",
            "On",
            "ON",
            "off",
            "Off",
            "OFF",
            "y",
            "Y",
            "n",
            "N",
            "1_000",
            "+1_000",
            "0b1010_0111",
            "0x_0A_74_AE",
            "0o17",
            "017",
            "019",
            "190:20:30",
            "-1:30.5",
            "1_0.5",
            ".inf",
            "-.Inf",
            ".NaN",
            "2001-12-14",
            "2001-1-4",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10 -5",
            "<<",
            "=",
            "~",
            "null",
            "1e3",
            "1.",
            ".5",
        ] {
            assert!(super::reads_as_other_type(s), "{s}");
            let text = to_string(&json!({ "v": s })).expect("fast");
            assert!(text.contains(&format!("v: '{s}'")), "{s}: {text}");
        }
        for s in [
            "yesterday",
            "online",
            "nginx",
            "1.28.0",
            "v1.2",
            "1.0.0-alpine",
            "a:1",
            "12:345",
            "2001-12",
            "200-12-14",
            "_1",
            "/api",
            "0.0.0.0/0",
            "172.26.0.0/16",
            "10s",
            "512M",
            "http://x:80",
            "noon",
            "o",
            "<",
            "==",
        ] {
            assert!(!super::reads_as_other_type(s), "{s}");
        }
    }
}
