//! [`UnwindCache`]: rule strings compiled once and reused.
//!
//! A module's unwind records repeat few rule strings (a 61 MB CFI-heavy `.sym` has about
//! 1,600 distinct ones), so a stack walker that keeps one cache per module (or per process:
//! the strings of different modules mostly coincide too) parses each once. A walk then
//! costs a hash and a comparison per rule string and the evaluation of compiled
//! operations, with no allocation once the strings are known.
//!
//! The cache is bounded: when it holds 16,384 strings or about 8 MiB it is emptied and
//! fills again. Results are exactly [`walk_cfi`]'s and [`walk_win`](crate::walk_win)'s.

use super::cfi::{walk_cfi, CompiledDest, CompiledRule, Line};
use super::postfix::{MAX_REGISTERS, MAX_RULE_LEN};
use super::win::{run_program, walk_fpo, Program};
use super::{CfiRules, FrameWalker, StackWin, WinKind};
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

/// The most rule strings the cache holds before emptying itself.
const MAX_ENTRIES: usize = 16 * 1024;
/// About the most bytes the cache holds before emptying itself.
const MAX_BYTES: usize = 8 << 20;

/// Compiled `STACK CFI` rule strings and `STACK WIN` programs, reused across walks: the
/// same results as [`walk_cfi`] and [`walk_win`](crate::walk_win), several times faster
/// when rule strings repeat (they do: compilers emit few distinct ones). Memory is bounded
/// (about 8 MiB).
///
/// ```
/// use tecken_core::{CfiRules, UnwindCache};
/// # use tecken_core::FrameWalker;
/// # struct W;
/// # impl FrameWalker for W {
/// #     fn get_instruction(&self) -> u64 { 0 }
/// #     fn has_grand_callee(&self) -> bool { false }
/// #     fn get_grand_callee_parameter_size(&self) -> u32 { 0 }
/// #     fn get_register_at_address(&self, a: u64) -> Option<u64> { Some(a ^ 1) }
/// #     fn get_callee_register(&self, n: &str) -> Option<u64> { (n == "rsp").then_some(0x100) }
/// #     fn set_caller_register(&mut self, _: &str, _: u64) -> Option<()> { Some(()) }
/// #     fn clear_caller_register(&mut self, _: &str) {}
/// #     fn set_cfa(&mut self, _: u64) -> Option<()> { Some(()) }
/// #     fn set_ra(&mut self, _: u64) -> Option<()> { Some(()) }
/// # }
/// # let mut walker = W;
/// let mut cache = UnwindCache::new();
/// let rules = CfiRules {
///     init_address: 0x1000,
///     init_size: 0x20,
///     init_rules: ".cfa: $rsp 8 + .ra: .cfa -8 + ^",
///     deltas: vec![],
/// };
/// assert!(cache.walk_cfi(&rules, &mut walker).is_some());
/// ```
#[derive(Debug)]
pub struct UnwindCache {
    cfi: HashMap<Box<str>, u32, FoldBuild>,
    lines: Vec<Line>,
    reg_ids: HashMap<Box<str>, u32, FoldBuild>,
    win: HashMap<Box<str>, u32, FoldBuild>,
    programs: Vec<(Box<str>, Program)>,
    /// Where a string was last seen: `(address, length, index)` in slots chosen by the
    /// address. The records of a memory-mapped index are at the same addresses every time
    /// they are looked up, so a hit costs one comparison of the texts (always made: memory
    /// can be reused for other strings) instead of hashing them. Like `win_seen` and
    /// `plans`, sized to the work ([`Slots`]): a crash processor makes a cache per dump,
    /// and a dump of a few frames should not pay for 100 KB of tables (their page faults
    /// were ~0.1 ms of a 6-frame dump's process).
    cfi_seen: Slots<Seen>,
    /// The register rules in force during a walk, `(register id, line, rule)`: kept to
    /// reuse its memory.
    others: Vec<(u32, u32, u32)>,
    /// The rules in force for a whole walk (its INIT and deltas), in slots chosen by the
    /// strings' addresses: a walk that finds its strings there (compared, as always) skips
    /// looking each string up and merging their rules.
    plans: Slots<Option<Plan>>,
    win_seen: Slots<Seen>,
    bytes: usize,
}

/// Where a string was seen: `(address, length, index)`.
type Seen = (usize, usize, u32);

/// An empty slot of `cfi_seen` / `win_seen` (no string has length `usize::MAX`).
const UNSEEN: Seen = (0, usize::MAX, 0);

/// The most slots of the address tables.
const SEEN: usize = 1024;
/// The most slots of the walk plans.
const PLANS: usize = 512;
/// The slots a table starts with.
const FIRST_SLOTS: usize = 16;

/// A direct-mapped table of recent entries (a slot per hash, a new entry replaces the
/// old), sized to the work: empty until the first entry, then [`FIRST_SLOTS`] slots,
/// growing fourfold (and emptied: it is a cache) each time it has taken as many entries as
/// it has slots, up to its maximum. A walk of a few frames touches a few hundred bytes;
/// a long one reaches the full table after a few hundred misses.
#[derive(Debug)]
struct Slots<T> {
    slots: Vec<T>,
    /// `64 - log2(slots.len())`: the hash's top bits choose the slot.
    shift: u32,
    /// Entries put since the table last grew.
    puts: usize,
    max: usize,
}

impl<T> Slots<T> {
    fn new(max: usize) -> Self {
        debug_assert!(max.is_power_of_two() && max >= FIRST_SLOTS);
        Slots {
            slots: Vec::new(),
            shift: 64,
            puts: 0,
            max,
        }
    }

    #[inline]
    fn index(&self, hash: u64) -> usize {
        hash.checked_shr(self.shift).unwrap_or(0) as usize
    }

    /// The slot of `hash`; `None` before the table exists.
    #[inline]
    fn get(&self, hash: u64) -> Option<&T> {
        self.slots.get(self.index(hash))
    }

    /// The slot of `hash`, to change an entry; `None` before the table exists.
    #[inline]
    fn get_mut(&mut self, hash: u64) -> Option<&mut T> {
        let i = self.index(hash);
        self.slots.get_mut(i)
    }

    /// The slot of `hash`, for an entry about to be put there (growing the table first
    /// when it is due); `empty` makes the slots of a new or emptied table.
    #[inline]
    fn slot(&mut self, hash: u64, empty: impl Fn() -> T) -> Option<&mut T> {
        if self.slots.is_empty() || (self.puts >= self.slots.len() && self.slots.len() < self.max) {
            let n = (self.slots.len() * 4).clamp(FIRST_SLOTS, self.max);
            self.slots.clear();
            self.slots.resize_with(n, empty);
            self.shift = 64 - n.trailing_zeros();
            self.puts = 0;
        }
        self.puts += 1;
        let i = self.index(hash);
        self.slots.get_mut(i)
    }

    /// Empties every slot, keeping the table's size.
    fn clear(&mut self, empty: impl Fn() -> T) {
        self.slots.iter_mut().for_each(|s| *s = empty());
    }
}

/// What a CFI walk evaluates, found once for a sequence of rule strings.
#[derive(Debug, Default)]
struct Plan {
    /// `(address, length, line)` of the INIT string and of each delta, in order.
    texts: Vec<(usize, usize, u32)>,
    /// The rules in force, `(line, rule)`: the CFA's, the return address's, and the
    /// registers' in order of first appearance.
    cfa: (u32, Option<CompiledRule>),
    ra: (u32, Option<CompiledRule>),
    others: Vec<(u32, CompiledRule)>,
}

/// Whether two strings are equal; inlined, as rule strings are short.
#[inline]
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let (mut ca, mut cb) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut ca).zip(&mut cb) {
        if x != y {
            return false;
        }
    }
    ca.remainder() == cb.remainder()
}

/// The hash of a walk's plan slot.
#[inline]
fn plan_hash(rules: &CfiRules<'_>) -> u64 {
    let last = rules.deltas.last().map_or(0, |d| d.1.as_ptr() as u64);
    (rules.init_rules.as_ptr() as u64)
        .wrapping_mul(K)
        .wrapping_add(rules.init_rules.len() as u64 ^ (rules.deltas.len() as u64) << 32)
        .wrapping_mul(K)
        .wrapping_add(last)
        .wrapping_mul(K)
}

/// The hash of the seen-table slot of the string at `address`.
#[inline]
fn seen_hash(address: usize, len: usize) -> u64 {
    (address as u64 ^ (len as u64).rotate_left(32)).wrapping_mul(K)
}

impl Default for UnwindCache {
    fn default() -> Self {
        UnwindCache::new()
    }
}

impl UnwindCache {
    /// An empty cache.
    pub fn new() -> UnwindCache {
        // A per-cache seed, so that colliding rule strings cannot be prepared in advance.
        let hasher = FoldBuild(RandomState::new().hash_one(0x7ec3e7u64) | 1);
        UnwindCache {
            cfi: HashMap::with_hasher(hasher),
            lines: Vec::new(),
            reg_ids: HashMap::with_hasher(hasher),
            win: HashMap::with_hasher(hasher),
            programs: Vec::new(),
            others: Vec::new(),
            plans: Slots::new(PLANS),
            cfi_seen: Slots::new(SEEN),
            win_seen: Slots::new(SEEN),
            bytes: 0,
        }
    }

    /// How many rule strings and programs the cache holds.
    pub fn len(&self) -> usize {
        self.lines.len() + self.programs.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Empties the cache.
    pub fn clear(&mut self) {
        self.cfi.clear();
        self.lines.clear();
        self.reg_ids.clear();
        self.win.clear();
        self.programs.clear();
        self.plans.clear(|| None);
        self.cfi_seen.clear(|| UNSEEN);
        self.win_seen.clear(|| UNSEEN);
        self.bytes = 0;
    }

    /// Makes room for `entries` strings of `bytes` bytes in all.
    fn reserve(&mut self, entries: usize, bytes: usize) {
        if self.len() + entries > MAX_ENTRIES || self.bytes + cost(bytes, entries) > MAX_BYTES {
            self.clear();
        }
    }

    /// [`walk_cfi`], with the rule strings compiled once.
    pub fn walk_cfi(&mut self, rules: &CfiRules<'_>, walker: &mut dyn FrameWalker) -> Option<()> {
        let count = 1 + rules.deltas.len();
        let text_bytes =
            rules.init_rules.len() + rules.deltas.iter().map(|(_, d)| d.len()).sum::<usize>();
        if count > MAX_ENTRIES || cost(text_bytes, count) > MAX_BYTES {
            return walk_cfi(rules, walker);
        }
        self.reserve(count, text_bytes);

        let hash = plan_hash(rules);
        if let Some(Some(plan)) = self.plans.get(hash) {
            if self.plan_matches(plan, rules) {
                return run_plan(plan, &self.lines, walker);
            }
        }
        // The slot's old plan, reused for its memory.
        let mut plan = self
            .plans
            .slot(hash, || None)
            .and_then(Option::take)
            .unwrap_or_default();
        let mut others = std::mem::take(&mut self.others);
        others.clear();
        let planned = self.make_plan(rules, &mut plan, &mut others);
        self.others = others;
        planned?;
        let result = run_plan(&plan, &self.lines, walker);
        // The slot emptied above (the table has not changed size since).
        if let Some(p) = self.plans.get_mut(hash) {
            *p = Some(plan);
        }
        result
    }

    /// Whether `plan` was made for these very strings.
    #[inline]
    fn plan_matches(&self, plan: &Plan, rules: &CfiRules<'_>) -> bool {
        if plan.texts.len() != 1 + rules.deltas.len() {
            return false;
        }
        let texts = std::iter::once(rules.init_rules).chain(rules.deltas.iter().map(|d| d.1));
        texts.zip(&plan.texts).all(|(text, &(address, len, li))| {
            address == text.as_ptr() as usize
                && len == text.len()
                && self
                    .lines
                    .get(li as usize)
                    .is_some_and(|l| same(&l.text, text))
        })
    }

    /// Finds the rules in force for these strings, compiling the strings not seen yet;
    /// `None` when the walk cannot be made (a malformed string, no CFA or return address
    /// rule, too many registers).
    fn make_plan(
        &mut self,
        rules: &CfiRules<'_>,
        plan: &mut Plan,
        others: &mut Vec<(u32, u32, u32)>,
    ) -> Option<()> {
        plan.texts.clear();
        plan.others.clear();
        // Which compiled rule is in force for each destination: `(line, rule)`; `others`
        // in order of first appearance, as `walk_cfi` evaluates them.
        let mut cfa: Option<(u32, u32)> = None;
        let mut ra: Option<(u32, u32)> = None;
        let texts = std::iter::once(rules.init_rules).chain(rules.deltas.iter().map(|d| d.1));
        for text in texts {
            let li = self.line(text)?;
            plan.texts.push((text.as_ptr() as usize, text.len(), li));
            let line = self.lines.get(li as usize)?;
            for (ri, rule) in line.rules.as_ref()?.iter().enumerate() {
                let at = Some((li, ri as u32));
                match rule.dest {
                    CompiledDest::Cfa => cfa = at,
                    CompiledDest::Ra => ra = at,
                    CompiledDest::Reg { id, .. } => {
                        if let Some(o) = others.iter_mut().find(|o| o.0 == id) {
                            *o = (id, li, ri as u32);
                        } else if others.len() < MAX_REGISTERS {
                            others.push((id, li, ri as u32));
                        } else {
                            return None;
                        }
                    }
                }
            }
        }
        let rule = |(li, ri): (u32, u32)| -> Option<(u32, CompiledRule)> {
            let r = *self
                .lines
                .get(li as usize)?
                .rules
                .as_ref()?
                .get(ri as usize)?;
            Some((li, r))
        };
        let (cl, cr) = rule(cfa?)?;
        let (rl, rr) = rule(ra?)?;
        plan.cfa = (cl, Some(cr));
        plan.ra = (rl, Some(rr));
        for &(_, li, ri) in others.iter() {
            plan.others.push(rule((li, ri))?);
        }
        Some(())
    }

    /// [`walk_cfi_in_module`](super::walk_cfi_in_module), with the rule strings compiled
    /// once.
    pub fn walk_cfi_in_module(
        &mut self,
        rules: &CfiRules<'_>,
        module_base: u64,
        walker: &mut dyn FrameWalker,
    ) -> Option<()> {
        walker.set_cfi_rules_start_address(Some(module_base.wrapping_add(rules.init_address)));
        let result = self.walk_cfi(rules, walker);
        walker.set_cfi_rules_start_address(None);
        result
    }

    /// The index of `text`'s compiled line, compiling it if needed; `None` for a string
    /// over the length limit.
    fn line(&mut self, text: &str) -> Option<u32> {
        if text.len() > MAX_RULE_LEN {
            return None;
        }
        let seen = (text.as_ptr() as usize, text.len());
        let hash = seen_hash(seen.0, seen.1);
        let (address, len, i) = self.cfi_seen.get(hash).copied().unwrap_or(UNSEEN);
        if address == text.as_ptr() as usize
            && len == text.len()
            && self
                .lines
                .get(i as usize)
                .is_some_and(|l| same(&l.text, text))
        {
            return Some(i);
        }
        if let Some(&i) = self.cfi.get(text) {
            if let Some(s) = self.cfi_seen.slot(hash, || UNSEEN) {
                *s = (seen.0, seen.1, i);
            }
            return Some(i);
        }
        let reg_ids = &mut self.reg_ids;
        let line = Line::compile(text, |name| {
            let next = reg_ids.len() as u32;
            *reg_ids.entry(name.into()).or_insert(next)
        });
        let i = self.lines.len() as u32;
        self.bytes += cost(text.len(), 1);
        self.lines.push(line);
        self.cfi.insert(text.into(), i);
        if let Some(s) = self.cfi_seen.slot(hash, || UNSEEN) {
            *s = (seen.0, seen.1, i);
        }
        Some(i)
    }

    /// [`walk_win`](super::walk_win), with the program compiled once.
    pub fn walk_win(&mut self, info: &StackWin<'_>, walker: &mut dyn FrameWalker) -> Option<()> {
        let program = match (info.kind, info.program_string) {
            (WinKind::FrameData, Some(program)) => program,
            (WinKind::Fpo, None) => return walk_fpo(info, walker),
            _ => return None,
        };
        if program.len() > MAX_RULE_LEN {
            return None;
        }
        let hash = seen_hash(program.as_ptr() as usize, program.len());
        let (address, len, i) = self.win_seen.get(hash).copied().unwrap_or(UNSEEN);
        let seen = address == program.as_ptr() as usize
            && len == program.len()
            && self
                .programs
                .get(i as usize)
                .is_some_and(|p| *p.0 == *program);
        let i = if seen {
            i
        } else {
            let i = match self.win.get(program) {
                Some(&i) => i,
                None => {
                    self.reserve(1, program.len());
                    self.bytes += cost(program.len(), 1);
                    let i = self.programs.len() as u32;
                    self.programs
                        .push((program.into(), Program::compile(program)));
                    self.win.insert(program.into(), i);
                    i
                }
            };
            if let Some(s) = self.win_seen.slot(hash, || UNSEEN) {
                *s = (program.as_ptr() as usize, program.len(), i);
            }
            i
        };
        match self.programs.get(i as usize) {
            Some((_, p)) if p.is_compiled() => p.run(info, walker),
            _ => run_program(info, program, walker),
        }
    }
}

/// Evaluates a plan: the CFA, the return address, then every register, as `walk_cfi`.
fn run_plan(plan: &Plan, lines: &[Line], walker: &mut dyn FrameWalker) -> Option<()> {
    let eval = |(li, rule): (u32, Option<CompiledRule>), walker: &dyn FrameWalker, cfa| {
        lines.get(li as usize)?.eval(&rule?, walker, cfa)
    };
    let cfa = eval(plan.cfa, &*walker, None)?;
    let ra = eval(plan.ra, &*walker, Some(cfa))?;
    walker.set_cfa(cfa)?;
    walker.set_ra(ra)?;
    for &(li, ref rule) in &plan.others {
        let Some(line) = lines.get(li as usize) else {
            continue;
        };
        let CompiledDest::Reg { start, end, .. } = rule.dest else {
            continue;
        };
        let reg = line.name(start, end);
        match line.eval(rule, &*walker, Some(cfa)) {
            Some(value) => {
                let _ = walker.set_caller_register(reg, value);
            }
            None => walker.clear_caller_register(reg),
        }
    }
    Some(())
}

/// The bytes `entries` compiled strings of `bytes` bytes in all take, about: the key and
/// the text, an operation per two bytes at worst, and the tables' overhead.
fn cost(bytes: usize, entries: usize) -> usize {
    bytes
        .saturating_mul(12)
        .saturating_add(entries.saturating_mul(128))
}

/// A fast multiplicative hash of short strings (rule strings are 10 to 100 bytes; SipHash
/// would cost more than the rest of the lookup), seeded per cache.
#[derive(Debug, Clone, Copy)]
struct FoldBuild(u64);

impl BuildHasher for FoldBuild {
    type Hasher = Fold;
    fn build_hasher(&self) -> Fold {
        Fold(self.0)
    }
}

#[derive(Debug)]
struct Fold(u64);

const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl Fold {
    #[inline]
    fn mix(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(K).rotate_left(29);
    }
}

impl Hasher for Fold {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.mix(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        self.mix(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 56));
    }
    #[inline]
    fn write_u8(&mut self, b: u8) {
        self.mix(u64::from(b) | 0x100);
    }
    #[inline]
    fn finish(&self) -> u64 {
        let h = self.0;
        (h ^ (h >> 32)).wrapping_mul(K)
    }
}

#[cfg(test)]
mod tests;
