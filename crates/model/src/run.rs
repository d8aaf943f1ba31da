//! Running a scenario exhaustively and reporting it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasher, RandomState};
use std::time::Instant;

use stateright::{Checker, Expectation, Model};

use crate::coverage::Coverage;
use crate::model::{Action, ModelState, TcpModel};
use crate::scenario::Scenario;

/// A property violated in a scenario, with the path that shows it.
#[derive(Clone, Debug)]
pub struct Violation {
    /// The property's name.
    pub property: &'static str,
    /// The shortest path found, states with the action taken from each.
    pub path: Vec<(ModelState, Option<Action>)>,
}

/// What checking one scenario found.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The scenario's name.
    pub name: &'static str,
    /// Its bounds.
    pub bounds: String,
    /// States generated, repeats included.
    pub states: usize,
    /// Distinct states.
    pub unique: usize,
    /// The deepest path explored.
    pub depth: usize,
    /// Wall time.
    pub seconds: f64,
    /// Safety or quiescence properties violated.
    pub violations: Vec<Violation>,
    /// Expected `sometimes` properties never reached.
    pub unreached: Vec<&'static str>,
    /// Edges and states the exploration took.
    pub coverage: Coverage,
}

impl Outcome {
    /// Whether the scenario passed.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.violations.is_empty() && self.unreached.is_empty()
    }

    /// The result column.
    #[must_use]
    pub fn result(&self) -> String {
        if self.ok() {
            return "ok".into();
        }
        let mut parts: Vec<String> = self
            .violations
            .iter()
            .map(|v| format!("VIOLATED {}", v.property))
            .collect();
        parts.extend(self.unreached.iter().map(|n| format!("UNREACHED {n}")));
        parts.join("; ")
    }
}

/// Checks `scenario` exhaustively with breadth-first search on `threads` threads.
#[must_use]
pub fn check(scenario: Scenario, threads: usize) -> Outcome {
    let model = TcpModel::new(scenario.clone());
    let recorder = model.recorder.clone();
    let properties = model.properties();
    let start = Instant::now();
    let checker = model.checker().threads(threads).spawn_bfs().join();
    let seconds = start.elapsed().as_secs_f64();
    let discoveries = checker.discoveries();
    let mut violations = Vec::new();
    let mut unreached = Vec::new();
    for p in &properties {
        match p.expectation {
            Expectation::Always | Expectation::Eventually => {
                if let Some(found) = discoveries.get(p.name) {
                    let model = TcpModel::new(scenario.clone());
                    let path = shortest_violation(&model, p.name, 2_000_000)
                        .unwrap_or_else(|| found.clone().into_vec());
                    violations.push(Violation {
                        property: p.name,
                        path,
                    });
                }
            }
            Expectation::Sometimes => {
                if !discoveries.contains_key(p.name) {
                    unreached.push(p.name);
                }
            }
        }
    }
    Outcome {
        name: scenario.name,
        bounds: scenario.bounds(),
        states: checker.state_count(),
        unique: checker.unique_state_count(),
        depth: checker.max_depth(),
        seconds,
        violations,
        unreached,
        coverage: recorder.snapshot(),
    }
}

/// The shortest path to a state violating `property`, by a single-threaded breadth-first
/// search of at most `limit` states (stateright keeps the last discovery a thread makes, which
/// is not always the shortest).
#[must_use]
pub fn shortest_violation(
    model: &TcpModel,
    property: &str,
    limit: usize,
) -> Option<Vec<(ModelState, Option<Action>)>> {
    let prop = model
        .properties()
        .into_iter()
        .find(|p| p.name == property)?;
    let hasher = RandomState::new();
    let mut seen: HashMap<u64, ()> = HashMap::new();
    // (state, parent index, action from the parent)
    let mut nodes: Vec<(ModelState, usize, Option<Action>)> = Vec::new();
    for s in model.init_states() {
        seen.insert(hasher.hash_one(&s), ());
        nodes.push((s, usize::MAX, None));
    }
    let mut next = 0;
    let mut actions = Vec::new();
    while next < nodes.len() && nodes.len() < limit {
        if !(prop.condition)(model, &nodes[next].0) {
            let mut path = Vec::new();
            let mut i = next;
            let mut action = None;
            while i != usize::MAX {
                let (s, parent, a) = &nodes[i];
                path.push((s.clone(), action));
                action = *a;
                i = *parent;
            }
            path.reverse();
            return Some(path);
        }
        model.actions(&nodes[next].0, &mut actions);
        for a in actions.drain(..) {
            if let Some(s) = model.next_state(&nodes[next].0, a) {
                if seen.insert(hasher.hash_one(&s), ()).is_none() {
                    nodes.push((s, next, Some(a)));
                }
            }
        }
        next += 1;
    }
    None
}

/// The `check` table.
#[must_use]
pub fn table(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<20} {:<66} {:>11} {:>10} {:>5} {:>8} {:>10}  result",
        "scenario", "bounds", "states", "unique", "depth", "seconds", "states/s"
    );
    for o in outcomes {
        let _ = writeln!(
            out,
            "{:<20} {:<66} {:>11} {:>10} {:>5} {:>8.2} {:>10.0}  {}",
            o.name,
            o.bounds,
            o.states,
            o.unique,
            o.depth,
            o.seconds,
            o.states as f64 / o.seconds.max(1e-9),
            o.result()
        );
    }
    out
}
