//! Every load error of a file, not only the first.
//!
//! serde stops at the first unknown key, wrong type or malformed unit. To
//! report all of them, the loader repairs the parsed document after each
//! error and deserializes it again, until it deserializes or nothing more
//! can be repaired:
//!
//! - a bad key or value is removed (unknown keys are never required, and
//!   an optional field falls back to its default);
//! - a required field that is missing (or was removed) gets a stand-in
//!   value: a few values of each TOML type are tried, the first allowed
//!   choice when serde names them, and a table is filled in the same way;
//! - when no stand-in fits, the enclosing table or array item is removed.
//!
//! Only errors about the user's text are reported: a "missing key" caused
//! by a removal (or by a typo whose help names the key), or any error
//! about a stand-in, is the repair's own.
//! Stand-ins get spans past the end of the text, so they are told apart.
//! Nothing repaired is ever validated or rendered: a file with a load
//! error stops at `check`.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeArray, DeString, DeTable, DeValue};

use crate::codes::Code;
use crate::model::TopologyFile;

/// A load error: its code, message, help and byte span in the text.
pub(crate) type Problem = (Code, String, String, Range<usize>);

/// Stand-in values, tried in this order (TOML literals).
const CANDIDATES: &[&str] = &[
    "1",
    "\"a\"",
    "true",
    "{}",
    "[]",
    "1.5",
    "\"1s\"",
    "\"1M\"",
    "\"1\"",
    "\"10.0.0.0/8\"",
    "\"nginx:1.27.3\"",
];

/// How much text the repeated deserializations may read in total: a
/// small topology with many errors gets many rounds, the 3 MiB benchmark
/// topology a few, so a hostile file cannot make `check` slow.
const WORK_BYTES: usize = 64 * 1024 * 1024;
/// The most rounds, whatever the size.
const MAX_ROUNDS: usize = 1024;

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

/// A stand-in the repair put into the document.
struct StandIn {
    /// The table it is in.
    table: Vec<Step>,
    key: String,
    /// Its span (past the end of the text): errors there are ours.
    span: Range<usize>,
    /// The candidate tried now.
    candidate: usize,
}

/// Every load error of `root` (the parsed `text_len` bytes), in the order
/// found; the first is serde's own first error.
pub(crate) fn all_errors(
    root: &Spanned<DeTable<'_>>,
    text_len: usize,
    classify: impl Fn(&str) -> (Code, String, String),
) -> Vec<Problem> {
    let rounds = (WORK_BYTES / text_len.max(1)).clamp(2, MAX_ROUNDS);
    let mut doc: Spanned<DeTable<'_>> = root.clone();
    let mut out: Vec<Problem> = Vec::new();
    // (table, key) removed because of a reported error: its "missing key" is ours.
    let mut removed: Vec<(Vec<Step>, String)> = Vec::new();
    let mut stand_ins: Vec<StandIn> = Vec::new();
    let mut next_span = text_len + 1;
    let mut last: Option<(Range<usize>, String)> = None;
    for _ in 0..rounds {
        let Err(e) = deserialize(&doc) else {
            break;
        };
        let raw = e.message().trim_end().to_owned();
        let Some(span) = e.span() else {
            // Not located: reported once, nothing to repair.
            let (code, message, help) = classify(&raw);
            out.push((code, message, help, 0..0));
            break;
        };
        if last.as_ref() == Some(&(span.clone(), raw.clone())) {
            break; // the repair did not change anything
        }
        last = Some((span.clone(), raw.clone()));
        let missing = raw
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
            .map(str::to_owned);

        if span.start > text_len {
            // An error about a stand-in, or inside one.
            let Some(i) = stand_ins
                .iter()
                .rposition(|s| s.span.start <= span.start && span.start < s.span.end)
            else {
                break;
            };
            let (table, key) = (stand_ins[i].table.clone(), stand_ins[i].key.clone());
            let mut inner = table.clone();
            inner.push(Step::Key(key.clone()));
            if let Some(field) = missing
                && stand_ins[i].span == span
                && matches!(
                    get(&doc, &inner).map(Spanned::get_ref),
                    Some(DeValue::Table(_))
                )
            {
                // A stand-in table lacks a required field: fill it in.
                stand_in(&mut doc, &mut stand_ins, &mut next_span, inner, field);
                continue;
            }
            let value = match choice(&raw) {
                Some(allowed) if stand_ins[i].candidate < CANDIDATES.len() => {
                    stand_ins[i].candidate = CANDIDATES.len();
                    Some(string(&allowed))
                }
                _ => {
                    stand_ins[i].candidate += 1;
                    CANDIDATES.get(stand_ins[i].candidate).map(|c| literal(c))
                }
            };
            match value {
                Some(v) => {
                    let s = Spanned::new(stand_ins[i].span.clone(), v);
                    set(&mut doc, &table, &key, s);
                }
                None => {
                    // Nothing fits: drop the table that needs it.
                    stand_ins.truncate(i);
                    if table.is_empty() || !remove(&mut doc, &table) {
                        break;
                    }
                }
            }
            continue;
        }

        let (code, message, help) = classify(&raw);
        if let Some(field) = missing {
            let Some(table) = table_at(&doc, &span) else {
                break;
            };
            if !removed.contains(&(table.clone(), field.clone())) {
                out.push((code, message, help, span));
            }
            stand_in(&mut doc, &mut stand_ins, &mut next_span, table, field);
            continue;
        }
        out.push((code, message, help, span.clone()));
        let Some(path) = entry_at(&doc, &span) else {
            break;
        };
        if let Some((Step::Key(key), table)) = path.split_last() {
            removed.push((table.to_vec(), key.clone()));
            // A misspelt key (`memroy`): the key it was meant to be is
            // missing because of it, and the help already names it.
            if let Some(meant) = meant(&raw) {
                removed.push((table.to_vec(), meant));
            }
        }
        if !remove(&mut doc, &path) {
            break;
        }
    }
    out
}

fn deserialize(doc: &Spanned<DeTable<'_>>) -> Result<TopologyFile, toml::de::Error> {
    serde::Deserialize::deserialize(toml::de::Deserializer::from(doc.clone()))
}

/// The key a misspelt one was meant to be, as the help suggests it.
fn meant(raw: &str) -> Option<String> {
    let rest = raw.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    let allowed: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    pf_diag::closest(field, &allowed).map(str::to_owned)
}

/// The choices serde lists for an unknown enum value.
fn choice(raw: &str) -> Option<String> {
    let rest = raw.strip_prefix("unknown variant `")?;
    let (_, expected) = rest.split_once('`')?;
    expected.split('`').nth(1).map(str::to_owned)
}

fn literal(text: &'static str) -> DeValue<'static> {
    DeValue::parse(text)
        .map(Spanned::into_inner)
        .unwrap_or(DeValue::Boolean(true))
}

fn string(text: &str) -> DeValue<'static> {
    DeValue::String(DeString::Owned(text.to_owned()))
}

/// Puts the first candidate for `field` into the table at `table`.
fn stand_in(
    doc: &mut Spanned<DeTable<'_>>,
    stand_ins: &mut Vec<StandIn>,
    next_span: &mut usize,
    table: Vec<Step>,
    field: String,
) {
    // Wide enough for the stand-ins inside a stand-in table.
    let span = *next_span..*next_span + 1_000_000;
    *next_span = span.end;
    set(
        doc,
        &table,
        &field,
        Spanned::new(span.clone(), literal(CANDIDATES[0])),
    );
    stand_ins.push(StandIn {
        table,
        key: field,
        span,
        candidate: 0,
    });
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end.max(outer.start + 1)
}

/// The deepest key or array item whose key or value span holds `span`.
/// Every table is searched: the span of a table written with a header
/// (`[redis.sentinel]`) is the header, not its keys.
fn entry_at(doc: &Spanned<DeTable<'_>>, span: &Range<usize>) -> Option<Vec<Step>> {
    fn table(
        t: &DeTable<'_>,
        span: &Range<usize>,
        path: &mut Vec<Step>,
        best: &mut Option<Vec<Step>>,
    ) {
        for (k, v) in t {
            path.push(Step::Key(k.get_ref().to_string()));
            if contains(&k.span(), span) || contains(&v.span(), span) {
                keep(path, best);
            }
            below(v, span, path, best);
            path.pop();
        }
    }
    fn below(
        v: &Spanned<DeValue<'_>>,
        span: &Range<usize>,
        path: &mut Vec<Step>,
        best: &mut Option<Vec<Step>>,
    ) {
        match v.get_ref() {
            DeValue::Table(t) => table(t, span, path, best),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Step::Index(i));
                    if contains(&item.span(), span) {
                        keep(path, best);
                    }
                    below(item, span, path, best);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    fn keep(path: &[Step], best: &mut Option<Vec<Step>>) {
        if best.as_ref().is_none_or(|b| path.len() > b.len()) {
            *best = Some(path.to_vec());
        }
    }
    let mut best = None;
    table(doc.get_ref(), span, &mut Vec::new(), &mut best);
    best
}

/// The path of the table whose span is `span` (a "missing key" error is
/// reported at its table): the deepest such table, or the root.
fn table_at(doc: &Spanned<DeTable<'_>>, span: &Range<usize>) -> Option<Vec<Step>> {
    fn search(v: &Spanned<DeValue<'_>>, span: &Range<usize>, path: &mut Vec<Step>) -> bool {
        let found_here = v.span() == *span && matches!(v.get_ref(), DeValue::Table(_));
        match v.get_ref() {
            DeValue::Table(t) => {
                for (k, child) in t {
                    path.push(Step::Key(k.get_ref().to_string()));
                    if search(child, span, path) {
                        return true;
                    }
                    path.pop();
                }
            }
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Step::Index(i));
                    if search(item, span, path) {
                        return true;
                    }
                    path.pop();
                }
            }
            _ => {}
        }
        found_here
    }
    let mut path = Vec::new();
    for (k, child) in doc.get_ref() {
        path.push(Step::Key(k.get_ref().to_string()));
        if search(child, span, &mut path) {
            return Some(path);
        }
        path.pop();
    }
    Some(Vec::new())
}

fn get<'d, 'i>(doc: &'d Spanned<DeTable<'i>>, path: &[Step]) -> Option<&'d Spanned<DeValue<'i>>> {
    let (first, rest) = path.split_first()?;
    let Step::Key(k) = first else {
        return None;
    };
    let mut v = doc.get_ref().get(k.as_str())?;
    for step in rest {
        v = match (step, v.get_ref()) {
            (Step::Key(k), DeValue::Table(t)) => t.get(k.as_str())?,
            (Step::Index(i), DeValue::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

fn get_mut<'d, 'i>(
    doc: &'d mut Spanned<DeTable<'i>>,
    path: &[Step],
) -> Option<&'d mut Spanned<DeValue<'i>>> {
    let (first, rest) = path.split_first()?;
    let Step::Key(k) = first else {
        return None;
    };
    let mut v = doc.get_mut().get_mut(k.as_str())?;
    for step in rest {
        v = match (step, v.get_mut()) {
            (Step::Key(k), DeValue::Table(t)) => t.get_mut(k.as_str())?,
            (Step::Index(i), DeValue::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// Sets `key` in the table at `table` (the root when empty).
fn set<'i>(doc: &mut Spanned<DeTable<'i>>, table: &[Step], key: &str, value: Spanned<DeValue<'i>>) {
    let target: Option<&mut DeTable<'i>> = if table.is_empty() {
        Some(doc.get_mut())
    } else {
        match get_mut(doc, table).map(Spanned::get_mut) {
            Some(DeValue::Table(t)) => Some(t),
            _ => None,
        }
    };
    if let Some(t) = target {
        let span = value.span();
        t.insert(Spanned::new(span, DeString::Owned(key.to_owned())), value);
    }
}

/// Removes the entry at `path`; false when there is none.
fn remove(doc: &mut Spanned<DeTable<'_>>, path: &[Step]) -> bool {
    let Some((last, parent)) = path.split_last() else {
        return false;
    };
    match last {
        Step::Key(k) => {
            let table = if parent.is_empty() {
                Some(doc.get_mut())
            } else {
                match get_mut(doc, parent).map(Spanned::get_mut) {
                    Some(DeValue::Table(t)) => Some(t),
                    _ => None,
                }
            };
            table.is_some_and(|t| t.remove(k.as_str()).is_some())
        }
        Step::Index(i) => match get_mut(doc, parent).map(Spanned::get_mut) {
            Some(DeValue::Array(items)) if *i < items.len() => {
                let mut kept = DeArray::new();
                for (j, item) in items.iter().enumerate() {
                    if j != *i {
                        kept.push(item.clone());
                    }
                }
                *items = kept;
                true
            }
            _ => false,
        },
    }
}
