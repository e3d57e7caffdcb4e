//! Wire formats: zero-copy, bounds-checked views of every header the
//! dataplane parses and writes, checksum helpers, and the decode walk.
//!
//! # Layout
//! One file per protocol, each with the same shape:
//! - a `Packet<T: AsRef<[u8]>>` view over a byte buffer, with a private
//!   `field` table of byte ranges, `HEADER_LEN`, `new_unchecked`,
//!   `new_checked` (validates the length, RX only), `check_len` and
//!   `into_inner`; getters need `AsRef<[u8]>`, setters and `payload_mut` need
//!   `AsMut<[u8]>`;
//! - a `Repr`, a plain-value description of the header, with `parse` (from a
//!   checked packet), `buffer_len` and `emit` (into a packet view).
//!
//! | module | protocol | reference |
//! |---|---|---|
//! | [`ethernet`] | Ethernet II | IEEE 802.3 clause 3, RFC 894 |
//! | [`vlan`] | one 802.1Q / 802.1ad tag (QinQ = two tags) | IEEE 802.1Q clause 9 |
//! | [`arp`] | ARP for Ethernet/IPv4 | RFC 826 |
//! | [`ipv4`] | IPv4 | RFC 791 |
//! | [`ipv6`] | IPv6 fixed header | RFC 8200 |
//! | [`udp`] | UDP | RFC 768 |
//! | [`tcp`] | TCP (ports, flags, checksum) | RFC 9293 (was RFC 793) |
//! | [`icmp`] | ICMPv4 and ICMPv6 | RFC 792, RFC 1191, RFC 4443 |
//! | [`vxlan`] | VXLAN | RFC 7348 |
//! | [`checksum`] | Internet checksum | RFC 1071, RFC 1624 |
//! | [`frame`] | the decode walk: [`parse_frame`] -> [`FrameMeta`] | |
//!
//! # Guarantees
//! - **Bounds-checked.** Every view is over a slice; `new_checked` checks the
//!   fixed header (and for IPv4/IPv6/UDP/TCP the lengths the header itself
//!   announces) so that every getter and `payload` of a checked view is in
//!   bounds. Views made with `new_unchecked` panic on a too-short buffer, as
//!   slice indexing does: use them only on buffers the caller sized (TX).
//! - **No panics on received data.** [`parse_frame`] and [`parse_vxlan`]
//!   never panic, whatever the input (property-tested on arbitrary and
//!   mutated frames).
//! - **No allocation.** Nothing in this module allocates, except the test
//!   frame builders in [`build`] (for traces, tests and benchmarks).
//! - **No `unsafe`.**
//! - **Byte order.** Multi-byte fields are big-endian on the wire (network
//!   byte order); getters return host values and setters take host values.
//!   Checksums are returned as the host value of the 16-bit field.
//! - **Checksums are not verified by the walk.** [`parse_frame`] checks
//!   structure and lengths only; checksum verification and completion are
//!   separate, explicit calls in [`checksum`].

use core::fmt;
use core::ops::{Range, RangeFrom};

#[macro_use]
mod macros;

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod frame;
pub mod icmp;
pub mod ipv4;
pub mod ipv6;
pub mod tcp;
pub mod udp;
pub mod vlan;
pub mod vxlan;

pub mod build;

#[cfg(test)]
mod tests;

pub use ethernet::EthernetAddress;
pub use frame::{
    FrameMeta, L3Meta, L4Meta, Malformed, Tags, VlanTag, VxlanMeta, parse_frame, parse_vxlan,
};

/// A byte range of a fixed-size header field.
type Field = Range<usize>;
/// The bytes from a fixed offset to the end of the buffer.
type Rest = RangeFrom<usize>;

/// A buffer was too short, or a length or version field was invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Error;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("truncated or malformed packet")
    }
}

impl std::error::Error for Error {}

/// Result type of the wire views.
pub type Result<T> = core::result::Result<T, Error>;

use xsdn_common::ethertype;

enum_with_unknown! {
    /// Ethernet frame type (IEEE 802 EtherType registry).
    pub enum EtherType(u16) {
        /// Internet Protocol version 4 (RFC 894).
        Ipv4 = ethertype::IPV4,
        /// Address Resolution Protocol (RFC 826).
        Arp = ethertype::ARP,
        /// IEEE 802.1Q customer VLAN tag (C-tag).
        Vlan = ethertype::VLAN,
        /// IEEE 802.1ad service VLAN tag (S-tag, the outer tag of QinQ).
        QinQ = ethertype::QINQ,
        /// Internet Protocol version 6 (RFC 2464).
        Ipv6 = ethertype::IPV6,
    }
}

impl EtherType {
    /// True for the tag protocol identifiers the walk treats as a VLAN tag
    /// (802.1Q and 802.1ad).
    #[inline]
    pub const fn is_vlan_tpid(self) -> bool {
        matches!(self, EtherType::Vlan | EtherType::QinQ)
    }
}

enum_with_unknown! {
    /// IP protocol number / IPv6 next header (IANA "Assigned Internet
    /// Protocol Numbers").
    pub enum IpProtocol(u8) {
        /// IPv6 Hop-by-Hop options (RFC 8200 section 4.3).
        HopByHop = 0,
        /// ICMP for IPv4 (RFC 792).
        Icmp = 1,
        /// IGMP (RFC 2236).
        Igmp = 2,
        /// TCP (RFC 9293).
        Tcp = 6,
        /// UDP (RFC 768).
        Udp = 17,
        /// IPv6 Routing header (RFC 8200 section 4.4).
        Ipv6Route = 43,
        /// IPv6 Fragment header (RFC 8200 section 4.5).
        Ipv6Frag = 44,
        /// Encapsulating Security Payload (RFC 4303).
        Esp = 50,
        /// Authentication Header (RFC 4302).
        Ah = 51,
        /// ICMP for IPv6 (RFC 4443).
        Icmpv6 = 58,
        /// IPv6 "no next header" (RFC 8200 section 4.7).
        Ipv6NoNxt = 59,
        /// IPv6 Destination options (RFC 8200 section 4.6).
        Ipv6Opts = 60,
    }
}

/// Reads a big-endian `u16` at `field` (two bytes).
#[inline]
fn read_u16(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([data[at], data[at + 1]])
}

/// Reads a big-endian `u32` at `at` (four bytes).
#[inline]
fn read_u32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// Writes a big-endian `u16` at `at`.
#[inline]
fn write_u16(data: &mut [u8], at: usize, value: u16) {
    data[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

/// Writes a big-endian `u32` at `at`.
#[inline]
fn write_u32(data: &mut [u8], at: usize, value: u32) {
    data[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

/// Copies a fixed-size array out of `data[at..at + N]`.
#[inline]
fn read_array<const N: usize>(data: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&data[at..at + N]);
    out
}
