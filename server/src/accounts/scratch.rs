//! The working memory of one password hash: mapped from the OS for the hash's duration and
//! returned to it afterwards.
//!
//! argon2id's memory (19 MiB here) allocated through the allocator does not go back: glibc
//! raises its mmap threshold to the size of the first large block freed, after which such
//! blocks come from per-thread arenas that keep them. Measured with 5 sign-ins a second
//! beside the fan-out: the server's RSS grew from 87 MB to 400–945 MB. An anonymous
//! mapping of its own is unmapped when the hash ends, so the memory is held only while a
//! hash runs ([`super::hash_pool::THREADS`] at most at once per process). The kernel hands
//! it out zeroed, a valid starting state for argon2's blocks, which it overwrites anyway.

use argon2::Block;

/// `len` argon2 blocks in a mapping of their own.
pub struct Scratch {
    blocks: std::ptr::NonNull<Block>,
    len: usize,
}

// SAFETY: the mapping is owned by this value alone, like a `Box<[Block]>`.
unsafe impl Send for Scratch {}

impl Scratch {
    /// Maps `len` zeroed blocks.
    pub fn new(len: usize) -> std::io::Result<Self> {
        let bytes = len
            .checked_mul(Block::SIZE)
            .filter(|bytes| *bytes > 0)
            .ok_or_else(|| std::io::Error::other("bad argon2 memory size"))?;
        // SAFETY: an anonymous private mapping with no address hint; checked below.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if address == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        // Page-aligned (4 KiB), so aligned for `Block` (64); never null when not MAP_FAILED.
        let blocks = std::ptr::NonNull::new(address.cast::<Block>())
            .ok_or_else(|| std::io::Error::other("mmap returned null"))?;
        Ok(Self { blocks, len })
    }

    /// The blocks.
    pub fn blocks(&mut self) -> &mut [Block] {
        // SAFETY: `len` blocks were mapped, zeroed (a valid `Block`: plain words), aligned,
        // and are borrowed through `&mut self` only.
        unsafe { std::slice::from_raw_parts_mut(self.blocks.as_ptr(), self.len) }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, of this size, unmapped once.
        unsafe {
            libc::munmap(self.blocks.as_ptr().cast(), self.len * Block::SIZE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blocks_are_zeroed_writable_and_sized() {
        let mut scratch = Scratch::new(3).unwrap();
        let blocks = scratch.blocks();
        assert_eq!(blocks.len(), 3);
        blocks[2] = Block::default();
        assert_eq!(std::mem::size_of_val(blocks), 3 * Block::SIZE);
        assert!(Scratch::new(0).is_err());
    }
}
