//! What a running service offers the host, computed from its `ContainerSpec`: the address that
//! reaches a published port and the connection URL a catalog service advertises. Pure; the
//! probes, the reports and the database target all read these.

use crate::plan::ContainerSpec;
use crate::stack::{Service, interpolate};

/// A container environment value from a spec (`KEY=value` entries).
pub fn env_value<'a>(spec: &'a ContainerSpec, key: &str) -> Option<&'a str> {
    spec.env
        .iter()
        .find_map(|e| e.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
}

/// The address to reach a published port from the host.
pub fn reach_host(host_ip: &str) -> &str {
    match host_ip {
        "0.0.0.0" | "::" | "" => "127.0.0.1",
        other => other,
    }
}

/// The connection URL a catalog service offers, with host, port and credentials filled in.
pub fn connection_url(service: &Service, spec: &ContainerSpec) -> Option<String> {
    let template = service.url.as_ref()?;
    let port = spec.ports.first()?;
    let lookup = |name: &str| match name {
        "HOST" => Some(reach_host(&port.host_ip).to_string()),
        "PORT" => Some(port.host_port.to_string()),
        other => env_value(spec, other).map(str::to_string),
    };
    interpolate::expand(template, &lookup).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_binds_are_reached_on_loopback() {
        assert_eq!(reach_host("0.0.0.0"), "127.0.0.1");
        assert_eq!(reach_host("::"), "127.0.0.1");
        assert_eq!(reach_host(""), "127.0.0.1");
        assert_eq!(reach_host("127.0.0.2"), "127.0.0.2");
    }

    #[test]
    fn the_shop_database_offers_its_url_with_the_values_in_force() {
        let stack = crate::stack::tests_support::shop_at(std::path::Path::new("."));
        let db = &stack.services["db"];
        let values = crate::env::Values(
            [("DB_PASSWORD", "s3cret"), ("DB_PORT", "5433")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        let spec = crate::plan::container_spec(&stack, db, &values, &Default::default());
        assert_eq!(env_value(&spec, "POSTGRES_PASSWORD"), Some("s3cret"));
        assert_eq!(
            connection_url(db, &spec).as_deref(),
            Some("postgres://shop:s3cret@127.0.0.1:5433/shop")
        );
    }
}
