//! The v5 `debug` block, built the way Eliot's `DebugStats` builds it.
//!
//! Eliot keeps the block as nested Python dicts and fills it while it works, so the key order
//! is the order of first insertion. With one lookup per distinct module (sorted by debug file
//! and id), the steps are:
//!
//! 1. per module: `cache_lookups.count += 1`, `cache_lookups.hits += 1 or 0`,
//!    `cache_lookups.time += t`; on a miss `downloads.count += 1`, then either
//!    `downloads.fail_time_per_module[key]` (nothing downloaded), or
//!    `downloads.size_per_module[key]`, `downloads.time_per_module[key]` and then
//!    `parse_sym.fail_time_per_module[key]` (unusable file) or
//!    `parse_sym.time_per_module[key]` and `save_symcache.time_per_module[key]`;
//! 2. `time` (the whole request);
//! 3. `modules.count` (jobs x modules looked up), `modules.stacks_per_module[key]` (in how
//!    many jobs' `found_modules` the module has a non-null value);
//! 4. `downloads.size`, `downloads.time`, `parse_sym.time`, `save_symcache.time`: sums that
//!    start from the integer 0, so they are `0` (not `0.0`) when there is nothing to add;
//! 5. `cache_lookups.count += 0`, `cache_lookups.time += 0.0`, `downloads.count += 0`, which
//!    create those keys when no module was looked up.
//!
//! Our cache does not map one to one onto Eliot's, so [`FetchStats`] is translated: a
//! cache hit (which includes a remembered "not found") counts as a hit with no download;
//! on a miss, `Found` is a download + parse + save, `NotFound` with bytes downloaded is a
//! parse failure, and anything else a failed download.

use std::time::Duration;

use super::engine::Plan;
use crate::pyjson::{push_f64, push_str_ascii, push_u64};
use crate::symbolicator::provider::{FetchStats, ModuleStatus};

/// A number as Python holds it: `int` or `float`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Num {
    Int(u64),
    Float(f64),
}

impl Num {
    fn add(self, other: Num) -> Num {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Num::Int(a.saturating_add(b)),
            (a, b) => Num::Float(a.as_f64() + b.as_f64()),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Num::Int(a) => a as f64,
            Num::Float(a) => a,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Num(Num),
    Map(Stats),
}

/// An insertion-ordered nested map, like Eliot's `DebugStats.data`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Stats(Vec<(String, Val)>);

impl Stats {
    /// The map at `path`, created as needed (a number in the way is replaced).
    fn map_mut(&mut self, path: &[&str]) -> Option<&mut Stats> {
        let Some((first, rest)) = path.split_first() else {
            return Some(self);
        };
        let i = match self.0.iter().position(|(k, _)| k == first) {
            Some(i) => i,
            None => {
                self.0
                    .push(((*first).to_owned(), Val::Map(Stats::default())));
                self.0.len() - 1
            }
        };
        let slot = &mut self.0.get_mut(i)?.1;
        if let Val::Num(_) = slot {
            *slot = Val::Map(Stats::default());
        }
        match slot {
            Val::Map(m) => m.map_mut(rest),
            Val::Num(_) => None,
        }
    }

    fn set(&mut self, path: &[&str], value: Num) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let Some(m) = self.map_mut(parents) else {
            return;
        };
        match m.0.iter_mut().find(|(k, _)| k == last) {
            Some((_, v)) => *v = Val::Num(value),
            None => m.0.push(((*last).to_owned(), Val::Num(value))),
        }
    }

    fn incr(&mut self, path: &[&str], value: Num) {
        let current = match self.get(path) {
            Some(Val::Num(n)) => *n,
            _ => Num::Int(0),
        };
        self.set(path, current.add(value));
    }

    fn get(&self, path: &[&str]) -> Option<&Val> {
        let (last, parents) = path.split_last()?;
        let mut cur = self;
        for part in parents {
            cur = match cur.0.iter().find(|(k, _)| k == part) {
                Some((_, Val::Map(m))) => m,
                _ => return None,
            };
        }
        cur.0.iter().find(|(k, _)| k == last).map(|(_, v)| v)
    }

    /// `sum([0] + list(values))` of the map at `path`.
    fn sum(&self, path: &[&str]) -> Num {
        match self.get(path) {
            Some(Val::Map(m)) => m.0.iter().fold(Num::Int(0), |acc, (_, v)| match v {
                Val::Num(n) => acc.add(*n),
                Val::Map(_) => acc,
            }),
            _ => Num::Int(0),
        }
    }

    /// Writes the map as `json.dumps` does.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            push_str_ascii(out, k);
            out.extend_from_slice(b": ");
            match v {
                Val::Num(Num::Int(n)) => push_u64(out, *n),
                Val::Num(Num::Float(f)) => push_f64(out, *f),
                Val::Map(m) => m.write(out),
            }
        }
        out.push(b'}');
    }
}

fn secs(d: Duration) -> Num {
    Num::Float(d.as_secs_f64())
}

/// The debug block for a request whose modules were looked up in `plan`, with `jobs` jobs,
/// that took `elapsed`.
pub(crate) fn debug_block(plan: &Plan<'_>, jobs: usize, elapsed: Duration) -> Stats {
    let mut d = Stats::default();
    for slot in plan.lookups() {
        let Some(lookup) = &slot.lookup else { continue };
        let key = format!("{}/{}", slot.debug_file, slot.debug_id);
        let st: &FetchStats = &lookup.stats;
        d.incr(&["cache_lookups", "count"], Num::Int(1));
        d.incr(
            &["cache_lookups", "hits"],
            Num::Int(u64::from(st.cache_hit)),
        );
        let probe = if st.cache_hit {
            st.lookup_time
        } else {
            st.lookup_time
                .saturating_sub(st.download_time + st.parse_time + st.save_time)
        };
        d.incr(&["cache_lookups", "time"], secs(probe));
        if st.cache_hit {
            continue;
        }
        d.incr(&["downloads", "count"], Num::Int(1));
        let found = matches!(lookup.status, ModuleStatus::Found(_));
        let downloaded =
            found || (matches!(lookup.status, ModuleStatus::NotFound) && st.download_bytes > 0);
        if !downloaded {
            d.incr(
                &["downloads", "fail_time_per_module", &key],
                secs(st.download_time),
            );
            continue;
        }
        d.incr(
            &["downloads", "size_per_module", &key],
            Num::Int(st.download_bytes),
        );
        d.incr(
            &["downloads", "time_per_module", &key],
            secs(st.download_time),
        );
        if !found {
            d.incr(
                &["parse_sym", "fail_time_per_module", &key],
                secs(st.parse_time),
            );
            continue;
        }
        d.incr(&["parse_sym", "time_per_module", &key], secs(st.parse_time));
        d.incr(
            &["save_symcache", "time_per_module", &key],
            secs(st.save_time),
        );
    }
    d.set(&["time"], secs(elapsed));

    // Python's Counter over each job's non-null found_modules keys, in first-seen order.
    let mut seen = Vec::new();
    let mut counts: Vec<(usize, u64)> = Vec::new();
    let mut slot_pos = vec![usize::MAX; plan.slots.len()];
    for j in 0..jobs {
        for id in plan.found_modules(j, &mut seen) {
            if plan.slots.get(id).and_then(|s| s.found()).is_none() {
                continue;
            }
            match slot_pos.get(id).copied() {
                Some(p) if p != usize::MAX => {
                    if let Some(c) = counts.get_mut(p) {
                        c.1 += 1;
                    }
                }
                _ => {
                    if let Some(p) = slot_pos.get_mut(id) {
                        *p = counts.len();
                    }
                    counts.push((id, 1));
                }
            }
        }
    }
    d.set(
        &["modules", "count"],
        Num::Int(counts.iter().map(|c| c.1).sum()),
    );
    for (id, count) in counts {
        if let Some(s) = plan.slots.get(id) {
            d.set(
                &[
                    "modules",
                    "stacks_per_module",
                    &format!("{}/{}", s.debug_file, s.debug_id),
                ],
                Num::Int(count),
            );
        }
    }

    let size = d.sum(&["downloads", "size_per_module"]);
    d.set(&["downloads", "size"], size);
    let time = d.sum(&["downloads", "time_per_module"]);
    d.set(&["downloads", "time"], time);
    let time = d.sum(&["parse_sym", "time_per_module"]);
    d.set(&["parse_sym", "time"], time);
    let time = d.sum(&["save_symcache", "time_per_module"]);
    d.set(&["save_symcache", "time"], time);
    d.incr(&["cache_lookups", "count"], Num::Int(0));
    d.incr(&["cache_lookups", "time"], Num::Float(0.0));
    d.incr(&["downloads", "count"], Num::Int(0));
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(s: &Stats) -> String {
        let mut v = Vec::new();
        s.write(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn empty_request_block() {
        let plan = Plan::new(&[]);
        let d = debug_block(&plan, 0, Duration::from_millis(1));
        assert_eq!(
            json(&d),
            r#"{"time": 0.001, "modules": {"count": 0}, "downloads": {"size": 0, "time": 0, "count": 0}, "parse_sym": {"time": 0}, "save_symcache": {"time": 0}, "cache_lookups": {"count": 0, "time": 0.0}}"#
        );
    }

    #[test]
    fn python_number_semantics() {
        let mut d = Stats::default();
        d.incr(&["a", "b"], Num::Int(1));
        d.incr(&["a", "b"], Num::Int(0));
        d.incr(&["a", "c"], Num::Float(0.5));
        d.incr(&["a", "c"], Num::Int(0));
        d.set(&["x"], Num::Int(3));
        d.set(&["a", "b"], Num::Int(7));
        assert_eq!(json(&d), r#"{"a": {"b": 7, "c": 0.5}, "x": 3}"#);
    }
}
