//! Facts about a network device, by name: its index, its active RX queues,
//! its MAC address and MTU.
//!
//! Read from sysfs (`/sys/class/net/<name>/`), which shows the devices of
//! the network namespace sysfs was mounted in: the process's own when it
//! runs on the host or was started with `ip netns exec` (which remounts
//! `/sys`). Safe code only; the control plane's netlink edge is the
//! authority for everything it follows live.

use std::io;

/// Reads `/sys/class/net/<name>/<file>`, trimmed.
fn sysfs(name: &str, file: &str) -> io::Result<String> {
    if name.is_empty() || name.contains(['/', '\0']) || name == "." || name == ".." {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not an interface name"),
        ));
    }
    let path = format!("/sys/class/net/{name}/{file}");
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => io::Error::new(
                io::ErrorKind::NotFound,
                format!("no interface named {name:?} in this network namespace"),
            ),
            kind => io::Error::new(kind, format!("{path}: {e}")),
        })
}

/// The interface index of `name` in this network namespace.
pub fn ifindex(name: &str) -> io::Result<u32> {
    let text = sysfs(name, "ifindex")?;
    text.parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("/sys/class/net/{name}/ifindex: {text:?}"),
        )
    })
}

/// Number of active RX queues of `name`, read from
/// `/sys/class/net/<name>/queues/rx-*` (1 when sysfs does not say; veth
/// has 2 queues allocated but 1 active by default).
pub fn rx_queues(name: &str) -> u32 {
    let dir = format!("/sys/class/net/{name}/queues");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 1;
    };
    let count = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
        .count() as u32;
    count.max(1)
}

/// MAC address and MTU of `name`, read from `/sys/class/net/<name>/`.
pub fn mac_and_mtu(name: &str) -> io::Result<([u8; 6], u32)> {
    let base = format!("/sys/class/net/{name}");
    let read = |file: &str| sysfs(name, file);
    let text = read("address")?;
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        let part = parts.next().unwrap_or("");
        *byte = u8::from_str_radix(part, 16).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{base}/address: {text:?}"),
            )
        })?;
    }
    let mtu = read("mtu")?
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("{base}/mtu")))?;
    Ok((mac, mtu))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_found_and_bad_names_are_refused() {
        // `lo` exists in every network namespace and is always index 1.
        assert_eq!(ifindex("lo").unwrap(), 1);
        let (mac, mtu) = mac_and_mtu("lo").unwrap();
        assert_eq!(mac, [0; 6]);
        assert!(mtu >= 1500);
        for bad in ["", "..", "a/b", "lo\0"] {
            assert_eq!(
                ifindex(bad).unwrap_err().kind(),
                io::ErrorKind::InvalidInput,
                "{bad:?}"
            );
        }
        assert_eq!(
            ifindex("xsdn-no-such-if").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }
}
