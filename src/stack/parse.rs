//! Pure parsers for the values a stack file writes as text: durations, ports, volumes, health
//! checks and names. Each refuses bad input with a small typed error whose text is the message
//! the user sees; the loader adds where it was written (`file:line:col`), the context it knows
//! (the service) and the fix.

use super::model::{HealthCheck, HostPort, Port, Volume, var_prefix};
use super::raw::RawHealth;
use std::fmt;
use std::num::IntErrorKind;
use std::str::FromStr;
use std::time::Duration;

/// The longest duration accepted: Docker keeps durations as signed 64-bit nanoseconds (about
/// 292 years), so nothing longer reaches the engine intact.
pub const MAX_DURATION: Duration = Duration::from_secs(2_562_047 * 3600);

/// [`MAX_DURATION`] as a stack file writes it.
pub const MAX_DURATION_TEXT: &str = "2562047h";

/// Why a duration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a sequence of `<number><unit>` pieces.
    #[error("`{0}` is not a duration")]
    Invalid(String),
    /// Longer than [`MAX_DURATION`].
    #[error(
        "duration `{0}` is too large: the largest accepted is `{MAX_DURATION_TEXT}` (about 292 years)"
    )]
    TooLarge(String),
}

impl DurationError {
    /// How to write an accepted duration.
    pub fn help(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "write a number with a unit: `500ms`, `2s`, `1m`",
            Self::TooLarge(_) => {
                "Docker cannot hold a longer duration; health check times are usually seconds: `2s`, `30s`, `1m`"
            }
        }
    }
}

/// `500ms`, `2s`, `1m`, `1h`, `1m30s`; at most [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let invalid = || DurationError::Invalid(text.to_string());
    let too_large = || DurationError::TooLarge(text.to_string());
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(invalid)?;
        let (number, after) = rest.split_at(digits);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let seconds_per_unit = match unit {
            "ms" | "s" => 1,
            "m" => 60,
            "h" => 3600,
            _ => return Err(invalid()),
        };
        let number: u64 = number
            .parse()
            .map_err(|e: std::num::ParseIntError| match e.kind() {
                IntErrorKind::PosOverflow => too_large(),
                _ => invalid(),
            })?;
        let piece = if unit == "ms" {
            Some(Duration::from_millis(number))
        } else {
            number
                .checked_mul(seconds_per_unit)
                .map(Duration::from_secs)
        };
        total = piece
            .and_then(|piece| total.checked_add(piece))
            .filter(|total| *total <= MAX_DURATION)
            .ok_or_else(too_large)?;
        rest = next;
    }
    Ok(total)
}

/// Renders a compose duration (`1s`, `500ms`); [`parse_duration`] reads it back.
pub fn format_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// `tcp` or `udp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// TCP, the default.
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// `tcp` or `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

/// A published port as written: `"5432"`, `"5432/udp"` (host port from a variable) or
/// `"15432:5432"` (fixed host port).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSpec {
    /// The fixed host port, when written.
    pub host: Option<u16>,
    /// Port inside the container.
    pub container: u16,
    /// Transport protocol.
    pub protocol: Protocol,
}

/// Why a port was refused (the loader names the port and the service).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// A protocol other than tcp or udp after `/`.
    #[error("the protocol must be tcp or udp")]
    Protocol,
    /// The part before `:` is not a port.
    #[error("the host port is not 1-65535")]
    HostPort,
    /// The container port is not a port.
    #[error("the container port is not 1-65535")]
    ContainerPort,
}

impl FromStr for PortSpec {
    type Err = PortError;

    fn from_str(text: &str) -> Result<Self, PortError> {
        let (spec, protocol) = match text.split_once('/') {
            Some((spec, "tcp")) => (spec, Protocol::Tcp),
            Some((spec, "udp")) => (spec, Protocol::Udp),
            Some(_) => return Err(PortError::Protocol),
            None => (text, Protocol::Tcp),
        };
        let number = |p: &str| p.parse::<u16>().ok().filter(|p| *p > 0);
        let (host, container) = match spec.split_once(':') {
            Some((host, container)) => (Some(number(host).ok_or(PortError::HostPort)?), container),
            None => (None, spec),
        };
        let container = number(container).ok_or(PortError::ContainerPort)?;
        Ok(Self {
            host,
            container,
            protocol,
        })
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(host) = self.host {
            write!(f, "{host}:")?;
        }
        write!(f, "{}", self.container)?;
        match self.protocol {
            Protocol::Tcp => Ok(()),
            Protocol::Udp => write!(f, "/udp"),
        }
    }
}

impl PortSpec {
    /// The port of `service`, the `index`th it publishes (which names its host port variable).
    pub fn into_port(self, service: &str, index: usize) -> Port {
        let host = match self.host {
            Some(fixed) => HostPort::Fixed(fixed),
            None => HostPort::Variable {
                name: port_var_name(service, index, self.container),
                default: self.container,
            },
        };
        Port {
            container: self.container,
            host,
            protocol: self.protocol.as_str().to_string(),
        }
    }
}

/// `DB_PORT` for the first port of `db`, `DB_PORT_8025` for a later one.
pub fn port_var_name(service: &str, index: usize, container: u16) -> String {
    if index == 0 {
        format!("{}_PORT", var_prefix(service))
    } else {
        format!("{}_PORT_{container}", var_prefix(service))
    }
}

/// A volume as written: `"data:/path[:ro]"` (named) or `"./dir:/path[:ro]"` (bind mount).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSpec {
    /// Volume name, or host path for a bind mount.
    pub source: String,
    /// Absolute path in the container.
    pub target: String,
    /// Mounted read-only (`:ro`).
    pub read_only: bool,
}

/// Why a volume was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VolumeError {
    /// Not `source:target[:ro|rw]` (the loader names the service).
    #[error("invalid volume `{0}`")]
    Shape(String),
    /// The container path is relative.
    #[error("volume `{text}`: the container path `{target}` must be absolute")]
    RelativeTarget {
        /// The volume as written.
        text: String,
        /// The container path.
        target: String,
    },
    /// A named volume whose name breaks the naming rule.
    #[error("invalid volume name `{0}`")]
    Name(String),
}

/// How to write a volume.
pub const VOLUME_HELP: &str = "write \"data:/var/lib/data\" (a named volume) or \"./dir:/container/path:ro\" (a project directory)";

impl FromStr for VolumeSpec {
    type Err = VolumeError;

    fn from_str(text: &str) -> Result<Self, VolumeError> {
        let parts: Vec<&str> = text.split(':').collect();
        let (source, target, read_only) = match parts.as_slice() {
            [source, target] | [source, target, "rw"] => (*source, *target, false),
            [source, target, "ro"] => (*source, *target, true),
            _ => return Err(VolumeError::Shape(text.to_string())),
        };
        if !target.starts_with('/') {
            return Err(VolumeError::RelativeTarget {
                text: text.to_string(),
                target: target.to_string(),
            });
        }
        let spec = Self {
            source: source.to_string(),
            target: target.to_string(),
            read_only,
        };
        if !spec.is_bind() && !is_volume_name(source) {
            return Err(VolumeError::Name(source.to_string()));
        }
        Ok(spec)
    }
}

impl fmt::Display for VolumeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.target)?;
        if self.read_only {
            write!(f, ":ro")?;
        }
        Ok(())
    }
}

impl VolumeSpec {
    /// Whether the source is a host path (`.`, `/` or `~` first) rather than a volume name.
    pub fn is_bind(&self) -> bool {
        self.source.starts_with(['.', '/', '~'])
    }

    /// The mount of `service`; named volumes are scoped to it (`db-data`).
    pub fn into_volume(self, service: &str) -> Volume {
        if self.is_bind() {
            Volume::Bind {
                source: self.source,
                target: self.target,
                read_only: self.read_only,
            }
        } else {
            Volume::Named {
                name: format!("{service}-{}", self.source),
                target: self.target,
                read_only: self.read_only,
            }
        }
    }
}

/// Why a health check was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HealthError {
    /// None or several of `cmd`, `tcp`, `http` (or an empty `cmd`).
    #[error("a health check needs exactly one of `cmd`, `tcp` or `http`")]
    NotExactlyOne,
    /// `http` with no `port` and no published port to default to.
    #[error("an http health check needs a `port`")]
    HttpPort,
}

impl HealthError {
    /// How to write an accepted check.
    pub fn help(&self) -> &'static str {
        match self {
            Self::NotExactlyOne => {
                "use one of: `{ cmd = [\"pg_isready\"] }`, `{ tcp = 5432 }`, `{ http = \"/health\", port = 8080 }`"
            }
            Self::HttpPort => "add `port = 8080` (the container port)",
        }
    }
}

impl HealthCheck {
    /// The check a `health = { ... }` table describes; an http check without `port` uses
    /// `default_port` (the service's first container port).
    pub fn parse(raw: &RawHealth, default_port: Option<u16>) -> Result<Self, HealthError> {
        match (&raw.cmd, raw.tcp, &raw.http) {
            (Some(cmd), None, None) if !cmd.is_empty() => Ok(Self::Command(cmd.clone())),
            (None, Some(port), None) => Ok(Self::Tcp(port)),
            (None, None, Some(path)) => {
                let port = raw.port.or(default_port).ok_or(HealthError::HttpPort)?;
                let path = if path.starts_with('/') {
                    path.clone()
                } else {
                    format!("/{path}")
                };
                Ok(Self::Http { path, port })
            }
            _ => Err(HealthError::NotExactlyOne),
        }
    }
}

/// The things a stack file names, each with its own rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// `[project].name`.
    Project,
    /// `[services.NAME]`.
    Service,
    /// `[env.NAME]`.
    Variable,
    /// A key of a service's `env`.
    EnvironmentVariable,
    /// An entry of `profiles`.
    Profile,
}

/// A name that breaks its rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {} name `{name}`", kind.noun())]
pub struct NameError {
    /// What was being named.
    pub kind: NameKind,
    /// The name as written.
    pub name: String,
}

impl NameKind {
    fn noun(self) -> &'static str {
        match self {
            Self::Project => "project",
            Self::Service => "service",
            Self::Variable => "variable",
            Self::EnvironmentVariable => "environment variable",
            Self::Profile => "profile",
        }
    }

    /// Checks `name` against this kind's rule.
    pub fn check(self, name: &str) -> Result<(), NameError> {
        let valid = match self {
            Self::Project | Self::Service => is_project_name(name),
            Self::Variable => super::interpolate::is_var_name(name),
            Self::EnvironmentVariable => !name.is_empty() && !name.contains('='),
            Self::Profile => is_volume_name(name),
        };
        if valid {
            Ok(())
        } else {
            Err(NameError {
                kind: self,
                name: name.to_string(),
            })
        }
    }
}

impl NameError {
    /// The rule the name broke.
    pub fn help(&self) -> &'static str {
        match self.kind {
            NameKind::Project => {
                "Compose project names use lowercase letters, digits, `-` and `_`, and start with a letter or digit (e.g. `my-app`)"
            }
            NameKind::Service => {
                "service names use lowercase letters, digits, `-` and `_`, and start with a letter or digit"
            }
            NameKind::Variable => {
                "variable names use letters, digits and `_`, and do not start with a digit"
            }
            NameKind::EnvironmentVariable => "names must be non-empty and must not contain `=`",
            NameKind::Profile => "profile names use letters, digits, `-`, `_` and `.`",
        }
    }
}

/// Compose's rule: lowercase letters, digits, `-`, `_`, starting with a letter or digit.
pub fn is_project_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Docker's rule for volume names (also used for profiles): letters, digits, `-`, `_`, `.`,
/// starting with a letter or digit.
fn is_volume_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests;
