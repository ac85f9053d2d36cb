//! A FUNC's line and inline tables in final form: line records sorted, clamped to the FUNC
//! and gap-marked; inline ranges grouped by depth, sorted and disjoint within a level.

use crate::index::format::GAP;

/// A line entry in final form, except that `file` is still the raw FILE id.
#[derive(Clone, Copy)]
pub(super) struct LineOut {
    pub(super) rel: u32,
    pub(super) line: u32,
    pub(super) file: u32,
}

/// An inline range in final form, except that ids are still raw.
#[derive(Clone, Copy)]
pub(super) struct InlineOut {
    pub(super) start: u32,
    pub(super) end: u32,
    pub(super) origin: u32,
    pub(super) call_file: u32,
    pub(super) call_line: u32,
}

#[derive(Clone, Copy)]
pub(super) struct TmpLine {
    pub(super) start: u32,
    pub(super) end: u32,
    pub(super) line: u32,
    pub(super) file: u32,
}

#[derive(Clone, Copy)]
pub(super) struct TmpInline {
    pub(super) depth: u32,
    pub(super) out: InlineOut,
}

/// Sorts a FUNC's line records and appends them with gap markers to `out`.
///
/// Where records overlap, the first in file order wins the bytes it covers and a later one
/// keeps only what is left (what Eliot answers, and the same rule as for FUNCs).
pub(super) fn finalize_lines(tmp: &mut Vec<TmpLine>, func_size: u32, out: &mut Vec<LineOut>) {
    if tmp.is_empty() {
        return;
    }
    let sorted = tmp.windows(2).all(|w| w[0].end <= w[1].start);
    if !sorted {
        let mut by_start = tmp.clone();
        by_start.sort_by_key(|l| l.start);
        if by_start.windows(2).all(|w| w[0].end <= w[1].start) {
            *tmp = by_start;
        } else {
            *tmp = paint_in_file_order(tmp);
        }
    }
    let mut prev_end: Option<u32> = None;
    for l in tmp.iter() {
        if prev_end.is_some_and(|e| l.start > e) {
            out.push(LineOut {
                rel: prev_end.unwrap_or(0),
                line: 0,
                file: GAP,
            });
        }
        out.push(LineOut {
            rel: l.start,
            line: l.line,
            file: l.file,
        });
        prev_end = Some(l.end);
    }
    if let Some(e) = prev_end.filter(|&e| e < func_size) {
        out.push(LineOut {
            rel: e,
            line: 0,
            file: GAP,
        });
    }
    tmp.clear();
}

/// Resolves overlapping line records: each record, in file order, keeps only the bytes no
/// earlier record covers. Returns disjoint pieces sorted by start.
#[cold]
fn paint_in_file_order(recs: &[TmpLine]) -> Vec<TmpLine> {
    use std::collections::BTreeMap;
    let mut covered: BTreeMap<u32, TmpLine> = BTreeMap::new();
    for r in recs {
        let from = covered
            .range(..=r.start)
            .next_back()
            .map(|(&s, _)| s)
            .unwrap_or(r.start);
        let overlapping: Vec<(u32, u32)> = covered
            .range(from..r.end)
            .map(|(_, p)| (p.start, p.end))
            .filter(|&(_, e)| e > r.start)
            .collect();
        let mut cur = r.start;
        for (cs, ce) in overlapping {
            if cs > cur {
                covered.insert(
                    cur,
                    TmpLine {
                        start: cur,
                        end: cs,
                        ..*r
                    },
                );
            }
            cur = cur.max(ce);
        }
        if cur < r.end {
            covered.insert(
                cur,
                TmpLine {
                    start: cur,
                    end: r.end,
                    ..*r
                },
            );
        }
    }
    covered.into_values().collect()
}

/// Groups a FUNC's inline ranges by depth, each level sorted by start, and appends them to
/// `inlines` with one `(start, count)` entry per depth to `levels`. Within a level, a range
/// that starts inside the previous one is dropped (levels must be disjoint for the search).
pub(super) fn finalize_inlines(
    tmp: &mut Vec<TmpInline>,
    inlines: &mut Vec<InlineOut>,
    levels: &mut Vec<(u32, u32)>,
) {
    if tmp.is_empty() {
        return;
    }
    tmp.sort_by_key(|t| (t.depth, t.out.start)); // stable
    let max_depth = tmp.last().map(|t| t.depth).unwrap_or(0);
    let mut i = 0;
    for depth in 0..=max_depth {
        let start = inlines.len() as u32;
        let mut prev_end = 0u32;
        let mut any = false;
        while i < tmp.len() && tmp[i].depth == depth {
            let r = tmp[i].out;
            if !any || r.start >= prev_end {
                inlines.push(r);
                prev_end = r.end;
                any = true;
            }
            i += 1;
        }
        levels.push((start, inlines.len() as u32 - start));
    }
    tmp.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_gap_and_overlap() {
        let mut tmp = vec![
            TmpLine {
                start: 10,
                end: 20,
                line: 2,
                file: 0,
            },
            TmpLine {
                start: 0,
                end: 5,
                line: 1,
                file: 0,
            },
            TmpLine {
                start: 10,
                end: 12,
                line: 9,
                file: 0,
            },
        ];
        let mut out = Vec::new();
        finalize_lines(&mut tmp, 30, &mut out);
        let got: Vec<(u32, u32, u32)> = out.iter().map(|l| (l.rel, l.line, l.file)).collect();
        assert_eq!(got, vec![(0, 1, 0), (5, 0, GAP), (10, 2, 0), (20, 0, GAP)]);
    }

    #[test]
    fn overlapping_lines_first_in_file_order_wins() {
        // testproj-inlines.sym: `7a7a f 7 2` then, later in the file, `7a82 5 5 2`.
        let mut tmp = vec![
            TmpLine {
                start: 0x3a,
                end: 0x49,
                line: 7,
                file: 2,
            },
            TmpLine {
                start: 0x49,
                end: 0x7a,
                line: 392,
                file: 1,
            },
            TmpLine {
                start: 0x42,
                end: 0x47,
                line: 5,
                file: 2,
            },
            TmpLine {
                start: 0x30,
                end: 0x3c,
                line: 9,
                file: 2,
            },
        ];
        let mut out = Vec::new();
        finalize_lines(&mut tmp, 0x85, &mut out);
        let got: Vec<(u32, u32, u32)> = out.iter().map(|l| (l.rel, l.line, l.file)).collect();
        assert_eq!(
            got,
            vec![(0x30, 9, 2), (0x3a, 7, 2), (0x49, 392, 1), (0x7a, 0, GAP)]
        );
    }
}
