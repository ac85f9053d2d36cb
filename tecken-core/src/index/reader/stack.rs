//! The unwind records and the frame details a crash processor reads besides the
//! [`Frame`](crate::Frame): answered from the CFI, WIN and RULES sections and the interval
//! records in place,
//! every read bounds-checked (a corrupt index gives `None`, never a panic).

use super::{upper_bound, Index};
use crate::index::format::*;
use crate::lookup::{Frame, FrameDetails, LookupOptions};
use crate::unwind::{CfiRules, StackWin, WinKind};

impl Index {
    /// Rule string `idx` of the RULES table; `None` when out of bounds or empty (the
    /// builder stores no empty rules).
    fn rule(&self, idx: u32) -> Option<&str> {
        let at = self
            .rules
            .start
            .checked_add((idx as usize).checked_mul(RuleEntry::SIZE)?)?;
        if at.checked_add(RuleEntry::SIZE)? > self.rules.end {
            return None;
        }
        let e = RuleEntry::decode(self.bytes(), at);
        Some(self.str_at(e.off, e.len)).filter(|s| !s.is_empty())
    }

    /// The `STACK CFI` rules that apply at the module-relative `address`: the `STACK CFI
    /// INIT` range covering it, with its deltas at or below the address in the order they
    /// apply. `None` when no range covers the address (or the index is damaged).
    ///
    /// Overlapping ranges were resolved when the index was built, as `breakpad-symbols`
    /// resolves them when it loads a file; allocates only the delta list.
    pub fn cfi_rules(&self, address: u64) -> Option<CfiRules<'_>> {
        let b = self.bytes();
        let n = self.cfi_starts.len() / ADDR_SIZE;
        let start_at = |k: usize| u64::read_le(b, self.cfi_starts.start + k * ADDR_SIZE);
        let i = upper_bound(n, |k| start_at(k) <= address).checked_sub(1)?;
        let start = start_at(i);
        let init = CfiInitEntry::decode(b, self.cfi_inits.start + i * CfiInitEntry::SIZE);
        let rel = address.checked_sub(start)?;
        if rel >= u64::from(init.size) {
            return None;
        }
        let n_deltas = self.cfi_deltas.len() / CfiDeltaEntry::SIZE;
        let end = if i + 1 < n {
            let next = self.cfi_inits.start + (i + 1) * CfiInitEntry::SIZE;
            u32::read_le(b, next + CfiInitEntry::FIRST_DELTA) as usize
        } else {
            n_deltas
        };
        let first = init.first_delta as usize;
        if first > end || end > n_deltas {
            return None;
        }
        let init_rules = self.rule(init.rules)?;
        let mut deltas = Vec::new();
        for k in first..end {
            let d = CfiDeltaEntry::decode(b, self.cfi_deltas.start + k * CfiDeltaEntry::SIZE);
            // Deltas are in address order: the first past the address ends the list.
            if u64::from(d.offset) > rel {
                break;
            }
            deltas.push((start.checked_add(u64::from(d.offset))?, self.rule(d.rules)?));
        }
        self.check().ok()?;
        Some(CfiRules {
            init_address: start,
            init_size: u64::from(init.size),
            init_rules,
            deltas,
        })
    }

    /// The `STACK WIN` record of type `kind` covering the module-relative `address`.
    pub fn stack_win(&self, address: u64, kind: WinKind) -> Option<StackWin<'_>> {
        let b = self.bytes();
        let r = match kind {
            WinKind::FrameData => &self.win_framedata,
            WinKind::Fpo => &self.win_fpo,
        };
        let n = r.len() / WinEntry::SIZE;
        let i = upper_bound(n, |k| {
            u64::read_le(b, r.start + k * WinEntry::SIZE + WinEntry::ADDRESS) <= address
        })
        .checked_sub(1)?;
        let e = WinEntry::decode(b, r.start + i * WinEntry::SIZE);
        if address.checked_sub(e.address)? >= u64::from(e.size) {
            return None;
        }
        let (program_string, allocates_base_pointer) = match kind {
            WinKind::FrameData => (Some(self.rule(e.program)?), false),
            WinKind::Fpo => (None, e.program != 0),
        };
        self.check().ok()?;
        Some(StackWin {
            kind,
            address: e.address,
            size: e.size,
            prologue_size: e.prologue_size,
            epilogue_size: e.epilogue_size,
            parameter_size: e.parameter_size,
            saved_register_size: e.saved_register_size,
            local_size: e.local_size,
            max_stack_size: e.max_stack_size,
            program_string,
            allocates_base_pointer,
        })
    }

    /// The `STACK WIN` record an unwinder uses at `address`: the FrameData record covering
    /// it, else the FPO one. Breakpad's heuristic (FrameData is the more precise when both
    /// exist), as `breakpad-symbols`' `walk_frame` chooses; like there, an unwinder falls
    /// back to [`Index::cfi_rules`] when there is none or its evaluation fails.
    pub fn preferred_stack_win(&self, address: u64) -> Option<StackWin<'_>> {
        self.stack_win(address, WinKind::FrameData)
            .or_else(|| self.stack_win(address, WinKind::Fpo))
    }

    /// What a crash processor needs besides the [`Frame`](crate::Frame) of `address`: the
    /// symbol's parameter size and where the answering line record and outermost inline
    /// range start. `None` exactly when [`Index::lookup_with`] finds no symbol.
    pub fn frame_details(&self, address: u64, opts: &LookupOptions) -> Option<FrameDetails> {
        let mut frame = Frame::empty();
        let mut details = FrameDetails::default();
        self.lookup_with_details(address, opts, &mut frame, &mut details)
            .then_some(details)
    }
}
