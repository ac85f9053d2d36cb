//! Merging the parsed chunks: their reports and headers into one, FILE / INLINE_ORIGIN
//! definitions into dense tables, and FUNC / PUBLIC records into disjoint intervals (the
//! rules are in the [index docs](crate::index#intervals)).

use std::collections::HashMap;

use super::chunk::Chunk;
use crate::error::{Error, ErrorKind, Result};
use crate::index::format::UNBOUNDED;
use crate::sym::{ParseOptions, ParseReport, SymHeader};

/// Direct-indexed id remapping up to this id; sparser ids use a hash map.
const DENSE_ID_LIMIT: u32 = 1 << 24;

/// Merges the chunks' parse reports (chunk-local line numbers made absolute) and their
/// MODULE and INFO records into one report and header. Fails on the first malformed line
/// in strict mode, and when there is no MODULE line.
pub(super) fn header_and_report(
    sym: &[u8],
    chunks: &[Chunk],
    popts: &ParseOptions,
) -> Result<(SymHeader, ParseReport)> {
    let mut report = ParseReport::default();
    let mut line_base = 0u64;
    let mut first_error: Option<(u64, &'static str)> = None;
    let mut module: Option<(u64, SymHeader)> = None;
    for c in chunks {
        let mut r = c.report.clone();
        for e in &mut r.errors {
            e.line += line_base;
        }
        if first_error.is_none() {
            first_error = c.first_error.map(|(l, reason)| (l + line_base, reason));
        }
        if module.is_none() {
            module = c.module.clone().map(|(l, h)| (l + line_base, h));
        }
        line_base += c.report.lines;
        report.merge(r, popts.max_reported_errors);
    }
    if popts.strict {
        if let Some((line, reason)) = first_error {
            return Err(Error::new(
                ErrorKind::MalformedSym,
                format!("line {line}: {reason}"),
            ));
        }
    }
    let Some((_, mut header)) = module else {
        return Err(Error::new(
            ErrorKind::MalformedSym,
            "not a breakpad .sym file: no MODULE line",
        ));
    };
    let mut first_info = true;
    for c in chunks {
        for &(off, len) in &c.infos {
            header.apply_info(&sym[off..off + len as usize], first_info);
            first_info = false;
        }
    }
    // Eliot only names a module by its PE file when that INFO is the file's second line;
    // take the header parser's word for it.
    header.first_info_is_pe_code_id = crate::sym::parse_header(sym)
        .map(|h| h.first_info_is_pe_code_id)
        .unwrap_or(false);
    Ok((header, report))
}

/// Maps raw FILE / INLINE_ORIGIN ids to dense indexes.
pub(super) enum Remap {
    Dense(Vec<u32>),
    Sparse(HashMap<u32, u32>),
}

impl Remap {
    pub(super) fn new(ids: &[u32]) -> Self {
        let max = ids.iter().copied().max().unwrap_or(0);
        if max < DENSE_ID_LIMIT {
            let mut v = vec![u32::MAX; max as usize + 1];
            for (i, &id) in ids.iter().enumerate() {
                v[id as usize] = i as u32;
            }
            Remap::Dense(v)
        } else {
            Remap::Sparse(
                ids.iter()
                    .enumerate()
                    .map(|(i, &id)| (id, i as u32))
                    .collect(),
            )
        }
    }

    #[inline(always)]
    pub(super) fn get(&self, id: u32, none: u32) -> u32 {
        match self {
            Remap::Dense(v) => v.get(id as usize).copied().unwrap_or(none),
            Remap::Sparse(m) => m.get(&id).copied().unwrap_or(none),
        }
    }
}

/// First definition of each id wins (Breakpad inserts into a map without overwriting).
pub(super) fn dedup_defs(
    chunks: &[Chunk],
    pick: impl Fn(&Chunk) -> &Vec<(u32, usize, u32)>,
) -> Vec<(u32, usize, u32)> {
    let mut all: Vec<(u32, usize, u32)> = chunks
        .iter()
        .flat_map(|c| pick(c).iter().copied())
        .collect();
    all.sort_by_key(|&(id, off, _)| (id, off));
    all.dedup_by_key(|&mut (id, _, _)| id);
    all
}

#[derive(Clone, Copy)]
pub(super) enum Sym {
    Func { chunk: u32, idx: u32 },
    Public { chunk: u32, idx: u32 },
}

#[derive(Clone, Copy)]
pub(super) struct Interval {
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) sym: Sym,
}

/// Resolves FUNC overlaps and PUBLIC runs into disjoint intervals (see the module docs).
pub(super) fn resolve_intervals(chunks: &[Chunk], report: &mut ParseReport) -> Vec<Interval> {
    // FUNCs in file order carry (chunk, idx); sort by start, keeping file order for ties.
    let mut funcs: Vec<(u64, u64, u32, u32)> = Vec::new();
    for (ci, c) in chunks.iter().enumerate() {
        for (fi, f) in c.funcs.iter().enumerate() {
            funcs.push((f.addr, f.addr + u64::from(f.size), ci as u32, fi as u32));
        }
    }
    funcs.sort_by_key(|&(s, _, c, i)| (s, c, i));
    let overlapping = funcs.windows(2).any(|w| w[1].0 < w[0].1);
    if overlapping {
        funcs = drop_overlaps(funcs, report);
    }

    let mut publics: Vec<(u64, u32, u32)> = Vec::new();
    for (ci, c) in chunks.iter().enumerate() {
        for (pi, p) in c.publics.iter().enumerate() {
            publics.push((p.addr, ci as u32, pi as u32));
        }
    }
    publics.sort_by_key(|&(a, c, i)| (a, c, i));
    publics.dedup_by_key(|&mut (a, _, _)| a);

    let mut out = Vec::with_capacity(funcs.len() + publics.len());
    let mut pi = 0usize;
    // Emits the PUBLIC runs in the gap [gap_start, gap_end): a PUBLIC at or after the start
    // of the FUNC before the gap (`prev_func_start`) but inside that FUNC starts its run at
    // the gap start.
    let emit_gap = |out: &mut Vec<Interval>,
                    pi: &mut usize,
                    prev_func_start: Option<u64>,
                    gap_start: u64,
                    gap_end: u64| {
        let mut pending: Option<(u64, u32, u32)> = None; // (run start, chunk, idx)
        while *pi < publics.len() && publics[*pi].0 < gap_end {
            let (addr, c, i) = publics[*pi];
            *pi += 1;
            if prev_func_start.is_some_and(|s| addr <= s) {
                continue; // at or before the FUNC's own start: the FUNC wins
            }
            let run_start = addr.max(gap_start);
            if let Some((ps, pc, pidx)) = pending {
                if run_start > ps {
                    out.push(Interval {
                        start: ps,
                        end: run_start,
                        sym: Sym::Public {
                            chunk: pc,
                            idx: pidx,
                        },
                    });
                }
            }
            pending = Some((run_start, c, i));
        }
        if let Some((ps, pc, pidx)) = pending {
            if gap_end > ps {
                out.push(Interval {
                    start: ps,
                    end: gap_end,
                    sym: Sym::Public {
                        chunk: pc,
                        idx: pidx,
                    },
                });
            }
        }
    };
    let mut prev: Option<(u64, u64)> = None;
    for &(s, e, c, i) in &funcs {
        let gap_start = prev.map(|p| p.1).unwrap_or(0);
        emit_gap(&mut out, &mut pi, prev.map(|p| p.0), gap_start, s);
        out.push(Interval {
            start: s,
            end: e,
            sym: Sym::Func { chunk: c, idx: i },
        });
        prev = Some((s, e));
    }
    let gap_start = prev.map(|p| p.1).unwrap_or(0);
    if gap_start < UNBOUNDED {
        emit_gap(&mut out, &mut pi, prev.map(|p| p.0), gap_start, UNBOUNDED);
    }
    out
}

/// The slow path for files with overlapping FUNCs: accept FUNCs in file order, dropping
/// each one that overlaps one already accepted (Breakpad's rule: the first wins).
#[cold]
fn drop_overlaps(
    mut funcs: Vec<(u64, u64, u32, u32)>,
    report: &mut ParseReport,
) -> Vec<(u64, u64, u32, u32)> {
    use std::collections::BTreeMap;
    funcs.sort_by_key(|&(_, _, c, i)| (c, i));
    let mut accepted: BTreeMap<u64, (u64, u32, u32)> = BTreeMap::new();
    for (s, e, c, i) in funcs {
        let before = accepted
            .range(..=s)
            .next_back()
            .is_some_and(|(_, &(pe, _, _))| pe > s);
        let after = accepted.range(s..).next().is_some_and(|(&ns, _)| ns < e);
        if before || after {
            report.overlapping_funcs += 1;
        } else {
            accepted.insert(s, (e, c, i));
        }
    }
    accepted
        .into_iter()
        .map(|(s, (e, c, i))| (s, e, c, i))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(lines: u64, errors: &[u64], module: Option<u64>) -> Chunk {
        let mut c = Chunk::default();
        c.report.lines = lines;
        for &l in errors {
            c.report.record_error(l, "bad", 100);
        }
        c.first_error = errors.first().map(|&l| (l, "bad"));
        c.module = module.map(|l| (l, SymHeader::default()));
        c
    }

    #[test]
    fn chunk_line_numbers_become_absolute() {
        let sym = b"MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 a.so\n";
        let chunks = [chunk(10, &[3], Some(1)), chunk(5, &[2, 4], None)];
        let opts = ParseOptions::default();
        let (_, report) = header_and_report(sym, &chunks, &opts).unwrap();
        let lines: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 12, 14]);
        assert_eq!(report.lines, 15);

        let strict = ParseOptions {
            strict: true,
            ..ParseOptions::default()
        };
        let chunks = [chunk(10, &[], Some(1)), chunk(5, &[2], None)];
        let err = header_and_report(sym, &chunks, &strict).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedSym);
        assert!(err.message().contains("line 12"), "{err}");
    }

    #[test]
    fn a_module_line_is_required() {
        let chunks = [chunk(3, &[], None), chunk(3, &[], None)];
        let err = header_and_report(b"", &chunks, &ParseOptions::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MalformedSym);
    }
}
