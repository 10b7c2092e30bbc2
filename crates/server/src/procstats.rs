//! Process and socket statistics from Linux `/proc` (all best effort: `None` elsewhere or on parse failure).

use std::time::Instant;

/// Resident set size of this process in bytes (`/proc/self/status` `VmRSS`).
pub(crate) fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    kib_field(&status, "VmRSS:")
}

/// Total memory of the machine in bytes (`/proc/meminfo` `MemTotal`).
pub(crate) fn total_memory_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    kib_field(&meminfo, "MemTotal:")
}

/// This machine's host name (`/proc/sys/kernel/hostname`).
pub(crate) fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line
        .get(name.len()..)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// CPU time of this process in clock ticks (`/proc/self/stat` utime + stime).
fn process_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may contain spaces; fields after the closing parenthesis are plain.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')' the first field is state (field 3), so utime (14) and stime (15) are at 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Busy and total ticks of all CPUs (`/proc/stat` first line).
fn system_cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().sum();
    // idle + iowait
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

/// Linux exposes CPU times to user space in USER_HZ, which is 100 on every mainstream architecture.
const USER_HZ: f64 = 100.0;

/// Turns successive CPU readings into loads in 0..1 (as sFlow-RT's `cpuLoadProcess` / `cpuLoadSystem`).
#[derive(Debug)]
pub(crate) struct CpuSampler {
    last: Option<(Instant, u64, (u64, u64))>,
    pub process_load: f64,
    pub system_load: f64,
}

impl Default for CpuSampler {
    fn default() -> Self {
        Self::new()
    }
}

impl CpuSampler {
    pub(crate) fn new() -> Self {
        Self {
            last: None,
            process_load: 0.0,
            system_load: 0.0,
        }
    }

    /// Takes a reading; loads are averages since the previous one.
    pub(crate) fn sample(&mut self) {
        let now = Instant::now();
        let (Some(process), Some(system)) = (process_cpu_ticks(), system_cpu_ticks()) else {
            return;
        };
        if let Some((then, last_process, last_system)) = self.last {
            let seconds = now.duration_since(then).as_secs_f64();
            let cpus =
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get) as f64;
            if seconds > 0.0 {
                let used = process.saturating_sub(last_process) as f64 / USER_HZ;
                self.process_load = (used / seconds / cpus).clamp(0.0, 1.0);
            }
            let busy = system.0.saturating_sub(last_system.0) as f64;
            let total = system.1.saturating_sub(last_system.1) as f64;
            if total > 0.0 {
                self.system_load = (busy / total).clamp(0.0, 1.0);
            }
        }
        self.last = Some((now, process, system));
    }
}

/// The kernel's receive-drop counter of a UDP socket, found by its inode in `/proc/net/udp` and `udp6`.
pub(crate) fn udp_socket_drops(inode: u64) -> Option<u64> {
    ["/proc/net/udp", "/proc/net/udp6"].iter().find_map(|path| {
        let table = std::fs::read_to_string(path).ok()?;
        udp_drops_in_table(&table, inode)
    })
}

/// Parses a `/proc/net/udp`-format table: column 10 is the inode, the last column the drop count.
pub(crate) fn udp_drops_in_table(table: &str, inode: u64) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let line_inode: u64 = fields.get(9)?.parse().ok()?;
        if line_inode != inode {
            return None;
        }
        fields.last()?.parse().ok()
    })
}

/// The inode of an open socket (`/proc/self/fd/N` links to `socket:[INODE]`).
pub(crate) fn socket_inode(fd: i32) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).ok()?;
    let text = link.to_str()?;
    text.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// `net.core.rmem_max`: the largest receive buffer an unprivileged `SO_RCVBUF` can get.
pub(crate) fn rmem_max() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_column_is_found_by_inode() {
        let table = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
            1234: 00000000:18BB 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17\n\
            1235: 00000000:18BC 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 999 2 0000000000000000 3\n";
        assert_eq!(udp_drops_in_table(table, 4242), Some(17));
        assert_eq!(udp_drops_in_table(table, 999), Some(3));
        assert_eq!(udp_drops_in_table(table, 1), None);
        assert_eq!(udp_drops_in_table("garbage", 1), None);
    }

    #[test]
    fn kib_fields_parse() {
        assert_eq!(
            kib_field("Name: x\nVmRSS:\t  2048 kB\n", "VmRSS:"),
            Some(2048 * 1024)
        );
        assert_eq!(kib_field("VmRSS: lots", "VmRSS:"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn live_readings_exist_on_linux() {
        assert!(resident_bytes().is_some_and(|b| b > 0));
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").ok();
        let fd = socket.as_ref().map(std::os::fd::AsRawFd::as_raw_fd);
        let inode = fd.and_then(socket_inode);
        assert!(inode.is_some(), "no inode for a bound socket");
        assert_eq!(inode.and_then(udp_socket_drops), Some(0));
    }
}
