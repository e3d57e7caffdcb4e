//! Kernel protocol counters of a namespace (`/proc/net/snmp` and
//! `/proc/net/snmp6`), e.g. `Udp.InCsumErrors`: the proof that frames
//! arrived with correct checksums.

use std::collections::BTreeMap;

use anyhow::Result;

use crate::World;

/// Counters by name: `Proto.Field` from `/proc/net/snmp` (e.g.
/// `Udp.InCsumErrors`), and the names of `/proc/net/snmp6` as they are
/// (e.g. `Udp6InCsumErrors`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snmp(pub BTreeMap<String, u64>);

impl Snmp {
    /// A counter's value; 0 if absent.
    pub fn get(&self, key: &str) -> u64 {
        self.0.get(key).copied().unwrap_or(0)
    }

    /// UDP datagrams dropped for a bad checksum (IPv4 + IPv6).
    pub fn udp_csum_errors(&self) -> u64 {
        self.get("Udp.InCsumErrors") + self.get("Udp6InCsumErrors")
    }

    /// UDP receive errors of any kind (IPv4 + IPv6).
    pub fn udp_in_errors(&self) -> u64 {
        self.get("Udp.InErrors") + self.get("Udp6InErrors")
    }

    /// TCP segments dropped for a bad checksum.
    pub fn tcp_csum_errors(&self) -> u64 {
        self.get("Tcp.InCsumErrors")
    }

    /// Counter increases since `before` (saturating).
    pub fn since(&self, before: &Snmp) -> Snmp {
        Snmp(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), v.saturating_sub(before.get(k))))
                .collect(),
        )
    }

    /// Adds the contents of `/proc/net/snmp` (header/value line pairs).
    pub fn parse_snmp(&mut self, text: &str) {
        let mut lines = text.lines();
        while let (Some(head), Some(vals)) = (lines.next(), lines.next()) {
            let (Some((proto, names)), Some((_, values))) =
                (head.split_once(':'), vals.split_once(':'))
            else {
                continue;
            };
            for (name, value) in names.split_whitespace().zip(values.split_whitespace()) {
                if let Ok(v) = value.parse::<i64>() {
                    // A few fields (e.g. Tcp.MaxConn = -1) are signed.
                    self.0.insert(format!("{proto}.{name}"), v.max(0) as u64);
                }
            }
        }
    }

    /// Adds the contents of `/proc/net/snmp6` (`Name value` lines).
    pub fn parse_snmp6(&mut self, text: &str) {
        for line in text.lines() {
            let mut it = line.split_whitespace();
            if let (Some(k), Some(v)) = (it.next(), it.next())
                && let Ok(v) = v.parse::<u64>()
            {
                self.0.insert(k.to_string(), v);
            }
        }
    }
}

impl World {
    /// Reads the protocol counters of namespace `ns`.
    pub fn snmp(&self, ns: &str) -> Result<Snmp> {
        let mut s = Snmp::default();
        s.parse_snmp(&self.exec(ns, &["cat", "/proc/net/snmp"])?.stdout);
        // snmp6 is missing when IPv6 is off: not an error.
        let v6 = self.try_exec(ns, &["cat", "/proc/net/snmp6"])?;
        if v6.success() {
            s.parse_snmp6(&v6.stdout);
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_files() {
        let mut s = Snmp::default();
        s.parse_snmp(
            "Ip: Forwarding DefaultTTL\nIp: 2 64\n\
             Tcp: RtoAlgorithm MaxConn InCsumErrors\nTcp: 1 -1 4\n\
             Udp: InDatagrams NoPorts InErrors RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n\
             Udp: 10 0 3 0 0 2 0 0\n",
        );
        s.parse_snmp6("Udp6InDatagrams                 \t5\nUdp6InCsumErrors                \t1\n");
        assert_eq!(s.get("Udp.InDatagrams"), 10);
        assert_eq!(s.get("Tcp.MaxConn"), 0);
        assert_eq!(s.udp_csum_errors(), 3);
        assert_eq!(s.udp_in_errors(), 3);
        assert_eq!(s.tcp_csum_errors(), 4);
        assert_eq!(s.get("Nope"), 0);
        let mut later = s.clone();
        later.0.insert("Udp.InCsumErrors".into(), 7);
        assert_eq!(later.since(&s).udp_csum_errors(), 5);
    }
}
