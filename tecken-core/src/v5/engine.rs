//! Which modules a request needs; fetching each once; resolving a frame's module.
//!
//! Eliot collects every frame of every job, sorts them by `(debug_file, debug_id)` and
//! fetches each distinct pair once, skipping pairs with an empty file or id. A pair's
//! result is then shared by every job: `found_modules` of a job shows `true`/`false` for
//! an entry its own stacks never use when another job's stacks used the same pair. The
//! [`Plan`] reproduces that: one slot per distinct pair of all memory maps, each memory map
//! entry pointing to its slot; the slots some frame uses are looked up sorted by debug file
//! and id, Eliot's order, which is also the order of the debug block.
//!
//! [`answer`] runs a plan and hands it to a writer, and plans once more when an index turned
//! out damaged while it was read.

use std::sync::Arc;

use super::types::{FrameRef, Job, ModuleRef};
use crate::index::Index;
use crate::symbolicator::provider::{FetchStats, Module, ModuleProvider, ModuleStatus};

/// A job as the engine sees it: borrowed memory map and stacks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobView<'r> {
    pub modules: &'r [ModuleRef<'r>],
    pub stacks: &'r [Vec<FrameRef>],
}

impl<'r> JobView<'r> {
    pub(crate) fn of(job: &'r Job<'_>) -> Self {
        JobView {
            modules: &job.memory_map,
            stacks: &job.stacks,
        }
    }

    /// The number of frames over all stacks.
    pub(crate) fn frame_count(&self) -> usize {
        self.stacks.iter().map(Vec::len).sum()
    }
}

/// Looks up the modules `jobs` use and returns `write(&plan)`.
///
/// When an index was found damaged (its file truncated or changed on disk while it was read)
/// the answer may lack frames. The provider has dropped such a module by then, so the jobs
/// are planned and written once more, with fresh lookups; a second damage is answered as is.
pub(crate) fn answer<'r, T>(
    provider: &dyn ModuleProvider,
    jobs: &[JobView<'r>],
    write: impl Fn(&Plan<'r>) -> T,
) -> T {
    let mut plan = Plan::new(jobs);
    plan.fetch(provider);
    let out = write(&plan);
    if !plan.any_damaged() {
        return out;
    }
    let mut plan = Plan::new(jobs);
    plan.fetch(provider);
    write(&plan)
}

/// What a module lookup returned.
#[derive(Debug, Clone)]
pub(crate) struct Lookup {
    pub status: ModuleStatus,
    pub stats: FetchStats,
}

impl Lookup {
    pub(crate) fn module(&self) -> Option<&Arc<Module>> {
        match &self.status {
            ModuleStatus::Found(m) => Some(m),
            _ => None,
        }
    }
}

/// One distinct `(debug_file, debug_id)` of the request.
#[derive(Debug)]
pub(crate) struct Slot<'r> {
    pub debug_file: &'r str,
    pub debug_id: &'r str,
    /// Some frame of some job points at it.
    pub referenced: bool,
    /// `None` when never looked up (`found_modules` shows `null`).
    pub lookup: Option<Lookup>,
}

impl Slot<'_> {
    /// The `found_modules` value: looked up and found, looked up and not, never looked up.
    pub(crate) fn found(&self) -> Option<bool> {
        self.lookup.as_ref().map(|l| l.module().is_some())
    }

    /// The `module` shown in frames: the PE name of a found module that has one, else the
    /// debug file, else `<unknown>`.
    pub(crate) fn name(&self) -> &str {
        if let Some(name) = self
            .lookup
            .as_ref()
            .and_then(Lookup::module)
            .and_then(|m| m.pe_name())
        {
            return name;
        }
        if self.debug_file.is_empty() {
            UNKNOWN
        } else {
            self.debug_file
        }
    }
}

/// A fast (not DoS-resistant) hash of a memory map entry; see [`Plan::new`] for why that
/// is enough.
fn pair_hash(file: &str, id: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = (file.len() as u64) << 32 | id.len() as u64;
    for part in [file.as_bytes(), id.as_bytes()] {
        let mut chunks = part.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    h
}

/// The module name of frames outside any module or of an entry with an empty debug file.
pub(crate) const UNKNOWN: &str = "<unknown>";

/// The modules of a request and their lookups.
#[derive(Debug)]
pub(crate) struct Plan<'r> {
    pub slots: Vec<Slot<'r>>,
    /// The slot of each memory map entry, all jobs' entries one after another.
    entry_slot: Vec<u32>,
    /// Where each job's entries start in `entry_slot`.
    job_start: Vec<usize>,
    /// The slots to look up, sorted by `(debug_file, debug_id)`.
    order: Vec<u32>,
}

impl<'r> Plan<'r> {
    /// Groups the memory map entries of `jobs` into distinct modules and marks the ones
    /// some frame uses.
    pub(crate) fn new(jobs: &[JobView<'r>]) -> Plan<'r> {
        let total: usize = jobs.iter().map(|j| j.modules.len()).sum();
        let mut job_start = Vec::with_capacity(jobs.len());
        // Group equal entries by sorting on a cheap hash first (strings are compared only
        // on equal hashes): a memory map has hundreds of entries, of which few are used.
        // Crafted collisions only fall back to string comparisons, never quadratic work.
        let mut entries: Vec<(u64, &'r str, &'r str, u32)> = Vec::with_capacity(total);
        for job in jobs {
            job_start.push(entries.len());
            for m in job.modules {
                let (file, id): (&'r str, &'r str) = (&m.debug_file, &m.debug_id);
                entries.push((pair_hash(file, id), file, id, entries.len() as u32));
            }
        }
        entries.sort_unstable();
        let mut slots: Vec<Slot<'r>> = Vec::new();
        let mut entry_slot = vec![0u32; total];
        for &(_, file, id, at) in &entries {
            let same = slots
                .last()
                .is_some_and(|s| s.debug_file == file && s.debug_id == id);
            if !same {
                slots.push(Slot {
                    debug_file: file,
                    debug_id: id,
                    referenced: false,
                    lookup: None,
                });
            }
            if let Some(e) = entry_slot.get_mut(at as usize) {
                *e = (slots.len() - 1) as u32;
            }
        }
        let mut plan = Plan {
            slots,
            entry_slot,
            job_start,
            order: Vec::new(),
        };
        for (j, job) in jobs.iter().enumerate() {
            for frame in job.stacks.iter().flatten() {
                if let Some(s) = plan.slot_index(j, frame.module_index) {
                    if let Some(slot) = plan.slots.get_mut(s) {
                        slot.referenced = true;
                    }
                }
            }
        }
        let mut order: Vec<u32> = (0..plan.slots.len() as u32)
            .filter(|&i| {
                plan.slots.get(i as usize).is_some_and(|s| {
                    s.referenced && !s.debug_file.is_empty() && !s.debug_id.is_empty()
                })
            })
            .collect();
        order.sort_unstable_by_key(|&i| {
            plan.slots
                .get(i as usize)
                .map(|s| (s.debug_file, s.debug_id))
        });
        plan.order = order;
        plan
    }

    /// Asks `provider` for every referenced module with a debug file and id, once each, in
    /// sorted order.
    pub(crate) fn fetch(&mut self, provider: &dyn ModuleProvider) {
        for &i in &self.order {
            if let Some(slot) = self.slots.get_mut(i as usize) {
                let (status, stats) = provider.module(slot.debug_file, slot.debug_id);
                slot.lookup = Some(Lookup { status, stats });
            }
        }
    }

    /// Whether an index used by this plan was found damaged (its file truncated or changed
    /// under the mapping: lookups in it find nothing). The provider drops such modules, so
    /// a new plan gets sound ones.
    pub(crate) fn any_damaged(&self) -> bool {
        self.slots.iter().any(|s| {
            s.lookup
                .as_ref()
                .and_then(Lookup::module)
                .is_some_and(|m| m.index.check().is_err())
        })
    }

    /// The slots looked up, in lookup order (sorted by debug file and id).
    pub(crate) fn lookups(&self) -> impl Iterator<Item = &Slot<'r>> + '_ {
        self.order
            .iter()
            .filter_map(|&i| self.slots.get(i as usize))
    }

    fn slot_index(&self, job: usize, module_index: Option<u32>) -> Option<usize> {
        let start = *self.job_start.get(job)?;
        let end = self
            .job_start
            .get(job + 1)
            .copied()
            .unwrap_or(self.entry_slot.len());
        let i = start + module_index? as usize;
        if i >= end {
            return None;
        }
        self.entry_slot.get(i).map(|&s| s as usize)
    }

    /// The slot of memory map entry `module_index` of job `job`.
    pub(crate) fn slot(&self, job: usize, module_index: Option<u32>) -> Option<&Slot<'r>> {
        self.slots.get(self.slot_index(job, module_index)?)
    }

    /// The `module` name of a frame and the index to look it up in, if found.
    #[inline]
    pub(crate) fn frame_module(&self, job: usize, frame: &FrameRef) -> (&str, Option<&Index>) {
        match self.slot(job, frame.module_index) {
            Some(slot) => (
                slot.name(),
                slot.lookup
                    .as_ref()
                    .and_then(Lookup::module)
                    .map(|m| &m.index),
            ),
            None => (UNKNOWN, None),
        }
    }

    /// What frame `frame` of job `job` looks up: its module's index and its offset, or
    /// `None` (no module, module not found, or no offset).
    pub(crate) fn frame_lookup(&self, job: usize, frame: &FrameRef) -> Option<(&Index, u64)> {
        Some((self.frame_module(job, frame).1?, frame.module_offset?))
    }

    /// The slots of job `job`'s memory map entries, in order, with repeats.
    pub(crate) fn job_slots(&self, job: usize) -> impl Iterator<Item = &Slot<'r>> + '_ {
        let start = self.job_start.get(job).copied().unwrap_or(0);
        let end = self
            .job_start
            .get(job + 1)
            .copied()
            .unwrap_or(self.entry_slot.len());
        self.entry_slot
            .get(start..end)
            .unwrap_or(&[])
            .iter()
            .filter_map(|&s| self.slots.get(s as usize))
    }

    /// Job `job`'s `found_modules` entries as slot numbers: each distinct slot once, in
    /// memory map order (a Python dict keeps the first position of a repeated key). `seen`
    /// is scratch space.
    pub(crate) fn found_modules(&self, job: usize, seen: &mut Vec<u32>) -> Vec<usize> {
        seen.clear();
        seen.resize(self.slots.len(), 0);
        let mut out = Vec::new();
        let start = self.job_start.get(job).copied().unwrap_or(0);
        let end = self
            .job_start
            .get(job + 1)
            .copied()
            .unwrap_or(self.entry_slot.len());
        for &s in self.entry_slot.get(start..end).unwrap_or(&[]) {
            if let Some(mark) = seen.get_mut(s as usize) {
                if *mark == 0 {
                    *mark = 1;
                    out.push(s as usize);
                }
            }
        }
        out
    }
}
