//! Bounds-checked reads of packet bytes, for XDP and tc alike.

use aya_ebpf::programs::{TcContext, XdpContext};

/// Upper bound on header offsets read (keeps the verifier's ranges small).
pub const MAX_PARSE: usize = 128;
/// Ethernet header.
pub const ETH_HLEN: usize = 14;

/// A context whose packet bytes lie between two addresses.
pub trait Packet {
    /// Address of the first byte.
    fn start(&self) -> usize;
    /// Address one past the last byte.
    fn end(&self) -> usize;
}

impl Packet for XdpContext {
    #[inline(always)]
    fn start(&self) -> usize {
        self.data()
    }
    #[inline(always)]
    fn end(&self) -> usize {
        self.data_end()
    }
}

impl Packet for TcContext {
    #[inline(always)]
    fn start(&self) -> usize {
        self.data()
    }
    #[inline(always)]
    fn end(&self) -> usize {
        self.data_end()
    }
}

/// `N` bytes at `offset`, or `None` past the end (or past [`MAX_PARSE`],
/// which keeps the verifier's ranges small). One bounds check covers all
/// `N` bytes, in the `data + offset + N > data_end` form the verifier
/// learns a range from.
#[inline(always)]
pub fn read<const N: usize, P: Packet>(p: &P, offset: usize) -> Option<[u8; N]> {
    let start = p.start();
    if offset >= MAX_PARSE || start + offset + N > p.end() {
        return None;
    }
    // SAFETY: `start + offset + N <= end` was checked above, so the N
    // bytes are inside the packet; unaligned read of a byte array.
    Some(unsafe { core::ptr::read_unaligned((start + offset) as *const [u8; N]) })
}

#[inline(always)]
pub fn read_u8<P: Packet>(p: &P, offset: usize) -> Option<u8> {
    read::<1, P>(p, offset).map(|[byte]| byte)
}

#[inline(always)]
pub fn read_be16<P: Packet>(p: &P, offset: usize) -> Option<u16> {
    read(p, offset).map(u16::from_be_bytes)
}

#[inline(always)]
pub fn read_be32<P: Packet>(p: &P, offset: usize) -> Option<u32> {
    read(p, offset).map(u32::from_be_bytes)
}

/// Destination and source MAC at `offset`.
#[inline(always)]
pub fn macs<P: Packet>(p: &P, offset: usize) -> Option<([u8; 6], [u8; 6])> {
    let both: [u8; 12] = read(p, offset)?;
    let mut dst = [0u8; 6];
    let mut src = [0u8; 6];
    dst.copy_from_slice(&both[..6]);
    src.copy_from_slice(&both[6..]);
    Some((dst, src))
}

/// True for group (broadcast, multicast) addresses.
#[inline(always)]
pub fn is_group(mac: &[u8; 6]) -> bool {
    mac[0] & 1 != 0
}
