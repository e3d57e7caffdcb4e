//! Free UMEM chunks, and who holds each chunk.
//!
//! A chunk is held by exactly one of: the free stack, userspace (a live
//! [`Frame`] token), or one queue's kernel rings (its fill ring, or its TX
//! ring until the completion comes back). The owner of every chunk is
//! recorded (one `u16` per chunk, updated at each hand-over), so closing a
//! queue gives back exactly the chunks its rings still held. Without that,
//! every guest port that goes away would leak its fill ring's chunks and a
//! long-running daemon would run dry.
//!
//! Nothing here allocates after creation.

use super::area::{Area, Frame};

/// Owner value: on the free stack.
const FREE: u16 = u16::MAX;
/// Owner value: held by userspace through a [`Frame`] token.
const USER: u16 = u16::MAX - 1;
/// Largest queue slot number the owner map can record.
pub const MAX_QUEUE_SLOT: u16 = u16::MAX - 2;

/// The free chunks of one UMEM and the owner of every chunk.
pub struct FramePool {
    area: u32,
    stack: Box<[u64]>,
    len: usize,
    owner: Box<[u16]>,
    frame_shift: u32,
}

impl FramePool {
    /// A pool holding every chunk of `area`, all free.
    pub(super) fn full(area: &Area) -> FramePool {
        let size = u64::from(area.frame_size());
        let frames = area.frames() as usize;
        let stack: Box<[u64]> = (0..frames as u64).map(|i| i * size).collect();
        FramePool {
            area: area.id(),
            stack,
            len: frames,
            owner: vec![FREE; frames].into_boxed_slice(),
            frame_shift: area.frame_size().trailing_zeros(),
        }
    }

    #[inline]
    fn index(&self, base: u64) -> Option<usize> {
        let i = (base >> self.frame_shift) as usize;
        (i < self.owner.len()).then_some(i)
    }

    /// Number of free chunks.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no chunk is free.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Takes a free chunk for userspace; the packet starts at `headroom`
    /// with length 0.
    #[inline]
    pub fn alloc(&mut self, headroom: u32) -> Option<Frame> {
        let base = self.pop()?;
        self.set_owner(base, USER);
        Some(Frame::owned(self.area, base, headroom))
    }

    /// Returns a userspace chunk to the free stack (a frame of another
    /// pool's area is ignored).
    #[inline]
    pub fn free(&mut self, frame: Frame) {
        if frame.area() == self.area {
            self.release(frame.base());
        }
    }

    /// Takes a free chunk to put into queue `queue`'s fill ring.
    #[inline]
    pub(super) fn lend_for_fill(&mut self, queue: u16) -> Option<u64> {
        let base = self.pop()?;
        self.set_owner(base, queue);
        Some(base)
    }

    /// Records that `frame` went into queue `queue`'s TX ring.
    #[inline]
    pub(super) fn lend_for_tx(&mut self, frame: Frame, queue: u16) {
        if frame.area() == self.area {
            self.set_owner(frame.base(), queue);
        }
    }

    /// Records that the kernel returned the chunk at `base` through
    /// `queue` (RX or completion). Returns false, changing nothing, when
    /// the pool does not think `queue` held it (a corrupt descriptor).
    #[inline]
    pub(super) fn returned_by(&mut self, base: u64, queue: u16) -> bool {
        match self.index(base) {
            Some(i) if self.owner[i] == queue => {
                self.owner[i] = USER;
                true
            }
            _ => false,
        }
    }

    /// Puts the chunk at `base`, which `queue` gave back (a TX completion),
    /// straight onto the free stack. Returns false, changing nothing, when
    /// the pool does not think `queue` held it.
    #[inline]
    pub(super) fn recycle(&mut self, base: u64, queue: u16) -> bool {
        if self.returned_by(base, queue) {
            self.release(base);
            true
        } else {
            false
        }
    }

    /// Gives every chunk still held by `queue` back to the free stack (the
    /// queue's socket has been closed). Returns how many.
    pub(super) fn reclaim(&mut self, queue: u16) -> usize {
        let mut reclaimed = 0;
        for i in 0..self.owner.len() {
            if self.owner[i] == queue {
                self.owner[i] = FREE;
                self.stack[self.len] = (i as u64) << self.frame_shift;
                self.len += 1;
                reclaimed += 1;
            }
        }
        reclaimed
    }

    /// Chunks held by `queue`'s rings.
    pub fn held_by(&self, queue: u16) -> usize {
        self.owner.iter().filter(|&&o| o == queue).count()
    }

    #[inline]
    fn pop(&mut self) -> Option<u64> {
        let len = self.len.checked_sub(1)?;
        self.len = len;
        Some(self.stack[len])
    }

    #[inline]
    fn set_owner(&mut self, base: u64, owner: u16) {
        if let Some(i) = self.index(base) {
            self.owner[i] = owner;
        }
    }

    #[inline]
    fn release(&mut self, base: u64) {
        let Some(i) = self.index(base) else {
            return;
        };
        // A chunk is pushed at most once: the stack can never overflow.
        if self.owner[i] != FREE && self.len < self.stack.len() {
            self.owner[i] = FREE;
            self.stack[self.len] = base;
            self.len += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_accounted_through_every_hand_over() {
        let area = Area::new(8, 4096).expect("mmap");
        let mut pool = FramePool::full(&area);
        // Four chunks into queue 1's fill ring, two into queue 2's.
        let fill1: Vec<u64> = (0..4).filter_map(|_| pool.lend_for_fill(1)).collect();
        let fill2: Vec<u64> = (0..2).filter_map(|_| pool.lend_for_fill(2)).collect();
        assert_eq!(pool.len(), 2);
        assert_eq!(pool.held_by(1), 4);
        // Queue 1 receives one frame; userspace transmits it on queue 2.
        assert!(pool.returned_by(fill1[0], 1));
        let frame = Frame::from_kernel(&area, fill1[0] + 256, 60).expect("in area");
        pool.lend_for_tx(frame, 2);
        assert_eq!(pool.held_by(2), 3);
        // A descriptor the queue never held is refused.
        assert!(!pool.returned_by(fill2[0], 1));
        // Queue 2 closes: its two fill chunks and the TX chunk come back.
        assert_eq!(pool.reclaim(2), 3);
        assert_eq!(pool.len(), 5);
        // Userspace frames: alloc and free keep the count.
        let f = pool.alloc(256).expect("free chunk");
        assert_eq!(pool.len(), 4);
        pool.free(f);
        assert_eq!(pool.len(), 5);
        // Queue 1 closes too (three chunks still in its fill ring).
        assert_eq!(pool.reclaim(1), 3);
        assert_eq!(pool.len(), 8);
    }

    #[test]
    fn double_release_is_ignored() {
        let area = Area::new(2, 4096).expect("mmap");
        let mut pool = FramePool::full(&area);
        let f = pool.alloc(0).expect("chunk");
        let base = f.base();
        pool.free(f);
        pool.release(base);
        assert_eq!(pool.len(), 2);
    }
}
