//! rust-minidump's stack walker over a [`Symbolicator`]: [`TeckenSymbolProvider`]
//! implements `minidump_unwind::SymbolProvider`, so `minidump-processor` symbolicates and
//! unwinds (STACK WIN, then STACK CFI) from tecken's indexes instead of parsed `.sym` files.
//!
//! The answers are `breakpad-symbols` 0.27's (its `Symbolizer` over the same files): the
//! same module key, the same calls on the frame, the same registers set. The index answers
//! with Breakpad's strict line rule (no line between two line records), as
//! `breakpad-symbols` does. Where FUNC records overlap, the index keeps the first in the
//! file (the crate's lookup contract, as Eliot answers), where
//! `breakpad-symbols` keeps the lowest start address (the shorter on a tie); overlapping
//! STACK records are resolved as `breakpad-symbols` does.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use debugid::DebugId;
use minidump::Module as DumpModule;
use minidump_unwind::{
    FileError, FileKind, FillSymbolError, FrameSymbolizer, FrameWalker as DumpWalker,
    SymbolProvider, SymbolStats,
};

use crate::error::ErrorKind;
use crate::lookup::{Frame, FrameDetails, LookupOptions, SymbolKind};
use crate::symbolicator::{Module, ModuleProvider, ModuleStatus, Symbolicator};
use crate::unwind::{walk_cfi_in_module, walk_win, FrameWalker, UnwindCache};

/// What decides a module's symbols (see [`symbol_key`]): the debug file's last component
/// (the code file's when the debug file is empty) and the debug id; `None` without either.
fn module_id(module: &(dyn DumpModule + Sync)) -> Option<(Cow<'_, str>, DebugId)> {
    let debug_file = module.debug_file()?;
    let file = if debug_file.is_empty() {
        module.code_file()
    } else {
        debug_file
    };
    Some((file, module.debug_identifier()?))
}

/// One module of the dumps a provider has seen: its symbols, loaded once, and whether the
/// walk has asked for it (counted in [`SymbolStats`]) yet.
#[derive(Debug)]
struct Cell {
    /// [`module_id`], with the debug file's last component.
    id: Option<(String, DebugId)>,
    /// The code file's last component: the key of [`SymbolProvider::stats`].
    code_file: String,
    loaded: OnceLock<Loaded>,
    counted: AtomicBool,
}

/// The cells of a provider, found on every frame without allocating: by a hash of the
/// module's id and code file, then compared. The hash is seeded per provider (dumps are
/// untrusted input: no one can choose module names that all collide).
type Cells = HashMap<u64, Vec<Arc<Cell>>, BuildHasherDefault<Prehashed>>;

/// The cells of a provider and the last one found: a walk asks for the same module
/// frame after frame (minidump-processor calls `walk_frame` then `fill_symbol` for each
/// frame, and neighbouring frames are often in one module), so the last cell is compared
/// first, before hashing anything.
#[derive(Debug, Default)]
struct Known {
    cells: Cells,
    last: Option<Arc<Cell>>,
}

impl Cell {
    /// Whether this is the cell of the module with these ids.
    #[inline]
    fn is(&self, id: Option<(&str, DebugId)>, code: &str) -> bool {
        self.code_file == code && self.id.as_ref().map(|(f, i)| (f.as_str(), *i)) == id
    }
}

/// The hasher of [`Cells`]' keys, which are hashes already.
#[derive(Debug, Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; fold anything else in rather than lose it.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// The last component of a path, separated by `/` or `\` (dumps from Windows write
/// backslashes; `breakpad-symbols` splits on both on every platform).
fn leaf(path: &str) -> &str {
    match path.bytes().rposition(|b| b == b'/' || b == b'\\') {
        // The separator is one ASCII byte, so `i + 1` is a character boundary.
        Some(i) => path.get(i + 1..).unwrap_or(""),
        None => path,
    }
}

/// The `(debug_file, debug_id)` a [`Symbolicator`] is asked for: the debug file's last
/// component (the code file's when the dump has an empty debug file, as MinGW builds
/// write) and the debug id in Breakpad's form, upper-case. `None` when the dump has
/// neither a debug file nor a debug id.
fn symbol_key(module: &(dyn DumpModule + Sync)) -> Option<(String, String)> {
    let debug_file = module.debug_file()?;
    let file = if debug_file.is_empty() {
        module.code_file()
    } else {
        debug_file
    };
    let id = module.debug_identifier()?;
    Some((
        leaf(&file).to_owned(),
        id.breakpad().to_string().to_ascii_uppercase(),
    ))
}

/// A loaded module, or why there is none (for [`SymbolStats`]).
#[derive(Debug, Clone)]
enum Loaded {
    Found(Arc<Module>),
    Missing,
    Corrupt,
}

/// A `minidump_unwind::SymbolProvider` answering from a [`Symbolicator`], with
/// `breakpad-symbols`' semantics (feature `minidump-unwind`).
///
/// Each module of a dump is asked of the symbolicator once and held for the provider's
/// life (one provider per dump, as `minidump-stackwalk` runs one process per crash);
/// [`TeckenSymbolProvider::prefetch`] loads a dump's modules in parallel before walking.
/// Unwinding compiles rule strings once, in one [`UnwindCache`] per provider.
///
/// ```no_run
/// use std::sync::Arc;
/// use tecken_core::{Symbolicator, TeckenSymbolProvider};
///
/// let symbolicator = Arc::new(Symbolicator::local("/symbols", None)?);
/// let provider = TeckenSymbolProvider::new(symbolicator);
/// // minidump_processor::process_minidump(&dump, &provider).await
/// # let _ = provider;
/// # Ok::<(), tecken_core::Error>(())
/// ```
#[derive(Debug)]
pub struct TeckenSymbolProvider {
    symbolicator: Arc<Symbolicator>,
    modules: Mutex<Known>,
    hasher: foldhash::fast::RandomState,
    stats: Mutex<HashMap<String, SymbolStats>>,
    unwind: Mutex<UnwindCache>,
}

impl TeckenSymbolProvider {
    /// A provider over `symbolicator`.
    pub fn new(symbolicator: Arc<Symbolicator>) -> TeckenSymbolProvider {
        TeckenSymbolProvider {
            symbolicator,
            modules: Mutex::new(Known::default()),
            hasher: foldhash::fast::RandomState::default(),
            stats: Mutex::new(HashMap::new()),
            unwind: Mutex::new(UnwindCache::new()),
        }
    }

    /// The symbolicator it answers from.
    pub fn symbolicator(&self) -> &Arc<Symbolicator> {
        &self.symbolicator
    }

    /// Loads the symbols of `modules` on up to `threads` threads (at least one, the calling
    /// thread included), so that the walk that follows does not wait for each module in
    /// turn. Modules already loaded (or found missing) are not asked again. Modules whose
    /// index is in memory or in the cache directory are opened first, on the calling
    /// thread (a fraction of a millisecond each): threads start only for modules that must
    /// be fetched, so a dump whose symbols are all cached starts none.
    pub fn prefetch<'m, M>(&self, modules: impl IntoIterator<Item = &'m M>, threads: usize)
    where
        M: DumpModule + Sync + 'm,
    {
        let (local, modules): (Vec<&M>, Vec<&M>) = modules.into_iter().partition(|m| {
            symbol_key(*m).is_none_or(|(file, id)| self.symbolicator.is_local(&file, &id))
        });
        for m in local {
            self.load(m);
        }
        let next = AtomicUsize::new(0);
        let threads = threads.clamp(1, modules.len().max(1));
        let work = || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(m) = modules.get(i) else { break };
            self.load(*m);
        };
        // The calling thread is one of them: a single module starts no thread.
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(work);
            }
            work();
        });
    }

    /// The module's cell: found by its ids, or made on first sight.
    fn cell(&self, module: &(dyn DumpModule + Sync)) -> Arc<Cell> {
        let id = module_id(module);
        let id = id.as_ref().map(|(file, id)| (leaf(file), *id));
        let code = module.code_file();
        let code = leaf(&code);
        let new_cell = || {
            Arc::new(Cell {
                id: id.map(|(f, i)| (f.to_owned(), i)),
                code_file: code.to_owned(),
                loaded: OnceLock::new(),
                counted: AtomicBool::new(false),
            })
        };
        let Ok(mut known) = self.modules.lock() else {
            // A panic elsewhere poisoned the map: answer without remembering.
            return new_cell();
        };
        if let Some(c) = known.last.as_ref().filter(|c| c.is(id, code)) {
            return c.clone();
        }
        let hash = self.hasher.hash_one((id, code));
        let cells = known.cells.entry(hash).or_default();
        let c = match cells.iter().find(|c| c.is(id, code)) {
            Some(c) => c.clone(),
            None => {
                let c = new_cell();
                cells.push(c.clone());
                c
            }
        };
        known.last = Some(c.clone());
        c
    }

    /// The module's symbols, loaded once per provider.
    fn load(&self, module: &(dyn DumpModule + Sync)) -> Loaded {
        self.load_into(&self.cell(module), module)
    }

    /// The symbols of `cell`'s module: loaded on first use.
    fn load_into(&self, cell: &Cell, module: &(dyn DumpModule + Sync)) -> Loaded {
        cell.loaded.get_or_init(|| self.fetch(module)).clone()
    }

    /// The module's symbols for the walk: [`Self::load`], and the module counted in the
    /// stats. Only modules the walk asks for are counted (not those merely prefetched):
    /// minidump-processor reports a module's symbols as missing only when they were.
    #[cfg(test)]
    fn request(&self, module: &(dyn DumpModule + Sync)) -> Loaded {
        self.with_request(module, Loaded::clone)
    }

    /// [`Self::request`], answering `f` of the loaded symbols without copying them.
    #[inline]
    fn with_request<R>(&self, module: &(dyn DumpModule + Sync), f: impl FnOnce(&Loaded) -> R) -> R {
        let cell = self.cell(module);
        let loaded = cell.loaded.get_or_init(|| self.fetch(module));
        // Read before the swap: after the first request this is a plain load.
        if !cell.counted.load(Ordering::Relaxed) && !cell.counted.swap(true, Ordering::Relaxed) {
            if let Ok(mut s) = self.stats.lock() {
                // The first request of a code file counts.
                s.entry(cell.code_file.clone())
                    .or_insert_with(|| SymbolStats {
                        loaded_symbols: !matches!(loaded, Loaded::Missing),
                        corrupt_symbols: matches!(loaded, Loaded::Corrupt),
                        ..SymbolStats::default()
                    });
            }
        }
        f(loaded)
    }

    fn fetch(&self, module: &(dyn DumpModule + Sync)) -> Loaded {
        let Some((file, id)) = symbol_key(module) else {
            return Loaded::Missing;
        };
        match self.symbolicator.module(&file, &id) {
            (ModuleStatus::Found(m), _) => Loaded::Found(m),
            // A `.sym` was read but is unusable (no MODULE line, not a `.sym`): counted as
            // corrupt, as breakpad-symbols counts a file it cannot parse. Unlike there, an
            // empty file, or one whose MODULE line names another module (breakpad-symbols
            // uses it), is missing; so is a module the symbolicator found unusable
            // earlier (it remembers only "not found").
            (ModuleStatus::NotFound, stats) if stats.download_bytes > 0 => Loaded::Corrupt,
            (ModuleStatus::NotFound, _) => Loaded::Missing,
            (ModuleStatus::Failed(e), _) => match e.kind() {
                ErrorKind::MalformedSym | ErrorKind::CorruptIndex => Loaded::Corrupt,
                _ => Loaded::Missing,
            },
        }
    }

    /// `fill_symbol`, synchronously.
    fn fill(
        &self,
        module: &(dyn DumpModule + Sync),
        frame: &mut (dyn FrameSymbolizer + Send),
    ) -> Result<(), FillSymbolError> {
        self.with_request(module, |loaded| {
            let Loaded::Found(m) = loaded else {
                return Err(FillSymbolError {});
            };
            fill_frame(m, module.base_address(), frame);
            Ok(())
        })
    }

    /// `walk_frame`, synchronously.
    fn walk(
        &self,
        module: &(dyn DumpModule + Sync),
        walker: &mut (dyn DumpWalker + Send),
    ) -> Option<()> {
        self.with_request(module, |loaded| match loaded {
            Loaded::Found(m) => self.walk_in(m, module, walker),
            _ => None,
        })
    }

    /// `walk_frame` in a module with symbols.
    fn walk_in(
        &self,
        m: &Module,
        module: &(dyn DumpModule + Sync),
        walker: &mut (dyn DumpWalker + Send),
    ) -> Option<()> {
        let base = module.base_address();
        let address = walker.get_instruction().checked_sub(base)?;
        let index = &m.index;
        let mut w = Adapter(walker);
        let mut cache = self.unwind.lock().ok();
        // FrameData over FPO (the more precise when both exist); when the STACK WIN
        // record cannot unwind, STACK CFI may.
        if let Some(win) = index.preferred_stack_win(address) {
            let r = match cache.as_deref_mut() {
                Some(c) => c.walk_win(&win, &mut w),
                None => walk_win(&win, &mut w),
            };
            if r.is_some() {
                return r;
            }
        }
        let rules = index.cfi_rules(address)?;
        match cache.as_deref_mut() {
            Some(c) => c.walk_cfi_in_module(&rules, base, &mut w),
            None => walk_cfi_in_module(&rules, base, &mut w),
        }
    }
}

/// Fills `frame` from the module's index as `breakpad-symbols`' `SymbolFile::fill_symbol`
/// does: for a FUNC, the function (with the parameter size of the covering STACK WIN
/// record when there is one), the outermost source location (the file as the `.sym`
/// writes it) and the inlined calls outer to inner; for a PUBLIC, the function alone.
fn fill_frame(m: &Module, base: u64, frame: &mut (dyn FrameSymbolizer + Send)) {
    let Some(address) = frame.get_instruction().checked_sub(base) else {
        return;
    };
    let opts = LookupOptions { strict_lines: true };
    let index = &m.index;
    let mut f = Frame::empty();
    let mut details = FrameDetails::default();
    if !index.lookup_with_details(address, &opts, &mut f, &mut details) {
        return;
    }
    let function_address = base.wrapping_add(f.function_address);
    if f.kind == SymbolKind::Public {
        frame.set_function(f.function, function_address, details.parameter_size);
        return;
    }
    // STACK WIN parameter sizes are the more reliable (STACK WIN unwinding of the caller
    // depends on them), FrameData's before FPO's.
    let parameter_size = index
        .preferred_stack_win(address)
        .map_or(details.parameter_size, |w| w.parameter_size);
    frame.set_function(f.function, function_address, parameter_size);
    if let Some(file) = &f.file {
        // The outermost location: the call site of the outermost inlined call, at that
        // call's range start, else the line record's.
        let at = details
            .inline_address
            .or(details.line_address)
            .unwrap_or(address);
        frame.set_source_file(file.raw, f.line.unwrap_or(0), base.wrapping_add(at));
    }
    // Outer to inner; each at its position inside that inlined function. Calls whose
    // INLINE_ORIGIN was never defined have no name and are left out, as there. The
    // positions of all but the innermost are the call lines of INLINE records, given even
    // when 0 (the index reads line 0 as unknown); the innermost's is a line record's, where
    // 0 is unknown.
    for (depth, inline) in f.inlines.iter().enumerate().rev() {
        if inline.function.is_empty() {
            continue;
        }
        let line = match depth {
            0 => inline.line,
            _ => Some(inline.line.unwrap_or(0)),
        };
        frame.add_inline_frame(inline.function, inline.file.as_ref().map(|f| f.raw), line);
    }
}

/// minidump-unwind's walker seen as tecken's [`FrameWalker`] (the same methods).
struct Adapter<'w>(&'w mut (dyn DumpWalker + Send));

impl FrameWalker for Adapter<'_> {
    fn get_instruction(&self) -> u64 {
        self.0.get_instruction()
    }
    fn has_grand_callee(&self) -> bool {
        self.0.has_grand_callee()
    }
    fn get_grand_callee_parameter_size(&self) -> u32 {
        self.0.get_grand_callee_parameter_size()
    }
    fn get_register_at_address(&self, address: u64) -> Option<u64> {
        self.0.get_register_at_address(address)
    }
    fn get_callee_register(&self, name: &str) -> Option<u64> {
        self.0.get_callee_register(name)
    }
    fn set_caller_register(&mut self, name: &str, val: u64) -> Option<()> {
        self.0.set_caller_register(name, val)
    }
    fn clear_caller_register(&mut self, name: &str) {
        self.0.clear_caller_register(name)
    }
    fn set_cfa(&mut self, val: u64) -> Option<()> {
        self.0.set_cfa(val)
    }
    fn set_ra(&mut self, val: u64) -> Option<()> {
        self.0.set_ra(val)
    }
    fn set_cfi_rules_start_address(&mut self, addr: Option<u64>) {
        self.0.set_cfi_rules_start_address(addr)
    }
}

#[async_trait]
impl SymbolProvider for TeckenSymbolProvider {
    async fn fill_symbol(
        &self,
        module: &(dyn DumpModule + Sync),
        frame: &mut (dyn FrameSymbolizer + Send),
    ) -> Result<(), FillSymbolError> {
        self.fill(module, frame)
    }

    async fn walk_frame(
        &self,
        module: &(dyn DumpModule + Sync),
        walker: &mut (dyn DumpWalker + Send),
    ) -> Option<()> {
        self.walk(module, walker)
    }

    /// Always [`FileError::NotFound`]: the symbolicator keeps indexes, which are none of
    /// the files a [`FileKind`] names (a `.sym`, a binary, extra debug info).
    async fn get_file_path(
        &self,
        _module: &(dyn DumpModule + Sync),
        _file_kind: FileKind,
    ) -> Result<PathBuf, FileError> {
        Err(FileError::NotFound)
    }

    /// Per module (the code file's last component): whether symbols were found
    /// (`loaded_symbols`) and whether they were unusable (`corrupt_symbols`).
    fn stats(&self) -> HashMap<String, SymbolStats> {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use debugid::{CodeId, DebugId};

    use super::*;

    struct M {
        code_file: &'static str,
        debug_file: Option<&'static str>,
        debug_id: Option<&'static str>,
    }

    impl DumpModule for M {
        fn base_address(&self) -> u64 {
            0x1000
        }
        fn size(&self) -> u64 {
            0x1000
        }
        fn code_file(&self) -> Cow<'_, str> {
            Cow::Borrowed(self.code_file)
        }
        fn code_identifier(&self) -> Option<CodeId> {
            None
        }
        fn debug_file(&self) -> Option<Cow<'_, str>> {
            self.debug_file.map(Cow::Borrowed)
        }
        fn debug_identifier(&self) -> Option<DebugId> {
            self.debug_id.map(|d| DebugId::from_breakpad(d).unwrap())
        }
        fn version(&self) -> Option<Cow<'_, str>> {
            None
        }
    }

    const ID: &str = "ABCDEF0123456789ABCDEF0123456789a";

    #[test]
    fn symbol_key_is_breakpad_symbols_lookup_key() {
        let key = |code_file, debug_file, debug_id| {
            symbol_key(&M {
                code_file,
                debug_file,
                debug_id,
            })
        };
        let id = "ABCDEF0123456789ABCDEF0123456789A".to_owned();
        // Windows paths lose their directories whatever the host's separator.
        assert_eq!(
            key("c:\\app\\xul.dll", Some("c:\\build\\xul.pdb"), Some(ID)),
            Some(("xul.pdb".to_owned(), id.clone()))
        );
        assert_eq!(
            key("/usr/lib/libxul.so", Some("/usr/lib/libxul.so"), Some(ID)),
            Some(("libxul.so".to_owned(), id.clone()))
        );
        // An empty debug file (MinGW builds): the code file's name.
        assert_eq!(
            key("c:\\app\\gcc.dll", Some(""), Some(ID)),
            Some(("gcc.dll".to_owned(), id))
        );
        assert_eq!(key("c:\\app\\x.dll", None, Some(ID)), None);
        assert_eq!(key("c:\\app\\x.dll", Some("x.pdb"), None), None);
    }

    #[test]
    fn a_module_without_ids_has_no_symbols_and_is_counted_missing() {
        let dir = tempfile::tempdir().unwrap();
        let sym = Arc::new(Symbolicator::local(dir.path(), None).unwrap());
        let provider = TeckenSymbolProvider::new(sym);
        let m = M {
            code_file: "c:\\app\\x.dll",
            debug_file: None,
            debug_id: None,
        };
        // Prefetching does not count a module; asking for it does.
        provider.prefetch([&m], 4);
        assert!(provider.stats().is_empty());
        assert!(matches!(provider.request(&m), Loaded::Missing));
        let stats = provider.stats();
        assert!(!stats["x.dll"].loaded_symbols);
        assert!(!stats["x.dll"].corrupt_symbols);
    }

    /// A frame symbolizer that keeps the function name.
    #[derive(Default)]
    struct Named {
        instruction: u64,
        function: Option<String>,
    }

    impl FrameSymbolizer for Named {
        fn get_instruction(&self) -> u64 {
            self.instruction
        }
        fn set_function(&mut self, name: &str, _base: u64, _parameter_size: u32) {
            self.function = Some(name.to_owned());
        }
        fn set_source_file(&mut self, _file: &str, _line: u32, _base: u64) {}
    }

    #[test]
    fn modules_that_differ_in_one_id_are_told_apart_frame_after_frame() {
        // The provider compares the last module asked for before hashing: modules that
        // share all but one of the debug file, the debug id and the code file, asked for
        // in turn, must each get their own symbols.
        let dir = tempfile::tempdir().unwrap();
        let ids = [
            "ABCDEF0123456789ABCDEF0123456789A",
            "ABCDEF0123456789ABCDEF0123456789B",
        ];
        for (file, id, name) in [
            ("a.pdb", ids[0], "a0"),
            ("a.pdb", ids[1], "a1"),
            ("b.pdb", ids[0], "b0"),
        ] {
            let d = dir.path().join(file).join(id);
            std::fs::create_dir_all(&d).unwrap();
            let sym = format!("MODULE windows x86_64 {id} {file}\nPUBLIC 10 0 {name}\n");
            std::fs::write(d.join(file.replace(".pdb", ".sym")), sym).unwrap();
        }
        let sym = Arc::new(Symbolicator::local(dir.path(), None).unwrap());
        let provider = TeckenSymbolProvider::new(sym);
        let m = |code_file, debug_file, debug_id| M {
            code_file,
            debug_file: Some(debug_file),
            debug_id: Some(debug_id),
        };
        let modules = [
            (m("c:\\a.dll", "a.pdb", ids[0]), Some("a0")),
            (m("c:\\a.dll", "a.pdb", ids[1]), Some("a1")),
            (m("c:\\a.dll", "b.pdb", ids[0]), Some("b0")),
            (m("c:\\b.dll", "b.pdb", ids[0]), Some("b0")),
            (m("c:\\a.dll", "b.pdb", ids[1]), None),
        ];
        for round in 0..3 {
            for (module, want) in modules.iter().chain(modules.iter().rev()) {
                let mut frame = Named {
                    instruction: module.base_address() + 0x20,
                    ..Named::default()
                };
                let r = provider.fill(module, &mut frame);
                assert_eq!(r.is_ok(), want.is_some(), "round {round}");
                assert_eq!(frame.function.as_deref(), *want, "round {round}");
            }
        }
        let stats = provider.stats();
        assert!(stats["a.dll"].loaded_symbols, "the first request counts");
        assert!(stats["b.dll"].loaded_symbols);
    }
}
