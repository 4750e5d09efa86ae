//! A remote engine: `DOCKER_HOST=ssh://` through an sshd the test runs on loopback in front of
//! this machine's engine (a key made for the test, the user's ssh given by
//! `DEVENV_SSH_COMMAND`), and `tcp://` with TLS through socat with certificates made by
//! openssl. Everything the tests start (sshd, socat, devenv's forwarder, containers) is gone
//! when they end, passing or failing.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::time::Duration;

/// An sshd on a free loopback port, with a host key and an authorized key made for the test,
/// and an ssh client config that uses that key and trusts any host key. Killed on drop.
struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    user: String,
    _process: KillOnDrop,
}

impl Sshd {
    /// Starts one, when openssh-server, ssh and ssh-keygen are there (see `require`).
    fn start() -> Option<Self> {
        let sshd = Path::new("/usr/sbin/sshd");
        if !require("openssh-server (/usr/sbin/sshd)", sshd.exists())
            || !require(
                "openssh-client (ssh and ssh-keygen)",
                has_program("ssh", &["-V"]) && installed("ssh-keygen"),
            )
        {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for key in ["host_key", "user_key", "stranger_key"] {
            run(StdCommand::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", ""])
                .arg("-f")
                .arg(d.join(key)));
        }
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).unwrap();
        // sshd's privilege separation directory (created by the service, which is not run).
        // (Only root can make it; sshd started by another user goes without.)
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = free_port();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {host}\nAuthorizedKeysFile {keys}\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
                 PermitRootLogin prohibit-password\nPidFile none\nStrictModes no\n\
                 AllowTcpForwarding yes\nAllowStreamLocalForwarding yes\n",
                host = d.join("host_key").display(),
                keys = d.join("authorized_keys").display(),
            ),
        )
        .unwrap();
        for (name, key) in [
            ("ssh_config", "user_key"),
            ("stranger_config", "stranger_key"),
        ] {
            std::fs::write(
                d.join(name),
                format!(
                    "Host *\n  IdentityFile {}\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  \
                     UserKnownHostsFile /dev/null\n  LogLevel ERROR\n",
                    d.join(key).display()
                ),
            )
            .unwrap();
        }
        let process = KillOnDrop::spawn(
            StdCommand::new(sshd)
                .args(["-D", "-e", "-f"])
                .arg(d.join("sshd_config")),
        );
        wait_until("sshd listening", Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        let user = StdCommand::new("id").arg("-un").output().unwrap();
        Some(Self {
            dir,
            port,
            user: String::from_utf8_lossy(&user.stdout).trim().to_string(),
            _process: process,
        })
    }

    /// `ssh://USER@127.0.0.1:PORT`, as the user running the tests.
    fn docker_host(&self) -> String {
        format!("ssh://{}@127.0.0.1:{}", self.user, self.port)
    }

    /// `DEVENV_SSH_COMMAND` for the test's key (`config`: `ssh_config` or `stranger_config`).
    fn ssh_command(&self, config: &str) -> String {
        format!("ssh -F {}", self.dir.path().join(config).display())
    }

    /// `devenv ARGS` in `project` against the engine behind this sshd.
    fn devenv(&self, project: &TestProject, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = project.devenv(args);
        cmd.env("DOCKER_HOST", self.docker_host())
            .env("DEVENV_SSH_COMMAND", self.ssh_command("ssh_config"));
        cmd
    }

    /// Runs `devenv ARGS` through the sshd and asserts it succeeded.
    fn run_ok(&self, project: &TestProject, args: &[&str]) -> (String, String) {
        let (code, out, err) = output(&mut self.devenv(project, args));
        assert_eq!(code, 0, "devenv {args:?} over ssh failed:\n{out}\n{err}");
        (out, err)
    }
}

/// Whether `program` can be started (ssh-keygen has no option that exits 0 without work).
fn installed(program: &str) -> bool {
    StdCommand::new(program).arg("-?").output().is_ok()
}

fn run(command: &mut StdCommand) {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Kills the project's forwarder (from `.devenv/forward.json`) on drop, so a failing test
/// leaves no ssh behind.
struct ForwarderGuard(PathBuf);

impl ForwarderGuard {
    fn pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.0.join(".devenv/forward.json")).ok()?;
        let state: serde_json::Value = serde_json::from_str(&text).ok()?;
        state["pid"].as_i64().and_then(|p| i32::try_from(p).ok())
    }
}

impl Drop for ForwarderGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.pid()
            && alive(pid)
        {
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
}

/// Whether a process runs (a zombie waiting for its reaper does not count).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let after = stat.rsplit_once(')')?.1;
            after.split_whitespace().next().map(|state| state != "Z")
        })
        .unwrap_or(false)
}

/// Live ssh processes whose command line mentions `needle`.
fn ssh_processes(needle: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline.starts_with("ssh ") && cmdline.contains(needle) && alive(*pid)
        })
        .collect()
}

/// The PostgreSQL stack with two migrations and a seed.
fn postgres_with_schema() -> Option<TestProject> {
    let project = engine_project(POSTGRES, &["DB_PORT"])?;
    project.write(
        "migrations/0001_products.sql",
        "CREATE TABLE products (id INT PRIMARY KEY, name TEXT NOT NULL);\n",
    );
    project.write(
        "seeds/01_products.sql",
        "INSERT INTO products (id, name) VALUES (1, 'tea'), (2, 'cake');\n",
    );
    Some(project)
}

#[test]
fn ssh_engine_forwards_published_ports_to_this_host_and_down_leaves_nothing() {
    let Some(project) = postgres_with_schema() else {
        return;
    };
    let Some(sshd) = Sshd::start() else {
        return;
    };
    let guard = ForwarderGuard(project.root().to_path_buf());
    // The port in .env is held here: the forward moves to a free local port.
    let (_holder, held) = held_port();
    project.write(".env", &format!("DB_PORT={held}\n"));

    let (out, err) = sshd.run_ok(&project, &["up"]);
    let local: u16 = project.env_value("DB_PORT").parse().unwrap();
    assert_ne!(local, held, ".env carries the free local port");
    assert_mentions(
        &err,
        &[
            &format!("db: {held} is held by"),
            "forwarding",
            "applied 1 migration(s)",
        ],
    );
    let destination = format!("{}@127.0.0.1:{}", sshd.user, sshd.port);
    assert_mentions(
        &out,
        &[
            &format!("127.0.0.1:{local} (forwarded from 127.0.0.1:"),
            &format!("on {destination})"),
        ],
    );
    // The container publishes on a port the engine picked, not the local one.
    let published_port = || {
        let published = docker(&["port", &project.container("db"), "5432/tcp"]);
        published
            .lines()
            .next()
            .and_then(|l| l.rsplit(':').next())
            .and_then(|p| p.trim().parse::<u16>().ok())
            .unwrap_or_else(|| panic!("no published port in {published:?}"))
    };
    let remote = published_port();
    assert_ne!(remote, local);
    assert!(
        out.contains(&format!("127.0.0.1:{remote} on {destination}")),
        "{out}"
    );
    // The local port is ssh's, and a real login through it works.
    match devenv::ports::process_holding(local) {
        devenv::ports::Holder::Process { command, .. } => assert_eq!(command, "ssh"),
        other => panic!("port {local} should be held by the forwarder, not {other:?}"),
    }
    let url = project
        .read(".env")
        .lines()
        .find_map(|l| l.strip_prefix("DB_PASSWORD="))
        .map(|password| {
            format!(
                "postgres://shop:{}@127.0.0.1:{local}/shop",
                password.trim_matches('"')
            )
        })
        .expect("DB_PASSWORD in .env");
    let count_through_forward = || {
        let psql = StdCommand::new("psql")
            .args([&url, "-tAc", "select count(*) from products"])
            .output()
            .unwrap();
        assert!(
            psql.status.success(),
            "psql through the forwarded port: {}",
            String::from_utf8_lossy(&psql.stderr)
        );
        String::from_utf8_lossy(&psql.stdout).trim().to_string()
    };
    assert_eq!(count_through_forward(), "2");

    let (out, _) = sshd.run_ok(&project, &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    let db = &status["services"][0];
    assert_eq!(db["addresses"][0], format!("127.0.0.1:{local}"), "{out}");
    assert_eq!(
        db["forwarded_from"][0],
        format!("127.0.0.1:{remote} on {destination}"),
        "{out}"
    );
    assert_eq!(db["health"], "healthy", "{out}");

    // A second `up` keeps the container and the forward.
    let (_, err) = sshd.run_ok(&project, &["up"]);
    assert!(err.contains("nothing to change"), "{err}");
    assert_eq!(project.env_value("DB_PORT"), local.to_string());

    project.write(
        "migrations/0002_price.sql",
        "ALTER TABLE products ADD COLUMN price INT NOT NULL DEFAULT 0;\n",
    );
    let (_, err) = sshd.run_ok(&project, &["migrate"]);
    assert_mentions(&err, &["applied migrations/0002_price.sql"]);
    assert_eq!(
        project.psql("select count(*) from information_schema.columns where column_name = 'price'"),
        "1"
    );
    let (out, err) = sshd.run_ok(&project, &["logs", "db"]);
    assert!(
        (out.clone() + &err).contains("database system is ready to accept connections"),
        "{out}{err}"
    );

    // A restart may give the container another port on the remote host: it is forwarded again.
    sshd.run_ok(&project, &["restart", "db"]);
    assert_eq!(count_through_forward(), "2");
    let remote = published_port();

    let master = guard.pid().expect("the forwarder's pid is recorded");
    assert!(alive(master));
    let doctor = |project: &TestProject| {
        let (_, out, err) = output(&mut sshd.devenv(project, &["doctor", "--json"]));
        let report: serde_json::Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("doctor --json printed no JSON ({e}):\n{out}\n{err}"));
        let by_id = |id: &str| {
            report["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == id)
                .cloned()
                .unwrap_or_else(|| panic!("no check `{id}` in {report}"))
        };
        (by_id("daemon"), by_id("forwarder"), by_id("ports"))
    };
    let (daemon, forwarder, ports) = doctor(&project);
    assert!(
        daemon["detail"].as_str().unwrap().contains("remote"),
        "{daemon}"
    );
    assert_eq!(forwarder["status"], "ok", "{forwarder}");
    assert!(
        forwarder["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{local} ← 127.0.0.1:{remote}")),
        "{forwarder}"
    );
    assert_eq!(
        ports["status"], "ok",
        "the forwarder's own ports are not conflicts: {ports}"
    );

    // A forwarder that died is found by doctor and started again by `up`.
    unsafe { libc::kill(master, libc::SIGKILL) };
    wait_until("the forwarder dies", Duration::from_secs(10), || {
        !alive(master)
    });
    let (_, forwarder, _) = doctor(&project);
    assert_eq!(forwarder["status"], "fail", "{forwarder}");
    assert!(
        forwarder["fix"].as_str().unwrap().contains("devenv up"),
        "{forwarder}"
    );
    sshd.run_ok(&project, &["up"]);
    let master = guard.pid().expect("the new forwarder's pid is recorded");
    assert!(alive(master));
    assert_eq!(project.env_value("DB_PORT"), local.to_string());
    assert!(matches!(
        devenv::ports::process_holding(local),
        devenv::ports::Holder::Process { pid, .. } if pid == master as u32
    ));

    let (out, err) = sshd.run_ok(&project, &["down"]);
    assert!(
        (out.clone() + &err).contains("stopped forwarding the remote engine's ports"),
        "{out}{err}"
    );
    assert!(project.containers().is_empty());
    assert!(!project.path(".devenv/forward.json").exists());
    wait_until("the forwarder ends", Duration::from_secs(10), || {
        !alive(master)
    });
    assert!(
        ssh_processes(&sshd.port.to_string()).is_empty(),
        "no ssh to the test's sshd is left"
    );
    assert!(devenv::ports::can_bind("127.0.0.1", local, "tcp"));
}

#[test]
fn ssh_failures_say_what_ssh_said_and_the_fix() {
    let Some(project) = engine_project(POSTGRES, &["DB_PORT"]) else {
        return;
    };
    let Some(sshd) = Sshd::start() else {
        return;
    };
    // A key the server does not know: ssh must not prompt, devenv says how to fix it.
    let (code, _, err) = output(
        project
            .devenv(&["status"])
            .env("DOCKER_HOST", sshd.docker_host())
            .env("DEVENV_SSH_COMMAND", sshd.ssh_command("stranger_config")),
    );
    assert_eq!(code, 1, "{err}");
    assert_mentions(
        &err,
        &[
            "Permission denied",
            "BatchMode=yes",
            "ssh-add",
            "IdentityFile",
        ],
    );
    // Nothing listening.
    let closed = free_port();
    let (code, _, err) = output(
        project
            .devenv(&["status"])
            .env(
                "DOCKER_HOST",
                format!("ssh://{}@127.0.0.1:{closed}", sshd.user),
            )
            .env("DEVENV_SSH_COMMAND", sshd.ssh_command("ssh_config")),
    );
    assert_eq!(code, 1, "{err}");
    assert_mentions(&err, &["Connection refused", "check that sshd runs"]);
    assert!(ssh_processes(&sshd.port.to_string()).is_empty());
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl.
fn make_certs(dir: &Path) {
    let openssl = |args: &[&str]| run(StdCommand::new("openssl").current_dir(dir).args(args));
    let key = |name: &str| {
        openssl(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            name,
        ])
    };
    key("ca-key.pem");
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "ca-key.pem",
        "-days",
        "2",
        "-subj",
        "/CN=devenv test CA",
        "-out",
        "ca.pem",
    ]);
    for (name, subject, usage) in [
        (
            "server",
            "/CN=127.0.0.1",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        ("client", "/CN=client", "extendedKeyUsage=clientAuth\n"),
    ] {
        key(&format!("{name}-key.pem"));
        openssl(&[
            "req",
            "-new",
            "-key",
            &format!("{name}-key.pem"),
            "-subj",
            subject,
            "-out",
            &format!("{name}.csr"),
        ]);
        std::fs::write(dir.join(format!("{name}.ext")), usage).unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ]);
    }
}

#[test]
fn tcp_engine_with_tls_verify_works_and_wrong_certificates_are_named() {
    let Some(project) = engine_project(POSTGRES, &["DB_PORT"]) else {
        return;
    };
    if !require("socat", has_program("socat", &["-V"]))
        || !require("openssl", has_program("openssl", &["version"]))
    {
        return;
    }
    let pki = tempfile::tempdir().unwrap();
    make_certs(pki.path());
    let client = pki.path().join("client");
    std::fs::create_dir(&client).unwrap();
    for (from, to) in [
        ("ca.pem", "ca.pem"),
        ("client.pem", "cert.pem"),
        ("client-key.pem", "key.pem"),
    ] {
        std::fs::copy(pki.path().join(from), client.join(to)).unwrap();
    }
    let port = free_port();
    let p = pki.path().display();
    // devenv's TLS client (rustls) resumes sessions; socat's forked OpenSSL children refuse a
    // resumed session with client verification on ("session id context uninitialized"), which
    // dockerd does not. Without session tickets there is nothing to resume.
    std::fs::write(
        pki.path().join("openssl.cnf"),
        "openssl_conf = conf\n[conf]\nssl_conf = ssl\n[ssl]\nsystem_default = sys\n[sys]\nOptions = -SessionTicket\n",
    )
    .unwrap();
    let _socat = KillOnDrop::spawn(StdCommand::new("socat").env("OPENSSL_CONF", pki.path().join("openssl.cnf")).args([
        format!(
            "openssl-listen:{port},bind=127.0.0.1,reuseaddr,fork,cert={p}/server.pem,key={p}/server-key.pem,cafile={p}/ca.pem,verify=1"
        ),
        "unix-connect:/var/run/docker.sock".to_string(),
    ]));
    wait_until("socat listening", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let host = format!("tcp://127.0.0.1:{port}");
    let over_tls = |cert_path: &Path, args: &[&str]| {
        let mut cmd = project.devenv(args);
        cmd.env("DOCKER_HOST", &host)
            .env("DOCKER_TLS_VERIFY", "1")
            .env("DOCKER_CERT_PATH", cert_path);
        output(&mut cmd)
    };
    let (code, out, err) = over_tls(&client, &["up"]);
    assert_eq!(code, 0, "up over TLS:\n{out}\n{err}");
    assert_eq!(project.running_containers(), [project.container("db")]);
    assert!(
        !out.contains("forwarded"),
        "a loopback tcp engine is local: {out}"
    );

    // A client certificate from another CA: the engine (socat) refuses it.
    let stranger = tempfile::tempdir().unwrap();
    make_certs(stranger.path());
    let wrong = stranger.path().join("client");
    std::fs::create_dir(&wrong).unwrap();
    for (from, to) in [
        ("ca.pem", "ca.pem"),
        ("client.pem", "cert.pem"),
        ("client-key.pem", "key.pem"),
    ] {
        std::fs::copy(stranger.path().join(from), wrong.join(to)).unwrap();
    }
    let (code, _, err) = over_tls(&wrong, &["status"]);
    assert_eq!(code, 1, "{err}");
    assert_mentions(
        &err,
        &[
            "over TLS with the certificates in",
            &wrong.display().to_string(),
            "ca.pem (the CA that signed the engine's certificate)",
        ],
    );
    // A directory without the files.
    let empty = tempfile::tempdir().unwrap();
    let (code, _, err) = over_tls(empty.path(), &["status"]);
    assert_eq!(code, 1, "{err}");
    assert_mentions(&err, &["ca.pem is missing", "DOCKER_CERT_PATH"]);

    // A tcp:// engine on another host (forced here): its ports would not be reachable, and
    // `up` says so instead of waiting for probes that cannot pass.
    let mut cmd = project.devenv(&["up"]);
    cmd.env("DOCKER_HOST", &host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", &client)
        .env("DEVENV_ENGINE_REMOTE", "1");
    let (code, _, err) = output(&mut cmd);
    assert_eq!(code, 1, "{err}");
    assert_mentions(&err, &["runs on another host", "DOCKER_HOST=ssh://"]);

    let (code, out, err) = over_tls(&client, &["down"]);
    assert_eq!(code, 0, "down over TLS:\n{out}\n{err}");
    assert!(project.containers().is_empty());
}

/// Removes a container the test started by hand (`docker rm -f -v`) on drop.
struct RemoveContainer(String);

impl Drop for RemoveContainer {
    fn drop(&mut self) {
        let _ = StdCommand::new("docker")
            .args(["rm", "-f", "-v", &self.0])
            .output();
    }
}

#[test]
fn ssh_engine_port_check_names_a_container_of_the_remote_engine() {
    let Some(project) = engine_project(CACHE_ONLY, &["CACHE_PORT"]) else {
        return;
    };
    let Some(sshd) = Sshd::start() else {
        return;
    };
    let _forwarder = ForwarderGuard(project.root().to_path_buf());
    // Another project's container on the engine publishes the port `.env` asks for.
    let taken = free_port();
    let name = format!("devenvtest-foreign-{}", unique_suffix());
    let _foreign = RemoveContainer(name.clone());
    docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--label",
        "com.docker.compose.project=someone-else",
        "-p",
        &format!("127.0.0.1:{taken}:6379"),
        "devenv-fixture/redis:7",
    ]);
    project.write(".env", &format!("CACHE_PORT={taken}\n"));
    let (out, err) = sshd.run_ok(&project, &["up"]);
    assert_mentions(
        &err,
        &[&format!(
            "{taken} is held by container {name} (project `someone-else`)"
        )],
    );
    let local: u16 = project.env_value("CACHE_PORT").parse().unwrap();
    assert_ne!(local, taken);
    assert!(
        out.contains(&format!("127.0.0.1:{local} (forwarded from")),
        "{out}"
    );
    sshd.run_ok(&project, &["down"]);
    assert!(!project.path(".devenv/forward.json").exists());
}
