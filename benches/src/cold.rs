//! Page-cache control for "cold" measurements: evict one file's pages and check that they
//! are gone.
//!
//! `posix_fadvise(POSIX_FADV_DONTNEED)` drops a file's clean, unmapped pages from the page
//! cache, so the next read of that file goes to the disk while the rest of the machine stays
//! warm (unlike `echo 3 > /proc/sys/vm/drop_caches`, which needs root and flushes
//! everything). Dirty pages are not dropped, so the file is synced first; pages mapped by
//! any process are not dropped either, so callers must unmap the file before evicting it.
//! [`resident_fraction`] (`mincore`) tells whether the eviction worked.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// Syncs `path` and asks the kernel to drop its pages from the page cache.
pub fn evict(path: &Path) -> io::Result<()> {
    let file = File::open(path)?;
    file.sync_all()?;
    // SAFETY: plain syscall on a file descriptor we own; no memory is passed.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// The fraction (0..=1) of `path`'s pages that are in the page cache.
pub fn resident_fraction(path: &Path) -> io::Result<f64> {
    let file = File::open(path)?;
    let len = file.metadata()?.len() as usize;
    if len == 0 {
        return Ok(0.0);
    }
    // SAFETY: the mapping is only passed to mincore, never read, so a concurrent change of
    // the file cannot affect memory safety here.
    let map = unsafe { memmap2::Mmap::map(&file) }?;
    // SAFETY: sysconf has no memory effects.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
        .unwrap_or(4096)
        .max(1);
    let pages = len.div_ceil(page);
    let mut vec = vec![0u8; pages];
    // SAFETY: `map` covers `len` bytes from a page-aligned address and `vec` has one byte
    // per page of that range, as mincore requires.
    let rc = unsafe { libc::mincore(map.as_ptr() as *mut libc::c_void, len, vec.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(vec.iter().filter(|&&b| b & 1 != 0).count() as f64 / pages as f64)
}
