//! A counting global allocator: current and peak heap bytes, for "peak heap while
//! building". Register it in a binary with
//! `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.
//!
//! It counts requested sizes (not the allocator's rounding or its metadata), across all
//! threads, so a multi-threaded build is measured whole. The cost is one relaxed atomic add
//! per allocation and free, plus a compare on the peak: a few ns, next to the ~20 ns of
//! malloc itself, so it barely moves the build times of allocation-heavy peers.
//! Memory-mapped files are not heap and are not counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The counting allocator; forwards to the system allocator.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

#[inline]
fn grow(n: usize) {
    let cur = CURRENT.fetch_add(n, Relaxed) + n;
    // Load first: most allocations do not set a new peak, and a plain load is cheaper than
    // a read-modify-write on a line other threads also write.
    if cur > PEAK.load(Relaxed) {
        PEAK.fetch_max(cur, Relaxed);
    }
}

#[inline]
fn shrink(n: usize) {
    CURRENT.fetch_sub(n, Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract holds exactly as it does for `System`; the counters are side data.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl comment).
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) };
        shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grow(new_size - layout.size());
            } else {
                shrink(layout.size() - new_size);
            }
        }
        p
    }
}

/// Heap bytes currently allocated (through the counting allocator).
pub fn current() -> usize {
    CURRENT.load(Relaxed)
}

/// The highest [`current`] since the last [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(Relaxed)
}

/// Starts a new peak measurement; returns the current heap, the baseline to subtract.
pub fn reset_peak() -> usize {
    let cur = CURRENT.load(Relaxed);
    PEAK.store(cur, Relaxed);
    cur
}
