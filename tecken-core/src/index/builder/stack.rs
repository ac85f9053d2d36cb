//! Resolving the chunks' STACK records into the unwind sections: one table of distinct
//! rule strings, the CFI ranges with their delta rows, and the STACK WIN records of each
//! type, overlaps resolved by the rules in the [format docs](crate::index::format#unwind-sections).

use super::chunk::{Chunk, RuleMap, WinRec};
use crate::error::{Error, ErrorKind, Result};
use crate::index::format::{CfiDeltaEntry, CfiInitEntry, WinEntry};
use crate::unwind::WinKind;

/// The unwind sections' entries, in final form (rule indexes are into `rules`).
#[derive(Default)]
pub(super) struct Unwind {
    /// The distinct rule and program strings, in order of first appearance: (offset,
    /// length) in the input.
    pub(super) rules: Vec<(usize, u32)>,
    /// CFI_STARTS.
    pub(super) cfi_starts: Vec<u64>,
    /// CFI_INITS, parallel to `cfi_starts`.
    pub(super) cfi_inits: Vec<CfiInitEntry>,
    /// CFI_DELTAS.
    pub(super) cfi_deltas: Vec<CfiDeltaEntry>,
    /// WIN_FRAMEDATA.
    pub(super) framedata: Vec<WinEntry>,
    /// WIN_FPO.
    pub(super) fpo: Vec<WinEntry>,
}

fn too_many() -> Error {
    Error::new(
        ErrorKind::LimitExceeded,
        "too many STACK records for one index",
    )
}

/// Resolves the STACK records of every chunk (in file order).
pub(super) fn resolve(sym: &[u8], chunks: &[Chunk]) -> Result<Unwind> {
    let mut out = Unwind::default();
    // Each chunk's rule indexes to the global ones, first appearance in the file first
    // (chunks are in file order, their tables in order of appearance), so the table does
    // not depend on how the input was cut.
    let mut ids: RuleMap<'_> = RuleMap::default();
    let mut maps: Vec<Vec<u32>> = Vec::with_capacity(chunks.len());
    for c in chunks {
        let mut map = Vec::with_capacity(c.rules.len());
        for &(off, len) in &c.rules {
            let bytes = sym.get(off..off + len as usize).unwrap_or(&[]);
            let next = u32::try_from(out.rules.len()).map_err(|_| too_many())?;
            let id = *ids.entry(bytes).or_insert_with(|| {
                out.rules.push((off, len));
                next
            });
            map.push(id);
        }
        maps.push(map);
    }
    let rule_bytes = |c: usize, local: u32| -> &[u8] {
        chunks[c]
            .rules
            .get(local as usize)
            .and_then(|&(off, len)| sym.get(off..off + len as usize))
            .unwrap_or(&[])
    };
    let global = |c: usize, local: u32| maps[c].get(local as usize).copied().unwrap_or(0);

    resolve_cfi(chunks, &mut out, &rule_bytes, &global)?;
    for kind in [WinKind::FrameData, WinKind::Fpo] {
        let entries = resolve_win(chunks, kind, &global);
        match kind {
            WinKind::FrameData => out.framedata = entries,
            WinKind::Fpo => out.fpo = entries,
        }
    }
    Ok(out)
}

/// The CFI ranges, sorted and disjoint, and their deltas.
fn resolve_cfi<'s>(
    chunks: &[Chunk],
    out: &mut Unwind,
    rule_bytes: &dyn Fn(usize, u32) -> &'s [u8],
    global: &dyn Fn(usize, u32) -> u32,
) -> Result<()> {
    // (start, end, chunk, index): unique keys, so an unstable sort keeps file order for
    // equal ranges.
    let mut inits: Vec<(u64, u64, u32, u32)> = Vec::new();
    for (ci, c) in chunks.iter().enumerate() {
        for (ii, r) in c.cfi_inits.iter().enumerate() {
            // `breakpad-symbols` drops a range of size 0 or whose end overflows.
            if let Some(end) = r.addr.checked_add(u64::from(r.size)).filter(|_| r.size > 0) {
                inits.push((r.addr, end, ci as u32, ii as u32));
            }
        }
    }
    if !inits.is_sorted() {
        inits.sort_unstable();
    }
    let mut last_end: Option<u64> = None;
    let mut deltas: Vec<(u64, &[u8], u32)> = Vec::new();
    for (start, end, ci, ii) in inits {
        if last_end.is_some_and(|e| start < e) {
            continue;
        }
        last_end = Some(end);
        let (ci, c) = (ci as usize, &chunks[ci as usize]);
        let Some(r) = c.cfi_inits.get(ii as usize) else {
            continue;
        };
        let first_delta = u32::try_from(out.cfi_deltas.len()).map_err(|_| too_many())?;
        out.cfi_starts.push(start);
        out.cfi_inits.push(CfiInitEntry {
            size: r.size,
            rules: global(ci, r.rules),
            first_delta,
        });
        let from = r.delta_start as usize;
        let rows = c
            .cfi_deltas
            .get(from..from + r.delta_count as usize)
            .unwrap_or(&[]);
        // A delta at or past the end never applies. `breakpad-symbols` applies an INIT's
        // deltas in (address, rules) order; the file's order is that nearly always.
        let kept = rows.iter().filter(|d| d.addr < end);
        let in_order = rows.windows(2).all(|w| w[0].addr < w[1].addr);
        let entry = |addr: u64, rules: u32| CfiDeltaEntry {
            // A delta before the start applies throughout the range: offset 0 keeps it
            // there and before the deltas at the start (it sorts before them).
            offset: addr.saturating_sub(start) as u32,
            rules,
        };
        if in_order {
            for d in kept {
                out.cfi_deltas.push(entry(d.addr, global(ci, d.rules)));
            }
        } else {
            deltas.clear();
            deltas.extend(kept.map(|d| (d.addr, rule_bytes(ci, d.rules), d.rules)));
            deltas.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
            for &(addr, _, local) in &deltas {
                out.cfi_deltas.push(entry(addr, global(ci, local)));
            }
        }
    }
    Ok(())
}

/// The STACK WIN records of one type, sorted and disjoint.
fn resolve_win(
    chunks: &[Chunk],
    kind: WinKind,
    global: &dyn Fn(usize, u32) -> u32,
) -> Vec<WinEntry> {
    // In file order, as `breakpad-symbols` inserts them: a record overlapping the previous
    // one of its type and starting after it cuts that one short; one overlapping it with
    // another range is dropped; a record of size 0 or whose end overflows is dropped.
    let mut recs: Vec<(WinRec, usize)> = Vec::new();
    for (ci, c) in chunks.iter().enumerate() {
        for w in c.wins.iter().filter(|w| w.kind == kind) {
            let size = w.sizes[0];
            let Some(end) = w.addr.checked_add(u64::from(size)).filter(|_| size > 0) else {
                continue;
            };
            if let Some((last, _)) = recs.last_mut() {
                let last_end = last.addr + u64::from(last.sizes[0]);
                if w.addr < last_end && last.addr < end {
                    if w.addr > last.addr {
                        last.sizes[0] = (w.addr - last.addr) as u32;
                    } else if (last.addr, last_end) != (w.addr, end) {
                        continue;
                    }
                }
            }
            recs.push((*w, ci));
        }
    }
    // Then sorted by range (stable: file order for equal ranges), each one overlapping the
    // last kept one dropped.
    let range = |w: &WinRec| (w.addr, w.addr + u64::from(w.sizes[0]));
    if !recs.windows(2).all(|p| range(&p[0].0) <= range(&p[1].0)) {
        recs.sort_by_key(|(w, _)| range(w));
    }
    let mut out = Vec::with_capacity(recs.len());
    let mut last_end: Option<u64> = None;
    for (w, ci) in recs {
        let (start, end) = range(&w);
        if last_end.is_some_and(|e| start < e) {
            continue;
        }
        last_end = Some(end);
        let [size, prologue_size, epilogue_size, parameter_size, saved_register_size, local_size, max_stack_size] =
            w.sizes;
        out.push(WinEntry {
            address: w.addr,
            size,
            prologue_size,
            epilogue_size,
            parameter_size,
            saved_register_size,
            local_size,
            max_stack_size,
            program: match kind {
                WinKind::FrameData => global(ci, w.program),
                WinKind::Fpo => w.program,
            },
        });
    }
    out
}
