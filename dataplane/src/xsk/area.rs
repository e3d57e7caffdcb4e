//! The UMEM memory area and frame ownership tokens.
//!
//! The area is one private anonymous mapping cut into fixed-size chunks
//! (`frame_size`, a power of two). At any time each chunk is owned either by
//! the kernel (it sits in a fill or TX ring) or by userspace. Userspace
//! ownership is represented by a [`Frame`] token: it is not `Clone`, it is
//! created only when a chunk comes back from the kernel (RX or completion
//! ring) or out of the [`super::FramePool`], and it is consumed when the chunk is
//! handed to the kernel. Byte access goes through a token, so two live
//! slices never overlap and no slice points at a chunk the kernel may write.
//!
//! Soundness does not rely on callers: tokens can only be minted and
//! consumed inside this module tree ([`super`]); every token carries the id
//! of the area it belongs to, checked (with the bounds) on every access, so
//! a token of one area can never reach into another; and slices borrow the
//! area, so it cannot be unmapped while one is alive.

use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

/// Source of area ids (0 is never used).
static NEXT_AREA_ID: AtomicU32 = AtomicU32::new(1);

/// One page-aligned anonymous mapping used as UMEM.
pub struct Area {
    ptr: NonNull<u8>,
    len: usize,
    frame_size: u32,
    id: u32,
}

// SAFETY: the mapping is plain memory owned by this value; access to its
// bytes is mediated by `Frame` tokens, which are themselves `Send`, so moving
// the owner to another thread moves nothing that is tied to the creating
// thread.
unsafe impl Send for Area {}

impl Area {
    /// Maps `frames * frame_size` bytes. `frame_size` must be a power of two
    /// between 2048 and 4096 (the kernel's aligned-mode chunk sizes).
    pub(super) fn new(frames: u32, frame_size: u32) -> io::Result<Area> {
        if !frame_size.is_power_of_two() || !(2048..=4096).contains(&frame_size) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("UMEM frame size {frame_size} is not 2048 or 4096"),
            ));
        }
        if frames == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "UMEM needs at least one frame",
            ));
        }
        let len = frames as usize * frame_size as usize;
        // SAFETY: an anonymous private mapping with no address hint has no
        // preconditions; the result is checked against MAP_FAILED below.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr =
            NonNull::new(raw.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned NULL"))?;
        Ok(Area {
            ptr,
            len,
            frame_size,
            id: NEXT_AREA_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// This area's id, carried by its frames.
    #[inline]
    pub(super) fn id(&self) -> u32 {
        self.id
    }

    /// Whether `frame` is a whole chunk of this area.
    #[inline]
    fn owns(&self, frame: &Frame) -> bool {
        frame.area == self.id
            && frame.base.is_multiple_of(u64::from(self.frame_size))
            && frame.base.saturating_add(u64::from(self.frame_size)) <= self.len as u64
    }

    /// The whole area as the raw slice pointer xdpilone registers as UMEM.
    pub fn as_raw(&self) -> NonNull<[u8]> {
        NonNull::slice_from_raw_parts(self.ptr, self.len)
    }

    /// Size of one chunk.
    pub fn frame_size(&self) -> u32 {
        self.frame_size
    }

    /// Number of chunks.
    pub fn frames(&self) -> u32 {
        (self.len / self.frame_size as usize) as u32
    }

    /// Base address (UMEM offset) of the chunk containing `addr`.
    #[inline]
    pub fn chunk_base(&self, addr: u64) -> u64 {
        addr & !(u64::from(self.frame_size) - 1)
    }

    /// Whether `[addr, addr + len)` lies inside one chunk of this area.
    #[inline]
    pub fn contains(&self, addr: u64, len: u32) -> bool {
        let end = addr.saturating_add(u64::from(len));
        addr < self.len as u64
            && end <= self.len as u64
            && self.chunk_base(addr) == self.chunk_base(end.saturating_sub(1).max(addr))
    }

    /// The whole chunk owned by `frame` (empty if `frame` belongs to
    /// another area, which correct code never asks).
    #[inline]
    pub fn chunk<'a>(&'a self, frame: &'a Frame) -> &'a [u8] {
        if !self.owns(frame) {
            return &[];
        }
        // SAFETY: `owns` checked that the chunk lies inside this mapping
        // and that the token belongs to this area. Tokens are minted only
        // inside `xsk` (from the pool, or for chunks the kernel returned),
        // one per chunk, so the chunk is owned by userspace while the token
        // lives; the slice borrows both the token and the area, so no
        // mutable slice of the chunk and no unmap can happen meanwhile.
        unsafe {
            std::slice::from_raw_parts(
                self.ptr.as_ptr().add(frame.base as usize),
                self.frame_size as usize,
            )
        }
    }

    /// The whole chunk owned by `frame`, writable (empty if `frame`
    /// belongs to another area).
    #[inline]
    pub fn chunk_mut<'a>(&'a self, frame: &'a mut Frame) -> &'a mut [u8] {
        if !self.owns(frame) {
            return &mut [];
        }
        // SAFETY: as in `chunk`; the `&mut Frame` borrow makes this the only
        // live slice of this chunk, and chunks of distinct tokens are
        // disjoint (one token per chunk).
        unsafe {
            std::slice::from_raw_parts_mut(
                self.ptr.as_ptr().add(frame.base as usize),
                self.frame_size as usize,
            )
        }
    }

    /// The packet bytes of `frame` (`[offset, offset + len)` of its chunk).
    #[inline]
    pub fn data<'a>(&'a self, frame: &'a Frame) -> &'a [u8] {
        let (start, end) = frame.range();
        self.chunk(frame).get(start..end).unwrap_or(&[])
    }

    /// The packet bytes of `frame`, writable.
    #[inline]
    pub fn data_mut<'a>(&'a self, frame: &'a mut Frame) -> &'a mut [u8] {
        let (start, end) = frame.range();
        match self.chunk_mut(frame).get_mut(start..end) {
            Some(bytes) => bytes,
            None => &mut [],
        }
    }
}

impl Drop for Area {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned; the sockets
        // that registered this area are dropped before it (field order of
        // the owner), and the kernel keeps its own page references.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// Ownership of one UMEM chunk by userspace, plus the packet it holds.
///
/// The packet occupies `[offset, offset + len)` of the chunk; the bytes
/// before `offset` are headroom for pushing headers.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "dropping a Frame leaks its UMEM chunk: free it or transmit it"]
pub struct Frame {
    area: u32,
    base: u64,
    offset: u32,
    len: u32,
}

impl Frame {
    /// Takes ownership of a chunk the kernel returned (RX descriptor or
    /// completion address). Returns `None` if the address is not inside
    /// `area` (a corrupt descriptor: the caller counts it).
    #[inline]
    pub(super) fn from_kernel(area: &Area, addr: u64, len: u32) -> Option<Frame> {
        if !area.contains(addr, len) {
            return None;
        }
        let base = area.chunk_base(addr);
        Some(Frame {
            area: area.id,
            base,
            offset: (addr - base) as u32,
            len,
        })
    }

    /// A token for a chunk the pool hands out (crate-internal: only the
    /// pool and the kernel returns mint tokens).
    #[inline]
    pub(super) fn owned(area: u32, base: u64, offset: u32) -> Frame {
        Frame {
            area,
            base,
            offset,
            len: 0,
        }
    }

    /// UMEM address of the packet start, as the kernel wants it in a TX
    /// descriptor.
    #[inline]
    pub fn addr(&self) -> u64 {
        self.base + u64::from(self.offset)
    }

    /// UMEM address of the chunk.
    #[inline]
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Id of the area the chunk belongs to.
    #[inline]
    pub(super) fn area(&self) -> u32 {
        self.area
    }

    /// Packet length.
    #[inline]
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the packet is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes available in front of the packet.
    #[inline]
    pub fn headroom(&self) -> u32 {
        self.offset
    }

    /// Places the packet at `offset` with `len` bytes (both within the
    /// chunk of `frame_size` bytes). Returns false and changes nothing when
    /// they do not fit.
    #[inline]
    pub fn set_bounds(&mut self, offset: u32, len: u32, frame_size: u32) -> bool {
        match offset.checked_add(len) {
            Some(end) if end <= frame_size => {
                self.offset = offset;
                self.len = len;
                true
            }
            _ => false,
        }
    }

    /// Grows the packet at the front by `n` bytes of headroom.
    #[inline]
    pub fn push_head(&mut self, n: u32) -> bool {
        if n > self.offset {
            return false;
        }
        self.offset -= n;
        self.len += n;
        true
    }

    /// Shrinks the packet at the front by `n` bytes.
    #[inline]
    pub fn pull_head(&mut self, n: u32) -> bool {
        if n > self.len {
            return false;
        }
        self.offset += n;
        self.len -= n;
        true
    }

    #[inline]
    fn range(&self) -> (usize, usize) {
        let start = self.offset as usize;
        (start, start + self.len as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_disjoint_and_bounded() {
        let area = Area::new(8, 4096).expect("mmap");
        let mut a = Frame::owned(area.id(), 0, 256);
        let mut b = Frame::owned(area.id(), 4096, 256);
        assert_ne!(a.base(), b.base());
        assert!(a.set_bounds(256, 100, area.frame_size()));
        assert!(b.set_bounds(256, 100, area.frame_size()));
        area.data_mut(&mut a).fill(0xa5);
        area.data_mut(&mut b).fill(0x5a);
        assert!(area.data(&a).iter().all(|&x| x == 0xa5));
        assert!(area.data(&b).iter().all(|&x| x == 0x5a));
        assert!(!a.set_bounds(4000, 200, area.frame_size()));
        assert!(a.push_head(50));
        assert_eq!(a.headroom(), 206);
        assert_eq!(a.len(), 150);
        assert!(!a.push_head(207));
        assert!(a.pull_head(150));
        assert!(!a.pull_head(1));
    }

    #[test]
    fn kernel_addresses_are_checked() {
        let area = Area::new(4, 2048).expect("mmap");
        let f = Frame::from_kernel(&area, 2048 + 256, 64).expect("inside");
        assert_eq!(f.base(), 2048);
        assert_eq!(f.headroom(), 256);
        assert_eq!(f.addr(), 2048 + 256);
        // Crosses a chunk boundary.
        assert!(Frame::from_kernel(&area, 2048 + 2000, 100).is_none());
        // Outside the area.
        assert!(Frame::from_kernel(&area, 4 * 2048, 1).is_none());
        assert!(Frame::from_kernel(&area, u64::MAX - 3, 8).is_none());
    }

    #[test]
    fn a_frame_of_another_area_reaches_nothing() {
        let one = Area::new(2, 4096).expect("mmap");
        let small = Area::new(1, 4096).expect("mmap");
        let mut far = Frame::owned(one.id(), 4096, 0);
        assert!(far.set_bounds(0, 64, one.frame_size()));
        assert_eq!(one.data(&far).len(), 64);
        assert!(
            small.data(&far).is_empty(),
            "another area's token is refused"
        );
        assert!(small.chunk_mut(&mut far).is_empty());
        let outside = Frame::owned(small.id(), 8 * 4096, 0);
        assert!(
            small.chunk(&outside).is_empty(),
            "bounds are checked always"
        );
    }

    #[test]
    fn bad_geometry_is_rejected() {
        assert!(Area::new(4, 3000).is_err());
        assert!(Area::new(0, 4096).is_err());
    }
}
