//! The plugin process's memory and CPU time, as the kernel accounts them.

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

/// CPU time the process has used so far, user and system, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may
    // hold spaces: state is the first, utime the 12th and stime the 13th.
    let (_, fields) = stat.rsplit_once(')')?;
    let mut fields = fields.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    let ticks = rustix::param::clock_ticks_per_second();
    Some((user + system) as f64 / ticks as f64)
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
        let before = cpu_seconds(pid).unwrap();
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(50) {
            std::hint::black_box(spin.elapsed());
        }
        assert!(cpu_seconds(pid).unwrap() > before);
    }
}
