use super::*;

#[test]
fn durations_parse() {
    assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    assert_eq!(parse_duration(" 1h "), Ok(Duration::from_secs(3600)));
    for bad in ["5", "", "soon", "1x", "1s5", "+1s", "-1s", "1 s"] {
        assert_eq!(
            parse_duration(bad),
            Err(DurationError::Invalid(bad.to_string())),
            "{bad}"
        );
    }
    assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    assert_eq!(format_duration(Duration::from_secs(2)), "2s");
}

#[test]
fn durations_too_large_are_refused_not_wrapped() {
    for text in [
        "18446744073709551615s1s",
        "999999999999999999h",
        "99999999999999999999999ms",
        "2562047h1ms",
        "307445734561825860m",
    ] {
        let error = parse_duration(text).expect_err(text);
        assert_eq!(error, DurationError::TooLarge(text.to_string()));
        assert_eq!(
            error.to_string(),
            format!(
                "duration `{text}` is too large: the largest accepted is `2562047h` (about 292 years)"
            )
        );
    }
}

#[test]
fn the_largest_duration_is_accepted_and_fits_docker() {
    assert_eq!(parse_duration(MAX_DURATION_TEXT), Ok(MAX_DURATION));
    assert!(MAX_DURATION.as_nanos() <= i64::MAX as u128);
    assert_eq!(
        parse_duration(&format_duration(MAX_DURATION)),
        Ok(MAX_DURATION)
    );
}

#[test]
fn ports_parse_and_format() {
    let spec: PortSpec = "15432:5432".parse().unwrap();
    assert_eq!(
        spec,
        PortSpec {
            host: Some(15432),
            container: 5432,
            protocol: Protocol::Tcp
        }
    );
    assert_eq!(spec.to_string(), "15432:5432");
    let spec: PortSpec = "53/udp".parse().unwrap();
    assert_eq!(spec.to_string(), "53/udp");
    assert_eq!("80/tcp".parse::<PortSpec>().unwrap().to_string(), "80");
    assert_eq!(
        spec.into_port("dns", 1).host,
        HostPort::Variable {
            name: "DNS_PORT_53".into(),
            default: 53
        }
    );
}

#[test]
fn bad_ports_say_which_part_is_wrong() {
    assert_eq!("80/sctp".parse::<PortSpec>(), Err(PortError::Protocol));
    assert_eq!("0:80".parse::<PortSpec>(), Err(PortError::HostPort));
    assert_eq!("99999".parse::<PortSpec>(), Err(PortError::ContainerPort));
    assert_eq!("1:2:3".parse::<PortSpec>(), Err(PortError::ContainerPort));
    assert_eq!(
        PortError::HostPort.to_string(),
        "the host port is not 1-65535"
    );
}

#[test]
fn volumes_parse_and_format() {
    let spec: VolumeSpec = "data:/var/lib/data:ro".parse().unwrap();
    assert!(!spec.is_bind() && spec.read_only);
    assert_eq!(spec.to_string(), "data:/var/lib/data:ro");
    assert_eq!(
        spec.into_volume("db"),
        Volume::Named {
            name: "db-data".into(),
            target: "/var/lib/data".into(),
            read_only: true
        }
    );
    let spec: VolumeSpec = "./site:/srv:rw".parse().unwrap();
    assert!(spec.is_bind() && !spec.read_only);
    assert_eq!(spec.to_string(), "./site:/srv");
}

#[test]
fn bad_volumes_name_the_problem() {
    assert_eq!(
        "data".parse::<VolumeSpec>(),
        Err(VolumeError::Shape("data".into()))
    );
    assert_eq!(
        "data:rel".parse::<VolumeSpec>().unwrap_err().to_string(),
        "volume `data:rel`: the container path `rel` must be absolute"
    );
    assert_eq!(
        "-x:/d".parse::<VolumeSpec>().unwrap_err().to_string(),
        "invalid volume name `-x`"
    );
}

#[test]
fn health_checks_need_exactly_one_kind() {
    let http = RawHealth {
        http: Some("health".into()),
        ..RawHealth::default()
    };
    assert_eq!(
        HealthCheck::parse(&http, Some(8080)),
        Ok(HealthCheck::Http {
            path: "/health".into(),
            port: 8080
        })
    );
    assert_eq!(HealthCheck::parse(&http, None), Err(HealthError::HttpPort));
    let none = RawHealth::default();
    assert_eq!(
        HealthCheck::parse(&none, None),
        Err(HealthError::NotExactlyOne)
    );
    let empty_cmd = RawHealth {
        cmd: Some(vec![]),
        ..RawHealth::default()
    };
    assert_eq!(
        HealthCheck::parse(&empty_cmd, None),
        Err(HealthError::NotExactlyOne)
    );
}

#[test]
fn names_follow_their_rules() {
    assert!(NameKind::Project.check("my-app_1").is_ok());
    let e = NameKind::Project.check("My.App").unwrap_err();
    assert_eq!(e.to_string(), "invalid project name `My.App`");
    assert_eq!(
        NameKind::EnvironmentVariable
            .check("A=B")
            .unwrap_err()
            .to_string(),
        "invalid environment variable name `A=B`"
    );
    assert!(NameKind::Profile.check("dev.tools").is_ok());
    assert!(NameKind::Variable.check("1X").is_err());
}
