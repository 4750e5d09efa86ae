//! Case 24: property-based tests (proptest) for the stack parser, its value parsers
//! (durations, ports, volumes), interpolation and the `.env` reader/writer (no panic on any
//! input; format → parse round-trips values; overflowing durations are errors), and the corpus
//! in `fuzz/corpus/` replayed. `PROPTEST_CASES` sets how many cases each property tries.

use devenv::diagnostic::SourceFile;
use devenv::stack::interpolate;
use devenv::stack::parse::{
    DurationError, MAX_DURATION, PortSpec, Protocol, VolumeSpec, format_duration, parse_duration,
};
use proptest::prelude::*;
use std::path::Path;
use std::time::Duration;

fn load(text: &str) {
    let _ = devenv::stack::load_source(
        &SourceFile::new("devenv.toml", text),
        Path::new("/nonexistent"),
        Path::new("/nonexistent/devenv.toml"),
    );
}

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A devenv.toml built from pieces, so most inputs get past the TOML parser.
fn stack_text() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        "[a-z0-9:./_-]{0,12}",
        "\\$\\{[A-Z_]{0,6}(:-[a-z]{0,3})?\\}?",
        ".{0,10}",
    ];
    (
        "[a-zA-Z0-9._-]{0,10}",
        proptest::collection::vec(
            (
                "[a-z][a-z0-9-]{0,6}",
                value.clone(),
                "[0-9:/a-z]{0,11}",
                proptest::option::of("[a-z]{0,9}"),
            ),
            0..4,
        ),
        proptest::collection::vec(("[A-Z_]{1,8}", value, any::<bool>()), 0..4),
    )
        .prop_map(|(project, services, env)| {
            let mut text = format!("[project]\nname = {}\n", toml::Value::String(project));
            for (name, image, port, uses) in services {
                text.push_str(&format!(
                    "[services.{name}]\nimage = {}\nports = [{}]\n",
                    toml::Value::String(image),
                    toml::Value::String(port)
                ));
                if let Some(uses) = uses {
                    text.push_str(&format!(
                        "use = {}\ndepends_on = [{}]\n",
                        toml::Value::String(uses.clone()),
                        toml::Value::String(uses)
                    ));
                }
            }
            for (name, value, secret) in env {
                text.push_str(&format!(
                    "[env.{name}]\nvalue = {}\nsecret = {secret}\n",
                    toml::Value::String(value)
                ));
            }
            text
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_stack_parser_never_panics_on_any_text(text in ".{0,300}") {
        load(&text);
    }

    #[test]
    fn the_stack_parser_never_panics_on_near_valid_stacks(text in stack_text()) {
        load(&text);
    }

    #[test]
    fn interpolation_never_panics_and_escape_round_trips(text in ".{0,80}") {
        let _ = interpolate::parse(&text);
        let _ = interpolate::references(&text);
        let _ = interpolate::expand(&text, &|name| (name.len() % 2 == 0).then(|| name.to_string()));
        let escaped = interpolate::escape(&text);
        prop_assert_eq!(interpolate::expand(&escaped, &|_| None).unwrap(), text);
    }

    #[test]
    fn the_env_reader_never_panics_and_every_error_names_a_line(text in "(.|\r?\n|[ '\"#=$\\\\{}]){0,200}") {
        if let Err(e) = devenv::env::dotenv::parse(Path::new(".env"), text.clone()) {
            let location = e.location.as_ref();
            prop_assert!(location.is_some(), "{text:?}: {e}");
            let line = location.map_or(0, |l| l.line);
            prop_assert!(line >= 1 && line <= text.split('\n').count(), "{text:?}: {e}");
        }
    }

    #[test]
    fn env_values_written_by_devenv_read_back_unchanged(value in "[^\r\u{0}]{0,60}", key in "[A-Z][A-Z0-9_]{0,8}") {
        let text = format!("{key}={}\n", devenv::env::dotenv::quote(&value));
        let file = devenv::env::dotenv::parse(Path::new(".env"), text).unwrap();
        prop_assert_eq!(&file.values[&key], &value);
    }

    #[test]
    fn stack_values_rendered_into_env_read_back_expanded(literal in "[^\r\u{0}]{0,40}") {
        let template = format!("{}${{A}}", interpolate::escape(&literal));
        let text = format!("A=a\nX={}\n", devenv::env::dotenv::render_template(&template));
        let file = devenv::env::dotenv::parse(Path::new(".env"), text).unwrap();
        prop_assert_eq!(&file.values["X"], &format!("{literal}a"));
    }
}

/// Text close to a duration: numbers of any size with units, some wrong.
fn duration_like_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(("[0-9]{0,22}", "(ms|s|m|h|x|)"), 0..5)
        .prop_map(|pieces| pieces.into_iter().map(|(n, u)| n + &u).collect())
}

/// `<number><unit>` pieces, with numbers anywhere in u64 (small ones likelier).
fn duration_pieces() -> impl Strategy<Value = Vec<(u64, &'static str)>> {
    let number = prop_oneof![0u64..1000, 0u64..10_000_000_000, any::<u64>()];
    let unit = prop_oneof![Just("ms"), Just("s"), Just("m"), Just("h")];
    proptest::collection::vec((number, unit), 1..4)
}

/// A volume as a stack writes it: a name or a project path, an absolute target, maybe `:ro`.
fn volume_spec() -> impl Strategy<Value = VolumeSpec> {
    (
        prop_oneof!["[a-zA-Z0-9][a-zA-Z0-9_.-]{0,10}", "\\./[a-z0-9_/-]{0,10}"],
        "/[a-zA-Z0-9_./-]{0,16}",
        any::<bool>(),
    )
        .prop_map(|(source, target, read_only)| VolumeSpec {
            source,
            target,
            read_only,
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_duration_parser_never_panics(any_text in ".{0,40}", near in duration_like_text()) {
        let _ = parse_duration(&any_text);
        let _ = parse_duration(&near);
    }

    #[test]
    fn durations_round_trip(millis in 0..=MAX_DURATION.as_millis() as u64) {
        let duration = Duration::from_millis(millis);
        prop_assert_eq!(parse_duration(&format_duration(duration)), Ok(duration));
    }

    #[test]
    fn durations_are_exact_or_too_large_never_wrapped(pieces in duration_pieces()) {
        let text: String = pieces.iter().map(|(n, unit)| format!("{n}{unit}")).collect();
        let millis: u128 = pieces
            .iter()
            .map(|(n, unit)| {
                let per_unit: u128 = match *unit {
                    "ms" => 1,
                    "s" => 1000,
                    "m" => 60_000,
                    _ => 3_600_000,
                };
                u128::from(*n) * per_unit
            })
            .sum();
        if millis <= MAX_DURATION.as_millis() {
            prop_assert_eq!(
                parse_duration(&text).map(|d| d.as_millis()),
                Ok(millis)
            );
        } else {
            prop_assert_eq!(parse_duration(&text), Err(DurationError::TooLarge(text.clone())));
        }
    }

    #[test]
    fn the_port_parser_never_panics(any_text in ".{0,24}", near in "[0-9:/a-z]{0,16}") {
        let _ = any_text.parse::<PortSpec>();
        let _ = near.parse::<PortSpec>();
    }

    #[test]
    fn ports_round_trip(host in proptest::option::of(1u16..), container in 1u16.., udp in any::<bool>()) {
        let spec = PortSpec {
            host,
            container,
            protocol: if udp { Protocol::Udp } else { Protocol::Tcp },
        };
        prop_assert_eq!(spec.to_string().parse::<PortSpec>(), Ok(spec));
    }

    #[test]
    fn the_volume_parser_never_panics(any_text in ".{0,40}", near in "[a-z0-9./~:-]{0,24}") {
        let _ = any_text.parse::<VolumeSpec>();
        let _ = near.parse::<VolumeSpec>();
    }

    #[test]
    fn volumes_round_trip(spec in volume_spec()) {
        prop_assert_eq!(spec.to_string().parse::<VolumeSpec>(), Ok(spec));
    }
}

#[test]
fn the_corpus_replays_without_panics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut count = 0;
    for (dir, run) in [
        ("stack", &(|t: &str| load(t)) as &dyn Fn(&str)),
        ("dotenv", &|t: &str| {
            let _ = devenv::env::dotenv::parse(Path::new(".env"), t.to_string());
        }),
        ("interpolate", &|t: &str| {
            let _ = interpolate::expand(t, &|_| None);
        }),
    ] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
            let bytes = std::fs::read(entry.path()).unwrap();
            run(&String::from_utf8_lossy(&bytes));
            count += 1;
        }
    }
    assert!(count >= 8, "the corpus is there: {count} files");
}
