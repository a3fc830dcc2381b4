//! The plugin process's memory, as the kernel accounts it.

/// Resident memory now (`VmRSS`), in MiB.
pub fn resident_mib(pid: u32) -> Option<f64> {
    status_kib(pid, "VmRSS:").map(kib_to_mib)
}

/// The most resident memory the process ever had (`VmHWM`), in MiB.
pub fn peak_resident_mib(pid: u32) -> Option<f64> {
    status_kib(pid, "VmHWM:").map(kib_to_mib)
}

fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A `kB` line of `/proc/<pid>/status`.
fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        let now = resident_mib(pid).unwrap();
        let peak = peak_resident_mib(pid).unwrap();
        assert!(now > 0.0 && peak >= now);
    }
}
