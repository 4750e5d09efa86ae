//! The host-access policy: `privileged`, `network_mode = "host"` and `docker_socket` give a
//! container power over the machine, so each needs `allow_host_access = true` in the same
//! service.

use super::model::HostAccess;
use super::raw::RawService;
use crate::diagnostic::{Diagnostic, SourceFile};
use std::ops::Range;

/// One power a service asked for: where, the key as written, and what it allows.
struct Asked {
    span: Range<usize>,
    key: &'static str,
    why: &'static str,
}

/// The host access `service` asked for; an error at the first key asked without the opt-in.
pub(super) fn host_access(
    src: &SourceFile,
    service: &str,
    raw: &RawService,
) -> Result<HostAccess, Diagnostic> {
    let mut access = HostAccess::default();
    let mut asked: Vec<Asked> = Vec::new();
    if let Some(p) = &raw.privileged
        && *p.get_ref()
    {
        access.privileged = true;
        asked.push(Asked {
            span: p.span(),
            key: "privileged = true",
            why: "gives the container full control of this machine",
        });
    }
    if let Some(mode) = &raw.network_mode {
        match mode.get_ref().as_str() {
            "host" => {
                access.host_network = true;
                asked.push(Asked {
                    span: mode.span(),
                    key: "network_mode = \"host\"",
                    why: "puts the container on this machine's network, bypassing port publishing",
                });
            }
            "bridge" => {}
            other => {
                return Err(src
                    .diagnostic(mode.span(), format!("unsupported network_mode `{other}`"))
                    .with_help("leave it out (the project network), or `\"host\"` with `allow_host_access = true`"));
            }
        }
    }
    if let Some(d) = &raw.docker_socket
        && *d.get_ref()
    {
        access.docker_socket = true;
        asked.push(Asked {
            span: d.span(),
            key: "docker_socket = true",
            why: "lets the container control Docker, and through it this machine",
        });
    }
    if !raw.allow_host_access
        && let Some(first) = asked.first()
    {
        return Err(src
            .diagnostic(
                first.span.clone(),
                format!(
                    "service `{service}` asks for `{}`, which {}",
                    first.key, first.why
                ),
            )
            .with_help(format!(
                "if that is intended, add `allow_host_access = true` to [services.{service}]"
            )));
    }
    Ok(access)
}
