//! The process's allocator: mimalloc, asked for memory the way it serves
//! fastest.
//!
//! Requests allocate many small, short-lived objects (GraphQL values, JSON,
//! futures), which mimalloc serves faster than glibc's malloc under
//! concurrency. The `mimalloc` crate's allocator passes every allocation to
//! `mi_malloc_aligned`, and mimalloc 3 answers that from its fast path only
//! while the size class at hand has a free block ready. Otherwise it takes
//! its ordinary path only for power-of-two sizes, and over-allocates any
//! other size by its alignment, from a larger size class. That class's
//! blocks then carry an offset that every free of its pages has to undo,
//! and the exhausted class is never refilled from its own freed blocks,
//! since only the ordinary path collects them: once it runs dry, every
//! allocation of its size goes the long way. Under valgrind, a
//! flash-sale hold made 262 allocations, 28 of them over-allocated
//! (benches/flash-rounds.md, round 24).
//!
//! So an alignment mimalloc's ordinary blocks already give (every block is
//! 8-aligned, and the blocks of most size classes 16-aligned) goes to
//! `mi_malloc` or `mi_zalloc`, and a larger one, or a block that turns out
//! less aligned than asked (a size class that is not a multiple of 16,
//! asked for 16), to the aligned calls. A reallocation takes `mi_realloc`
//! up to 8, where no block can come out less aligned.

use std::{
    alloc::{GlobalAlloc, Layout},
    ffi::c_void,
};

use libmimalloc_sys as mi;

/// The largest alignment mimalloc's ordinary calls may meet: the alignment
/// of its size classes' first blocks (`MI_MAX_ALIGN_SIZE`).
const ORDINARY_ALIGN: usize = 16;

/// mimalloc as the global allocator; see the module's documentation.
pub struct MiMalloc;

/// Whether `block` is aligned to `align` (a power of two); a null block is,
/// so that running out of memory is reported as such.
fn aligned(block: *mut c_void, align: usize) -> bool {
    block.addr() & (align - 1) == 0
}

/// A block for `layout` from mimalloc's `ordinary` call when that gives it
/// aligned as asked, else from the `by_alignment` one.
///
/// # Safety
///
/// `ordinary` and `by_alignment` are mimalloc's: their blocks go back to
/// `mi_free`.
#[inline]
unsafe fn allocate(
    layout: Layout,
    ordinary: unsafe extern "C" fn(usize) -> *mut c_void,
    by_alignment: unsafe extern "C" fn(usize, usize) -> *mut c_void,
) -> *mut u8 {
    let (size, align) = (layout.size(), layout.align());
    if align <= ORDINARY_ALIGN {
        // SAFETY: any size may be asked for.
        let block = unsafe { ordinary(size) };
        if aligned(block, align) {
            return block.cast();
        }
        // SAFETY: the block came from mimalloc and is not used.
        unsafe { mi::mi_free(block) };
    }
    // SAFETY: `align` is a power of two, as a `Layout`'s is.
    unsafe { by_alignment(size, align).cast() }
}

// SAFETY: every block comes from mimalloc and goes back to `mi_free`, which
// takes blocks of its aligned and ordinary calls alike; a block is handed
// out only when aligned as its layout asks (checked, or given by the
// aligned calls).
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: both are mimalloc's calls.
        unsafe { allocate(layout, mi::mi_malloc, mi::mi_malloc_aligned) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: both are mimalloc's calls.
        unsafe { allocate(layout, mi::mi_zalloc, mi::mi_zalloc_aligned) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: the caller hands back a block of this allocator.
        unsafe { mi::mi_free(ptr.cast()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let align = layout.align();
        // Every mimalloc block is 8-aligned, so up to 8 a moved block needs
        // no check. Beyond, a block found less aligned than asked could not
        // be undone (its contents have moved, the old block is gone), so
        // the aligned call serves it; such reallocations are rare.
        if align <= 8 {
            // SAFETY: `ptr` is a live block of this allocator.
            unsafe { mi::mi_realloc(ptr.cast(), new_size).cast() }
        } else {
            // SAFETY: `ptr` is a live block of this allocator, `align` a
            // power of two.
            unsafe { mi::mi_realloc_aligned(ptr.cast(), new_size, align).cast() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every alignment a layout may ask for up to 4 KiB, at sizes around
    /// mimalloc's size classes, including sizes that are not a multiple of
    /// the alignment: each block is aligned, writable, zeroed when asked,
    /// and keeps its contents when it grows and shrinks.
    #[test]
    fn blocks_are_aligned_and_keep_their_contents() {
        let allocator = MiMalloc;
        for align in (0..=12).map(|shift| 1_usize << shift) {
            for size in [
                1, 7, 8, 9, 16, 24, 40, 48, 56, 72, 80, 100, 1_000, 1_100, 5_000,
            ] {
                let layout = Layout::from_size_align(size, align).expect("a valid layout");
                // Several at once: the blocks of one size class stand at
                // different offsets.
                let blocks: Vec<*mut u8> = (0..64)
                    .map(|i| {
                        // SAFETY: a non-zero size.
                        let block = unsafe {
                            if i % 2 == 0 {
                                allocator.alloc(layout)
                            } else {
                                allocator.alloc_zeroed(layout)
                            }
                        };
                        assert!(!block.is_null());
                        assert_eq!(block.addr() % align, 0, "size {size}, align {align}");
                        if i % 2 == 1 {
                            // SAFETY: `size` bytes were allocated.
                            let bytes = unsafe { std::slice::from_raw_parts(block, size) };
                            assert!(bytes.iter().all(|&b| b == 0), "zeroed, size {size}");
                        }
                        // SAFETY: `size` bytes were allocated.
                        unsafe { block.write_bytes(i as u8, size) };
                        block
                    })
                    .collect();
                for (i, block) in blocks.into_iter().enumerate() {
                    let grown = size * 3 + 5;
                    // SAFETY: a live block of `layout`, grown, then shrunk.
                    unsafe {
                        let block = allocator.realloc(block, layout, grown);
                        assert_eq!(block.addr() % align, 0, "grown, size {size}, align {align}");
                        let kept = std::slice::from_raw_parts(block, size);
                        assert!(kept.iter().all(|&b| b == i as u8), "kept, size {size}");
                        let grown_layout = Layout::from_size_align(grown, align).unwrap();
                        let shrunk = (size / 2).max(1);
                        let block = allocator.realloc(block, grown_layout, shrunk);
                        assert_eq!(
                            block.addr() % align,
                            0,
                            "shrunk, size {size}, align {align}"
                        );
                        let kept = std::slice::from_raw_parts(block, shrunk);
                        assert!(kept.iter().all(|&b| b == i as u8), "kept, size {size}");
                        allocator.dealloc(block, Layout::from_size_align(shrunk, align).unwrap());
                    }
                }
            }
        }
    }
}
