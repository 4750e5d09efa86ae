//! Reading app logs (`.devenv/logs/<app>.log`) as they grow: whole lines only, in order,
//! across the app's restarts (they append to the same file) and across rotation (the log is
//! moved to `<app>.log.1` and a new one started: the old file is read to its end, then the
//! new one from its start). Polled: a log is a plain file that other processes write.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often followed logs are read.
pub const POLL: Duration = Duration::from_millis(100);

/// One log file followed from a position.
#[derive(Debug)]
pub struct LogFollower {
    path: PathBuf,
    /// The open file and its inode, once it exists.
    file: Option<(File, u64)>,
    /// Bytes of a line not finished yet.
    pending: Vec<u8>,
}

impl LogFollower {
    /// Follows `path` from its current end: only what is written from now on.
    pub fn from_end(path: &Path) -> Self {
        let mut follower = Self::from_start(path);
        if let Some((file, _)) = &mut follower.file {
            let _ = file.seek(SeekFrom::End(0));
        }
        follower
    }

    /// Follows `path` from its start (a log that does not exist yet is waited for).
    pub fn from_start(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            file: open(path),
            pending: Vec::new(),
        }
    }

    /// The whole lines written since the last call (none when the log does not exist yet).
    pub fn read_lines(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.file.is_none() {
            self.file = open(&self.path);
        }
        self.drain(&mut lines);
        let current = std::fs::metadata(&self.path).ok();
        let Some((file, inode)) = &mut self.file else {
            return lines;
        };
        match current {
            // Rotated: the old file was read to its end above; a last unfinished line ends
            // with it, and the new file is read from its start.
            Some(meta) if meta.ino() != *inode => {
                self.flush(&mut lines);
                self.file = open(&self.path);
                self.drain(&mut lines);
            }
            // Truncated in place: start again from its beginning.
            Some(meta) if file.stream_position().is_ok_and(|pos| meta.len() < pos) => {
                let _ = file.seek(SeekFrom::Start(0));
                self.pending.clear();
                self.drain(&mut lines);
            }
            _ => {}
        }
        lines
    }

    /// Reads the open file to its end, moving whole lines into `lines`.
    fn drain(&mut self, lines: &mut Vec<String>) {
        let Some((file, _)) = &mut self.file else {
            return;
        };
        let mut bytes = Vec::new();
        if file.read_to_end(&mut bytes).is_err() {
            return;
        }
        self.pending.extend_from_slice(&bytes);
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            lines.push(text(&line[..end]));
        }
    }

    /// Ends the unfinished line, if any.
    fn flush(&mut self, lines: &mut Vec<String>) {
        if !self.pending.is_empty() {
            lines.push(text(&self.pending));
            self.pending.clear();
        }
    }
}

fn open(path: &Path) -> Option<(File, u64)> {
    let file = File::open(path).ok()?;
    let inode = file.metadata().ok()?.ino();
    Some((file, inode))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_end_matches('\r')
        .to_string()
}

/// The last `count` lines of a log (all of them without `count`); none when it is missing.
pub fn last_lines(path: &Path, count: Option<u64>) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let content = String::from_utf8_lossy(&bytes);
    let lines: Vec<String> = content
        .lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect();
    let skip = count.map_or(0, |n| lines.len().saturating_sub(n as usize));
    lines.into_iter().skip(skip).collect()
}

/// The logs of several apps, followed together.
#[derive(Debug)]
pub struct AppLogs {
    /// App names and their followers, in a fixed order.
    followers: Vec<(String, LogFollower)>,
}

impl AppLogs {
    /// Follows the logs of `apps` of the project at `root` from their current ends.
    pub fn from_end(root: &Path, apps: &[String]) -> Self {
        Self {
            followers: apps
                .iter()
                .map(|app| {
                    (
                        app.clone(),
                        LogFollower::from_end(&super::log_path(root, app)),
                    )
                })
                .collect(),
        }
    }

    /// The next lines written to any of the logs, as (app index, line), each app's in order;
    /// waits until there is at least one.
    pub async fn next_lines(&mut self) -> Vec<(usize, String)> {
        loop {
            let lines = self.read_now();
            if !lines.is_empty() {
                return lines;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The lines written to any of the logs since the last read, without waiting.
    pub fn read_now(&mut self) -> Vec<(usize, String)> {
        self.followers
            .iter_mut()
            .enumerate()
            .flat_map(|(index, (_, follower))| {
                follower.read_lines().into_iter().map(move |l| (index, l))
            })
            .collect()
    }

    /// How many logs are followed.
    pub fn len(&self) -> usize {
        self.followers.len()
    }

    /// Whether no log is followed.
    pub fn is_empty(&self) -> bool {
        self.followers.is_empty()
    }

    /// The name of the app at `index`.
    pub fn name(&self, index: usize) -> &str {
        &self.followers[index].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &Path, text: &str) {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        file.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn whole_lines_only_from_the_end_and_through_a_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("api.log");
        append(&log, "before\n");
        let mut follower = LogFollower::from_end(&log);
        assert!(follower.read_lines().is_empty());
        append(&log, "one\ntw");
        assert_eq!(follower.read_lines(), ["one"]);
        append(&log, "o\r\nthree-unfinished");
        assert_eq!(follower.read_lines(), ["two"]);
        std::fs::rename(&log, dir.path().join("api.log.1")).unwrap();
        append(&log, "after rotation\n");
        assert_eq!(
            follower.read_lines(),
            ["three-unfinished", "after rotation"]
        );
        append(&log, "more\n");
        assert_eq!(follower.read_lines(), ["more"]);
    }

    #[test]
    fn a_log_that_appears_later_or_is_truncated_is_read_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("web.log");
        let mut follower = LogFollower::from_end(&log);
        assert!(follower.read_lines().is_empty());
        append(&log, "first\nsecond\n");
        assert_eq!(follower.read_lines(), ["first", "second"]);
        std::fs::write(&log, "x\n").unwrap();
        assert_eq!(follower.read_lines(), ["x"]);
    }

    #[test]
    fn the_last_lines_of_a_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("a.log");
        assert!(last_lines(&log, Some(2)).is_empty());
        append(&log, "1\n2\n3\n");
        assert_eq!(last_lines(&log, Some(2)), ["2", "3"]);
        assert_eq!(last_lines(&log, None), ["1", "2", "3"]);
    }
}
