//! Surviving a mapped file truncated behind our back (Linux).
//!
//! Reading a page of a shared file mapping that lies past the file's end raises SIGBUS,
//! whose default action kills the process. Index files are immutable by contract, but the
//! cache directory is a directory on disk: anyone with write access can truncate a file a
//! server has mapped. So every mapping made by [`super::Bytes::map_file`] is registered
//! here, and a SIGBUS handler (installed once, on the first mapping) that finds the fault
//! address inside a registered mapping replaces the whole mapping with anonymous zero
//! pages (`mmap(MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS)`), marks it poisoned and returns:
//! the faulting read runs again and reads zeros. Every read of index bytes is
//! bounds-checked, so zeros give wrong values at worst, never undefined behaviour; and the
//! reader checks the poisoned flag after each lookup, turning those values into an error.
//!
//! A SIGBUS that is not ours (another mapping, a signal sent with `kill`) is passed on to
//! the handler that was installed before ours, as that handler expects to be called: with
//! `siginfo` when it asked for it. When there was none (`SIG_DFL`), the default action is
//! restored and the signal raised again, so the process dies of SIGBUS as it would have
//! without us. This matters in Python and Node processes, whose runtimes install their own
//! handlers (Python's `faulthandler`), and in Rust programs, whose standard library
//! installs one to report stack overflows.
//!
//! The registry is a fixed array of slots, touched with atomics only: the handler may run
//! on any thread at any time, so it takes no lock and allocates nothing. It reads the
//! slots, calls `mmap`, and stores two atomics (saving and restoring `errno` around them).
//! A slot is freed before its mapping is unmapped, and freeing waits for a handler that is
//! using the slot at that moment, so the handler never maps over an address range that has
//! been handed to someone else.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

/// How many mappings can be registered at once. A mapping that finds the registry full is
/// read into memory instead (see [`super::Bytes::map_file`]): always safe, costs memory.
const SLOTS: usize = 8192;

const FREE: u8 = 0;
const CLAIMED: u8 = 1;
const ACTIVE: u8 = 2;
const RELEASING: u8 = 3;

struct Slot {
    state: AtomicU8,
    /// Handlers currently looking at this slot.
    busy: AtomicUsize,
    start: AtomicUsize,
    len: AtomicUsize,
    poisoned: AtomicBool,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            state: AtomicU8::new(FREE),
            busy: AtomicUsize::new(0),
            start: AtomicUsize::new(0),
            len: AtomicUsize::new(0),
            poisoned: AtomicBool::new(false),
        }
    }
}

static REGISTRY: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];
/// Where to start looking for a free slot.
static NEXT: AtomicUsize = AtomicUsize::new(0);
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(4096);
static INSTALL: Once = Once::new();
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// The SIGBUS action that was in place before ours.
static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

/// Installs the handler once per process. Returns whether it is installed.
fn install() -> bool {
    INSTALL.call_once(|| {
        // SAFETY: sysconf and sigaction are called with valid arguments; the new action's
        // handler has the signature SA_SIGINFO requires; `old` is written by the kernel.
        unsafe {
            let page = libc::sysconf(libc::_SC_PAGESIZE);
            if page > 0 {
                PAGE_SIZE.store(page as usize, Ordering::Relaxed);
            }
            let mut new: libc::sigaction = std::mem::zeroed();
            new.sa_sigaction = handler as *const () as libc::sighandler_t;
            new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut new.sa_mask);
            let mut old: libc::sigaction = std::mem::zeroed();
            // One call swaps the actions: no window in which a handler installed by
            // another thread could be lost.
            if libc::sigaction(libc::SIGBUS, &new, &mut old) == 0 {
                let _ = PREVIOUS.set(old);
                INSTALLED.store(true, Ordering::SeqCst);
            }
        }
    });
    INSTALLED.load(Ordering::SeqCst)
}

/// Registers the mapping `start..start + len`. Returns its slot, or `None` when the handler
/// could not be installed or every slot is taken.
pub(crate) fn register(start: usize, len: usize) -> Option<usize> {
    if !install() {
        return None;
    }
    let first = NEXT.load(Ordering::Relaxed);
    for k in 0..SLOTS {
        let i = (first + k) % SLOTS;
        let slot = &REGISTRY[i];
        if slot
            .state
            .compare_exchange(FREE, CLAIMED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            slot.start.store(start, Ordering::Relaxed);
            slot.len.store(len, Ordering::Relaxed);
            slot.poisoned.store(false, Ordering::Relaxed);
            // Publishes start, len and the flag to handlers that see ACTIVE.
            slot.state.store(ACTIVE, Ordering::SeqCst);
            NEXT.store((i + 1) % SLOTS, Ordering::Relaxed);
            return Some(i);
        }
    }
    None
}

/// Frees `slot`; call before unmapping its range. Waits for a handler using it.
pub(crate) fn deregister(slot: usize) {
    let Some(s) = REGISTRY.get(slot) else { return };
    s.state.store(RELEASING, Ordering::SeqCst);
    // A handler that saw ACTIVE before the store above is still counted in `busy`; one
    // that looks after it skips the slot. The handler runs a few instructions and one
    // mmap call, so this loop is short and almost never entered.
    while s.busy.load(Ordering::SeqCst) != 0 {
        std::thread::yield_now();
    }
    s.state.store(FREE, Ordering::SeqCst);
}

/// Whether a read of the mapping of `slot` faulted and now reads zeros.
#[inline]
pub(crate) fn is_poisoned(slot: usize) -> bool {
    REGISTRY
        .get(slot)
        .is_some_and(|s| s.poisoned.load(Ordering::Acquire))
}

/// If `addr` lies in a registered mapping, replaces that mapping with zero pages, marks
/// it poisoned and returns true.
///
/// Async-signal-safe: atomics and one `mmap` call.
fn rescue(addr: usize) -> bool {
    let page = PAGE_SIZE.load(Ordering::Relaxed);
    for slot in REGISTRY.iter() {
        if slot.state.load(Ordering::Relaxed) != ACTIVE {
            continue;
        }
        slot.busy.fetch_add(1, Ordering::SeqCst);
        let mut ours = false;
        if slot.state.load(Ordering::SeqCst) == ACTIVE {
            let start = slot.start.load(Ordering::Relaxed);
            let len = slot.len.load(Ordering::Relaxed);
            if addr >= start && addr - start < len {
                slot.poisoned.store(true, Ordering::SeqCst);
                // The mapping begins at the page holding `start` (a mapping of offset 0 is
                // page-aligned anyway) and ends at the page boundary after `start + len`.
                let from = start & !(page - 1);
                let end = (start + len).div_ceil(page) * page;
                // SAFETY: `from..end` is exactly the registered mapping, which cannot be
                // unmapped while we hold `busy`; replacing it with private zero pages only
                // changes the bytes its readers see (to zeros, which they handle).
                let r = unsafe {
                    libc::mmap(
                        from as *mut libc::c_void,
                        end - from,
                        libc::PROT_READ,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                        -1,
                        0,
                    )
                };
                ours = r != libc::MAP_FAILED;
            }
        }
        slot.busy.fetch_sub(1, Ordering::SeqCst);
        if ours {
            return true;
        }
    }
    false
}

/// Restores the default action for SIGBUS and raises it: the signal is delivered when our
/// handler returns (it is blocked while the handler runs), and the process dies of it.
unsafe fn die_by_default() {
    // SAFETY: valid arguments; sigaction and raise are async-signal-safe.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut dfl.sa_mask);
        libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut());
        libc::raise(libc::SIGBUS);
    }
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler; errno is the
    // thread's own and is restored before returning to the interrupted code.
    unsafe {
        let errno = libc::__errno_location();
        let saved = *errno;
        // A positive si_code means the kernel raised it for a fault at si_addr; a signal
        // sent by a process (si_code <= 0) carries no address of ours.
        let fault = !info.is_null() && (*info).si_code > 0;
        if fault && rescue((*info).si_addr() as usize) {
            *errno = saved;
            return;
        }
        *errno = saved;
        match PREVIOUS.get() {
            None => die_by_default(),
            Some(prev) if prev.sa_sigaction == libc::SIG_DFL => die_by_default(),
            // An ignored SIGBUS from a fault cannot be ignored (the read would fault
            // forever; the kernel itself kills in that case); one sent by `kill` can.
            Some(prev) if prev.sa_sigaction == libc::SIG_IGN => {
                if fault {
                    die_by_default();
                }
            }
            Some(prev) if prev.sa_flags & libc::SA_SIGINFO != 0 => {
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    std::mem::transmute(prev.sa_sigaction);
                f(sig, info, ctx);
            }
            Some(prev) => {
                let f: extern "C" fn(libc::c_int) = std::mem::transmute(prev.sa_sigaction);
                f(sig);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_freed_and_reused_clean() {
        // Address ranges nobody maps: a fault there would be SIGSEGV, never ours.
        let a = register(0x1000, 4096).unwrap();
        assert!(!is_poisoned(a));
        REGISTRY[a].poisoned.store(true, Ordering::SeqCst);
        assert!(is_poisoned(a));
        deregister(a);
        assert_eq!(REGISTRY[a].state.load(Ordering::SeqCst), FREE);
        // Every slot is reusable, and a new registration never inherits the flag.
        let ids: Vec<usize> = (0..SLOTS / 2)
            .map(|k| register(0x1000 + k * 4096, 4096).unwrap())
            .collect();
        assert!(ids.iter().all(|&i| !is_poisoned(i)));
        for i in ids {
            deregister(i);
        }
    }

    #[test]
    fn a_fault_outside_registered_ranges_is_not_ours() {
        let a = register(0x10_0000, 4096).unwrap();
        assert!(!rescue(0x10_0000 + 4096));
        assert!(!rescue(0x0fff));
        assert!(!is_poisoned(a));
        deregister(a);
    }
}
