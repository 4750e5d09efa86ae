//! What Linux's /proc says about a process: its state, process group, session and start time
//! (`/proc/<pid>/stat`), and the boot id. Enough to tell a process devenv started from a
//! stranger that got the same pid later.

use std::path::Path;

/// The fields of `/proc/<pid>/stat` the supervisor needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// State letter (`R`, `S`, `Z` for a zombie...), field 3.
    pub state: char,
    /// Process group id, field 5.
    pub pgrp: i32,
    /// Session id, field 6.
    pub session: i32,
    /// Start time in clock ticks after boot, field 22.
    pub start_time: u64,
}

impl ProcStat {
    /// Whether the process has exited and only waits to be reaped.
    pub fn is_zombie(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }
}

/// Parses the text of `/proc/<pid>/stat`. The command name (field 2) is in parentheses and
/// may itself hold spaces and parentheses, so the fields are counted after the last `)`.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let after_name = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `fields[0]` is field 3.
    let field = |number: usize| fields.get(number - 3).copied();
    Some(ProcStat {
        state: field(3)?.chars().next()?,
        pgrp: field(5)?.parse().ok()?,
        session: field(6)?.parse().ok()?,
        start_time: field(22)?.parse().ok()?,
    })
}

/// The stat of a live or zombie process, `None` when there is no such process.
pub fn stat(pid: i32) -> Option<ProcStat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Whether `pid` is a process that has not exited (zombies count as exited).
pub fn is_running(pid: i32) -> bool {
    stat(pid).is_some_and(|s| !s.is_zombie())
}

/// This boot's id: changes with every reboot, so a pid recorded before one means nothing.
pub fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|id| id.trim().to_string())
}

/// The processes of session `session` that have not exited, with their stat.
pub fn session_members(session: i32) -> Vec<(i32, ProcStat)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .filter(|(_, s)| s.session == session && !s.is_zombie())
        .collect()
}

/// The TCP ports that processes `pids` listen on (sorted, without repeats).
pub fn listening_ports(pids: &[i32]) -> Vec<u16> {
    let sockets = crate::ports::listening_sockets();
    let mut ports = Vec::new();
    for pid in pids {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(link) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let inode = link
                .to_str()
                .and_then(|l| l.strip_prefix("socket:["))
                .and_then(|l| l.strip_suffix(']'))
                .and_then(|i| i.parse::<u64>().ok());
            if let Some(inode) = inode {
                ports.extend(sockets.iter().filter(|(_, i)| *i == inode).map(|(p, _)| *p));
            }
        }
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// Whether /proc is there to ask (Linux).
pub fn available() -> bool {
    Path::new("/proc/self/stat").exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_name() {
        let text = "4242 (we(i)rd name) S 1 4242 4242 0 -1 4194560 110 0 0 0 0 0 0 0 20 0 1 0 987654 2297856 204 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        assert_eq!(
            parse_stat(text),
            Some(ProcStat {
                state: 'S',
                pgrp: 4242,
                session: 4242,
                start_time: 987654
            })
        );
        assert_eq!(parse_stat("12 (sh) Z 1"), None, "too short");
    }

    #[test]
    fn this_process_is_seen_with_its_start_time() {
        let own = stat(std::process::id() as i32).unwrap();
        assert!(!own.is_zombie() && own.start_time > 0);
        assert!(is_running(std::process::id() as i32));
        assert_eq!(boot_id().map(|id| id.len()), Some(36));
    }

    #[test]
    fn the_ports_a_process_listens_on_are_found() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let own = std::process::id() as i32;
        assert!(listening_ports(&[own]).contains(&port));
        drop(listener);
        assert!(!listening_ports(&[own]).contains(&port));
    }
}
