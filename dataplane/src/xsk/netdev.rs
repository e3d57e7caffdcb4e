//! Interface lookups the AF_XDP layer needs (name to index, RX queues).

use std::ffi::CString;
use std::io;

/// The interface index of `name` in the current network namespace.
pub fn ifindex(name: &str) -> io::Result<u32> {
    let cname = CString::new(name).map_err(|_| {
        io::Error::new(io::ErrorKind::InvalidInput, "interface name has a NUL byte")
    })?;
    // SAFETY: `cname` is a valid NUL-terminated string for the duration of
    // the call; the function only reads it.
    let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    if index == 0 {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no interface named {name:?} in this network namespace"),
        ));
    }
    Ok(index)
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
    let read = |file: &str| {
        std::fs::read_to_string(format!("{base}/{file}"))
            .map(|s| s.trim().to_owned())
            .map_err(|e| io::Error::new(e.kind(), format!("{base}/{file}: {e}")))
    };
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
