//! CPU time and resident memory of a process and all its descendants, from /proc: the
//! server's cost is the primary plus every worker.

use std::fs;

/// CPU seconds (user + system) and RSS bytes of a process tree at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct TreeUsage {
    /// User + system CPU seconds consumed so far by every process in the tree.
    pub cpu_seconds: f64,
    /// Sum of the processes' resident set sizes.
    pub rss_bytes: u64,
    /// How many processes the tree has.
    pub processes: usize,
}

/// Reads the usage of `root` and its descendants (0 for everything if it is gone).
/// The PID of the worker with `--worker-index index` among `root`'s children.
pub fn worker_pid(root: u32, index: usize) -> Option<u32> {
    let wanted = format!("--worker-index\0{index}\0");
    fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            let parent = fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let rest = stat[stat.rfind(')')? + 2..].to_owned();
                    rest.split(' ').nth(1)?.parse::<u32>().ok()
                });
            parent == Some(root)
                && fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(&wanted))
        })
}

pub fn tree_usage(root: u32) -> TreeUsage {
    let ticks = clock_ticks();
    let stats: Vec<(u32, u32, u64)> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // Fields after the command name, which may contain spaces and parentheses.
            let rest = &stat[stat.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split(' ').collect();
            let ppid = fields.get(1)?.parse().ok()?;
            let utime: u64 = fields.get(11)?.parse().ok()?;
            let stime: u64 = fields.get(12)?.parse().ok()?;
            Some((pid, ppid, utime + stime))
        })
        .collect();
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            stats
                .iter()
                .filter(|(_, ppid, _)| *ppid == parent)
                .map(|(pid, _, _)| *pid),
        );
        i += 1;
    }
    let mut usage = TreeUsage::default();
    for pid in &tree {
        if let Some((_, _, cpu)) = stats.iter().find(|(p, _, _)| p == pid) {
            usage.cpu_seconds += *cpu as f64 / ticks;
            usage.processes += 1;
        }
        usage.rss_bytes += rss_bytes(*pid);
    }
    usage
}

/// The calling process's own usage (the harness reports its CPU too).
pub fn own_usage() -> TreeUsage {
    tree_usage(std::process::id())
}

fn rss_bytes(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}
