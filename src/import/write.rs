//! The imported stack as devenv.toml text, built line by line so that every line the import
//! could not carry over sits as a `# compose:` comment where it would have gone.

use indexmap::IndexMap;

/// A service as it will be written.
#[derive(Debug, Default)]
pub struct OutService {
    /// Service name.
    pub name: String,
    /// `use`.
    pub use_: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `image`.
    pub image: String,
    /// `command`, in devenv's (Compose's) interpolation syntax.
    pub command: Option<Vec<String>>,
    /// `ports`.
    pub ports: Vec<String>,
    /// `volumes`.
    pub volumes: Vec<String>,
    /// `depends_on`.
    pub depends_on: Vec<String>,
    /// `host_ip`, when not the default.
    pub host_ip: Option<String>,
    /// `docker_socket = true` (with `allow_host_access = true`).
    pub docker_socket: bool,
    /// `env`, values in devenv's interpolation syntax.
    pub env: IndexMap<String, String>,
    /// `health`.
    pub health: Option<OutHealth>,
    /// Comment lines written in the service's table (what changed, what was dropped).
    pub comments: Vec<String>,
}

/// A `health` table.
#[derive(Debug, Default)]
pub struct OutHealth {
    /// `cmd`.
    pub cmd: Vec<String>,
    /// `interval`.
    pub interval: Option<String>,
    /// `timeout`.
    pub timeout: Option<String>,
    /// `retries`.
    pub retries: Option<u32>,
    /// `start_period`.
    pub start_period: Option<String>,
}

/// An `[env.NAME]` variable.
#[derive(Debug, Clone)]
pub struct OutVar {
    /// `value`, in devenv's interpolation syntax.
    pub value: Option<String>,
    /// `secret = true`.
    pub secret: bool,
    /// `description`.
    pub description: String,
}

/// The whole file.
#[derive(Debug, Default)]
pub struct OutStack {
    /// `[project] name`.
    pub project: String,
    /// Comment lines at the top.
    pub header: Vec<String>,
    /// Services in file order.
    pub services: Vec<OutService>,
    /// Variables.
    pub env: IndexMap<String, OutVar>,
    /// Comment lines at the end (services not imported, the project's migration command).
    pub trailer: Vec<String>,
}

/// A TOML string literal.
pub fn quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// A TOML key: bare when it can be, quoted otherwise.
fn key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_string()
    } else {
        quote(name)
    }
}

/// A TOML array of strings.
pub fn array(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|i| quote(i)).collect();
    format!("[{}]", items.join(", "))
}

/// A comment line (one line, whatever the text holds).
fn comment(out: &mut String, text: &str) {
    for line in text.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
}

/// Renders the stack.
pub fn render(stack: &OutStack) -> String {
    let mut out = String::new();
    for line in &stack.header {
        comment(&mut out, line);
    }
    out.push_str(&format!("[project]\nname = {}\n", quote(&stack.project)));
    for service in &stack.services {
        out.push('\n');
        render_service(&mut out, service);
    }
    for (name, var) in &stack.env {
        out.push_str(&format!("\n[env.{}]\n", key(name)));
        if let Some(value) = &var.value {
            out.push_str(&format!("value = {}\n", quote(value)));
        }
        if var.secret {
            out.push_str("secret = true\n");
        }
        out.push_str(&format!("description = {}\n", quote(&var.description)));
    }
    if !stack.trailer.is_empty() {
        out.push('\n');
        for line in &stack.trailer {
            comment(&mut out, line);
        }
    }
    out
}

fn render_service(out: &mut String, s: &OutService) {
    out.push_str(&format!("[services.{}]\n", key(&s.name)));
    if let Some(use_) = &s.use_ {
        out.push_str(&format!("use = {}\n", quote(use_)));
    }
    if let Some(description) = &s.description {
        out.push_str(&format!("description = {}\n", quote(description)));
    }
    out.push_str(&format!("image = {}\n", quote(&s.image)));
    if let Some(command) = &s.command {
        out.push_str(&format!("command = {}\n", array(command)));
    }
    if !s.ports.is_empty() {
        out.push_str(&format!("ports = {}\n", array(&s.ports)));
    }
    if let Some(ip) = &s.host_ip {
        out.push_str(&format!("host_ip = {}\n", quote(ip)));
    }
    if !s.volumes.is_empty() {
        out.push_str(&format!("volumes = {}\n", array(&s.volumes)));
    }
    if !s.depends_on.is_empty() {
        out.push_str(&format!("depends_on = {}\n", array(&s.depends_on)));
    }
    if s.docker_socket {
        out.push_str("docker_socket = true\nallow_host_access = true\n");
    }
    for line in &s.comments {
        comment(out, line);
    }
    if !s.env.is_empty() {
        out.push_str(&format!("\n[services.{}.env]\n", key(&s.name)));
        for (name, value) in &s.env {
            out.push_str(&format!("{} = {}\n", key(name), quote(value)));
        }
    }
    if let Some(health) = &s.health {
        out.push_str(&format!("\n[services.{}.health]\n", key(&s.name)));
        out.push_str(&format!("cmd = {}\n", array(&health.cmd)));
        for (name, value) in [
            ("interval", &health.interval),
            ("timeout", &health.timeout),
            ("start_period", &health.start_period),
        ] {
            if let Some(value) = value {
                out.push_str(&format!("{name} = {}\n", quote(value)));
            }
        }
        if let Some(retries) = health.retries {
            out.push_str(&format!("retries = {retries}\n"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_loadable_toml_with_comments() {
        let mut env = IndexMap::new();
        env.insert(
            "POSTGRES_PASSWORD".to_string(),
            "${DB_PASSWORD}".to_string(),
        );
        let stack = OutStack {
            project: "p".into(),
            header: vec!["imported".into()],
            services: vec![OutService {
                name: "db".into(),
                use_: Some("postgres".into()),
                image: "postgres:15".into(),
                ports: vec!["5432".into()],
                env,
                comments: vec!["compose: container_name: x\nsecond line".into()],
                ..Default::default()
            }],
            env: [(
                "DB_PASSWORD".to_string(),
                OutVar {
                    value: None,
                    secret: true,
                    description: "a \"quoted\" text".into(),
                },
            )]
            .into_iter()
            .collect(),
            trailer: vec![],
        };
        let text = render(&stack);
        assert!(text.contains("# compose: container_name: x\n# second line\n"));
        let src = crate::diagnostic::SourceFile::new("devenv.toml", text.clone());
        let dir = tempfile::tempdir().unwrap();
        let loaded = crate::stack::load_source(&src, dir.path(), &dir.path().join("x"))
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(loaded.variables["DB_PASSWORD"].secret);
    }
}
