//! Times devenv's port check on a 20-service stack: for every host port, a bind test on
//! 127.0.0.1 plus a match against the ports all running containers publish (one engine list
//! call). Run with `cargo run --release --example port_check`. Prints the median of 50 runs.

use devenv::diagnostic::SourceFile;
use devenv::engine::Engine;
use devenv::env::Values;
use std::time::{Duration, Instant};

fn main() {
    let mut text = String::from("[project]\nname = \"portbench\"\n");
    for i in 0..20 {
        text.push_str(&format!(
            "[services.svc{i}]\nimage = \"redis:7\"\nports = [\"{}\"]\n",
            41000 + i
        ));
    }
    let stack = devenv::stack::load_source(
        &SourceFile::new("devenv.toml", text),
        std::path::Path::new("."),
        std::path::Path::new("devenv.toml"),
    )
    .expect("the generated stack is valid");
    let values = Values::resolve(&stack, &Default::default());
    let services = devenv::ports::all_services(&stack);
    // One port held by this process, so the holder lookup through /proc is in the timing too.
    let _held = std::net::TcpListener::bind("127.0.0.1:41005").ok();

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let engine = runtime.block_on(Engine::connect()).ok();
    let mut local = Vec::new();
    let mut with_engine = Vec::new();
    for _ in 0..50 {
        let start = Instant::now();
        let wanted = devenv::ports::wanted(&services, &values);
        let conflicts = devenv::ports::conflicts(&wanted, &[], "portbench");
        local.push(start.elapsed());
        assert_eq!(conflicts.len(), usize::from(_held.is_some()));
        if let Some(engine) = &engine {
            let start = Instant::now();
            let published = runtime
                .block_on(engine.published_ports())
                .expect("list containers");
            let wanted = devenv::ports::wanted(&services, &values);
            devenv::ports::conflicts(&wanted, &published, "portbench");
            with_engine.push(start.elapsed());
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    println!("20 services, 20 host ports, 1 held (holder found through /proc), median of 50 runs:");
    println!(
        "  bind checks + holder lookup:             {:>8.2} ms",
        median(&mut local).as_secs_f64() * 1000.0
    );
    if !with_engine.is_empty() {
        println!(
            "  with the engine's container list (full): {:>8.2} ms",
            median(&mut with_engine).as_secs_f64() * 1000.0
        );
    } else {
        println!("  (no Docker Engine reachable: container check not measured)");
    }
}
