//! `tcp-model`: `check` runs the scenario suite and prints a table (exit status 1 on any
//! violation); `explore` serves stateright's Explorer for one scenario.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use stateright::Model;
use tcp_fsm::State;
use tcp_model::coverage::{self, Coverage};
use tcp_model::{TcpModel, diagram, pcap, run, suite};

const USAGE: &str = "usage:
  tcp-model check [FILTER] [--threads N] [--out DIR] [--loss N] [--dup N] [--reorder N] [--early N]
                  [--bug NAME]
      run every scenario whose name contains FILTER (all by default); print the table,
      counterexamples, reachability and transition coverage; write coverage.dot and one
      <scenario>-<property>.pcap per violation into DIR (default target/tcp-model).
      --loss/--dup/--reorder/--early override the scenarios' fault budgets;
      --bug NAME runs both peers with one of the core's deliberate bugs (tcp_fsm::Bug, e.g.
      SkipTimeWait; needs --features teeth) to show how check catches it
  tcp-model explore SCENARIO [ADDR]
      serve stateright's Explorer for SCENARIO on ADDR (default 127.0.0.1:3000)
  tcp-model list
      list the scenarios";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("check") => check(&args[1..]),
        Some("explore") => explore(&args[1..]),
        Some("list") => {
            for s in suite::all() {
                println!("{:<20} {}", s.name, s.summary);
            }
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn check(args: &[String]) -> ExitCode {
    let mut filter = String::new();
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut out = PathBuf::from("target/tcp-model");
    let mut overrides: [Option<u8>; 4] = [None; 4];
    let mut bug: Option<String> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--threads" => match it.next().and_then(|n| n.parse().ok()) {
                Some(n) => threads = n,
                None => return usage_error("--threads needs a number"),
            },
            "--out" => match it.next() {
                Some(dir) => out = PathBuf::from(dir),
                None => return usage_error("--out needs a directory"),
            },
            flag @ ("--loss" | "--dup" | "--reorder" | "--early") => {
                let i = ["--loss", "--dup", "--reorder", "--early"]
                    .iter()
                    .position(|f| *f == flag)
                    .unwrap_or(0);
                match it.next().and_then(|n| n.parse().ok()) {
                    Some(n) => overrides[i] = Some(n),
                    None => return usage_error(&format!("{flag} needs a number")),
                }
            }
            "--bug" => match it.next() {
                Some(name) => bug = Some(name.clone()),
                None => return usage_error("--bug needs a name"),
            },
            other if filter.is_empty() && !other.starts_with('-') => filter = other.to_string(),
            other => return usage_error(&format!("unexpected argument {other:?}")),
        }
    }
    let mut scenarios: Vec<_> = suite::all()
        .into_iter()
        .filter(|s| s.name.contains(&filter))
        .collect();
    for s in &mut scenarios {
        let f = &mut s.faults;
        for (budget, o) in [&mut f.loss, &mut f.dup, &mut f.reorder, &mut f.early]
            .into_iter()
            .zip(overrides)
        {
            if let Some(n) = o {
                *budget = n;
            }
        }
    }
    if scenarios.is_empty() {
        return usage_error(&format!("no scenario matches {filter:?}"));
    }
    if let Some(name) = &bug {
        if let Err(e) = set_bug(&mut scenarios, name) {
            return usage_error(&e);
        }
    }
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("cannot create {}: {e}", out.display());
        return ExitCode::from(2);
    }
    let start = Instant::now();
    let mut outcomes = Vec::new();
    for s in scenarios.iter().cloned() {
        eprintln!("checking {} ...", s.name);
        let o = run::check(s, threads);
        eprintln!(
            "  {} states, {} unique, {:.1} s: {}",
            o.states,
            o.unique,
            o.seconds,
            o.result()
        );
        outcomes.push(o);
    }
    let wall = start.elapsed().as_secs_f64();
    if let Some(name) = &bug {
        println!("with the core's deliberate bug {name} in both peers\n");
    }
    println!("{}", run::table(&outcomes));
    println!("whole suite: {wall:.1} s wall time on {threads} threads\n");

    for o in &outcomes {
        let Some(scenario) = scenarios.iter().find(|s| s.name == o.name) else {
            continue;
        };
        let model = TcpModel::new(scenario.clone());
        for v in &o.violations {
            println!(
                "=== {}: \"{}\" violated in {} steps",
                o.name,
                v.property,
                v.path.len() - 1
            );
            print!("{}", diagram::render(&model, &v.path));
            if let Some((last, _)) = v.path.last() {
                println!("last state: {last:#?}");
            }
            let file = out.join(format!(
                "{}-{}.pcap",
                o.name,
                v.property.replace([' ', ':'], "-")
            ));
            let bytes = pcap::file(&diagram::arrivals(&v.path), |p| {
                model.scenario.peers[p].policy
            });
            match std::fs::write(&file, bytes) {
                Ok(()) => println!("pcap: {}\n", file.display()),
                Err(e) => println!("pcap: cannot write {}: {e}\n", file.display()),
            }
        }
    }

    let mut total = Coverage::default();
    for o in &outcomes {
        total.merge(&o.coverage);
    }
    println!("states reached, per peer (scenarios that reach them):");
    for state in State::ALL {
        let who = |p: usize| {
            let names: Vec<&str> = outcomes
                .iter()
                .filter(|o| o.coverage.reached(p, state))
                .map(|o| o.name)
                .collect();
            if names.is_empty() {
                "-".to_string()
            } else {
                names.join(", ")
            }
        };
        println!(
            "  {:<12} A: {}\n  {:<12} B: {}",
            state.name(),
            who(0),
            "",
            who(1)
        );
    }
    println!();
    print!("{}", coverage::report(&total));
    let dot = out.join("coverage.dot");
    match std::fs::write(&dot, coverage::dot(&total)) {
        Ok(()) => println!("graphviz: {}", dot.display()),
        Err(e) => println!("graphviz: cannot write {}: {e}", dot.display()),
    }
    if outcomes.iter().all(run::Outcome::ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn explore(args: &[String]) -> ExitCode {
    let Some(name) = args.first() else {
        return usage_error("explore needs a scenario");
    };
    let Some(scenario) = suite::by_name(name) else {
        return usage_error(&format!("no scenario {name:?}"));
    };
    let addr = args.get(1).map_or("127.0.0.1:3000", String::as_str);
    println!("Explorer for {scenario} on http://{addr}");
    let _ = TcpModel::new(scenario).checker().serve(addr);
    ExitCode::SUCCESS
}

/// Puts the core's deliberate bug `name` into both peers' policies.
#[cfg(feature = "teeth")]
fn set_bug(scenarios: &mut [tcp_model::Scenario], name: &str) -> Result<(), String> {
    let bug = tcp_fsm::Bug::ALL
        .into_iter()
        .find(|b| format!("{b:?}").eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let names: Vec<String> = tcp_fsm::Bug::ALL.iter().map(|b| format!("{b:?}")).collect();
            format!("no bug {name:?}; the bugs: {}", names.join(", "))
        })?;
    for s in scenarios {
        for peer in &mut s.peers {
            peer.policy.bug = Some(bug);
        }
    }
    Ok(())
}

#[cfg(not(feature = "teeth"))]
fn set_bug(_: &mut [tcp_model::Scenario], _: &str) -> Result<(), String> {
    Err("--bug needs the teeth feature: cargo run --release -p tcp-model --features teeth -- check --bug NAME".into())
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("{msg}\n\n{USAGE}");
    ExitCode::from(2)
}
