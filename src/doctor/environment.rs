//! Checks of the machine and the engine: docker CLI, daemon, version, disk, memory, platform,
//! clock.

use super::{Check, CheckId};
use crate::engine::Engine;
use crate::stack::Stack;

/// Checks that need nothing but this machine.
pub fn host_checks() -> Vec<Check> {
    let mut checks = Vec::new();
    checks.push(if docker_cli_on_path() {
        Check::ok(CheckId::DockerCli, "docker CLI on PATH", "found")
    } else {
        Check::warn(
            CheckId::DockerCli,
            "docker CLI on PATH",
            "not found (devenv talks to the engine itself; `devenv db shell` and your own tools need the CLI)",
            "install it: Debian/Ubuntu `sudo apt-get install docker.io`; macOS/Windows: Docker Desktop",
        )
    });
    let version = std::fs::read_to_string("/proc/version")
        .unwrap_or_default()
        .to_ascii_lowercase();
    if version.contains("microsoft") {
        checks.push(Check::ok(
            CheckId::Platform,
            "platform",
            "WSL2: keep projects inside the Linux file system (~/...), not under /mnt/c, for fast bind mounts",
        ));
    }
    checks
}

fn docker_cli_on_path() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("docker").is_file()))
}

/// Engine checks; returns the engine when it answers.
pub async fn engine_checks(stack: Option<&Stack>) -> (Vec<Check>, Option<Engine>) {
    // An ssh:// engine first logs in over ssh.
    let limit = if crate::engine::connect::resolve().forwards_ports() {
        std::time::Duration::from_secs(15)
    } else {
        std::time::Duration::from_millis(1500)
    };
    let engine = match connect_within(limit).await {
        Ok(engine) => engine,
        Err(checks) => return (checks, None),
    };
    let remote = if engine.endpoint.forwards_ports() {
        "; remote: its published ports live on that host and devenv forwards them here"
    } else if engine.endpoint.is_remote() {
        "; remote: its published ports live on that host (devenv forwards them only for ssh:// engines)"
    } else {
        ""
    };
    let mut checks = vec![Check::ok(
        CheckId::Daemon,
        "Docker Engine reachable",
        format!(
            "{} ({}){remote}",
            engine.endpoint.host, engine.endpoint.source
        ),
    )];
    let (version, api) = engine.version().await.unwrap_or_default();
    let api_ok = api
        .split('.')
        .nth(1)
        .and_then(|m| m.parse::<u32>().ok())
        .is_some_and(|minor| minor >= 41);
    checks.push(if api_ok {
        Check::ok(
            CheckId::EngineVersion,
            "engine version",
            format!("Docker {version}, API {api}"),
        )
    } else {
        Check::warn(
            CheckId::EngineVersion,
            "engine version",
            format!("Docker {version}, API {api}: older than 20.10 (API 1.41)"),
            "upgrade Docker to 20.10 or newer",
        )
    });
    let Ok(info) = engine.info().await else {
        return (checks, Some(engine));
    };
    if info.operating_system.contains("Docker Desktop") {
        checks.push(Check::ok(CheckId::PlatformDesktop, "Docker Desktop", "containers run in Desktop's VM: its memory and disk limits apply (Settings → Resources)"));
    }
    checks.push(if engine.endpoint.is_remote() {
        Check::ok(
            CheckId::Disk,
            "free disk where Docker keeps its data",
            format!(
                "{} is on the remote host, not visible from here",
                info.root_dir
            ),
        )
    } else {
        disk_check(&info.root_dir)
    });
    checks.push(memory_check(info.mem_total, stack));
    checks.push(clock_check(&info.system_time));
    (checks, Some(engine))
}

/// The engine, or the checks that say why it does not answer within `limit`.
async fn connect_within(limit: std::time::Duration) -> Result<Engine, Vec<Check>> {
    let title = "Docker Engine reachable";
    match tokio::time::timeout(limit, Engine::connect()).await {
        Ok(Ok(engine)) => Ok(engine),
        Ok(Err(e)) => Err(vec![
            Check::fail(
                CheckId::Daemon,
                title,
                e.message.clone(),
                e.help.clone().unwrap_or_default(),
            ),
            Check::skip(
                CheckId::Engine,
                "engine version, disk, memory, clock",
                "no engine to ask",
            ),
        ]),
        Err(_) => {
            let endpoint = crate::engine::connect::resolve();
            Err(vec![Check::fail(
                CheckId::Daemon,
                title,
                format!(
                    "no answer from {} ({}) within {:.1} s",
                    endpoint.host,
                    endpoint.source,
                    limit.as_secs_f64()
                ),
                "restart Docker (Linux: `sudo systemctl restart docker`; Docker Desktop: restart it)",
            )])
        }
    }
}

fn disk_check(root_dir: &str) -> Check {
    let title = "free disk where Docker keeps its data";
    let out = std::process::Command::new("df")
        .args(["-Pk", root_dir])
        .output();
    let free_kb = out.ok().filter(|o| o.status.success()).and_then(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok())
    });
    let Some(free_kb) = free_kb else {
        return Check::ok(
            CheckId::Disk,
            title,
            format!("{root_dir} is not visible from here (the engine runs elsewhere)"),
        );
    };
    let gb = free_kb as f64 / 1024.0 / 1024.0;
    let fix = "free space: `docker system prune` (unused images and build cache), `docker volume prune` (unused volumes: check first)";
    if gb < 1.0 {
        Check::fail(
            CheckId::Disk,
            title,
            format!("{gb:.1} GB free in {root_dir}"),
            fix,
        )
    } else if gb < 5.0 {
        Check::warn(
            CheckId::Disk,
            title,
            format!("{gb:.1} GB free in {root_dir}"),
            fix,
        )
    } else {
        Check::ok(
            CheckId::Disk,
            title,
            format!("{gb:.0} GB free in {root_dir}"),
        )
    }
}

/// Rough memory the stack's services want: databases and brokers more than caches.
fn wanted_memory_mb(stack: Option<&Stack>) -> u64 {
    stack.map_or(0, |s| {
        s.services
            .values()
            .map(|svc| match svc.catalog.as_deref() {
                Some("redpanda" | "mongodb" | "rabbitmq" | "mysql" | "mariadb") => 1024,
                Some("postgres" | "minio") => 512,
                _ => 256,
            })
            .sum()
    })
}

fn memory_check(mem_total: i64, stack: Option<&Stack>) -> Check {
    let title = "memory available to Docker";
    let have = (mem_total.max(0) as u64) / 1024 / 1024;
    let want = wanted_memory_mb(stack);
    if have == 0 {
        Check::ok(CheckId::Memory, title, "not reported by the engine")
    } else if have < want {
        Check::warn(
            CheckId::Memory,
            title,
            format!("{have} MB for Docker; this stack's services want about {want} MB"),
            "give Docker more memory (Docker Desktop: Settings → Resources), or stop other containers (`docker ps`)",
        )
    } else {
        Check::ok(
            CheckId::Memory,
            title,
            format!("{have} MB (the stack wants about {want} MB)"),
        )
    }
}

fn clock_check(system_time: &str) -> Check {
    let title = "clock in step with the engine";
    let Some(engine_secs) = parse_rfc3339(system_time) else {
        return Check::ok(CheckId::ClockSkew, title, "engine time not reported");
    };
    let local = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let skew = (local - engine_secs).abs();
    if skew > 5 {
        Check::warn(
            CheckId::ClockSkew,
            title,
            format!("the engine's clock is {skew} s off this machine's"),
            "sync the clocks (Docker Desktop/WSL2 after sleep: `wsl --shutdown` or restart Docker; Linux: enable NTP with `timedatectl set-ntp true`)",
        )
    } else {
        Check::ok(CheckId::ClockSkew, title, format!("{skew} s apart"))
    }
}

/// Seconds since the epoch of `2026-11-23T20:52:01.1234Z` (offsets `+hh:mm` honoured).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_parse() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2026-11-23T20:52:01.123456789Z"),
            Some(1_795_467_121)
        );
        assert_eq!(
            parse_rfc3339("2026-11-23T21:52:01+01:00"),
            Some(1_795_467_121)
        );
        assert_eq!(parse_rfc3339("garbage"), None);
    }

    #[test]
    fn memory_and_disk_thresholds() {
        assert_eq!(
            memory_check(100 * 1024 * 1024, None).status,
            super::super::Status::Ok
        );
        assert_eq!(
            disk_check("/nonexistent-dir-for-test").status,
            super::super::Status::Ok
        );
    }
}
