//! A counting global allocator for the memory oracles: the system
//! allocator, with the live heap bytes and their peak counted per thread
//! (so that tests running in parallel do not see each other's
//! allocations). An includer installs it with
//! `#[global_allocator] static A: alloc::Counting = alloc::Counting;`;
//! without it the counters stay at zero and [`installed`] is false, and
//! the memory oracles are skipped.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    // Constant-initialized, without destructor: safe to touch from the
    // allocator at any time of the thread's life.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static SEEN: Cell<bool> = const { Cell::new(false) };
}

/// The system allocator, counting.
pub(crate) struct Counting;

fn add(n: isize) {
    let _ = LIVE.try_with(|live| {
        let v = live.get() + n;
        live.set(v);
        let _ = PEAK.try_with(|p| p.set(p.get().max(v)));
        let _ = SEEN.try_with(|s| s.set(true));
    });
}

// SAFETY: every call is forwarded to `System` unchanged; only counters
// are updated besides.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) };
        add(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// Whether the counting allocator is installed (it has counted anything
/// on this thread).
pub(crate) fn installed() -> bool {
    let _probe = Box::new(0u8);
    SEEN.with(Cell::get)
}

/// Live heap bytes this thread allocated and has not freed (blocks freed
/// by another thread than their allocator's skew it; the oracles use one
/// thread).
pub(crate) fn live() -> isize {
    LIVE.with(Cell::get)
}

/// Starts a new peak measurement at the current live count.
pub(crate) fn reset_peak() {
    let live = live();
    PEAK.with(|p| p.set(live));
}

/// The highest live count since [`reset_peak`].
pub(crate) fn peak() -> isize {
    PEAK.with(Cell::get)
}
