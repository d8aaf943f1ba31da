//! Prints the results table from criterion's last run of every bench of this crate: medians,
//! ours beside smoltcp, and the ratio.
//!
//! `cargo bench -p tcp-benches && cargo run -p tcp-benches --bin report`

use tcp_benches::hot::Path;
use tcp_benches::report::{criterion_dir, median_ns, ns, table};

fn main() {
    let dir = criterion_dir();
    println!("criterion results in {}\n", dir.display());
    let mut rows: Vec<(String, String, Option<String>, f64)> = Vec::new();
    for path in Path::ALL {
        let name = path.name();
        rows.push((
            format!("state machine only: {name}"),
            format!("hot_state_machine/{name}"),
            None,
            1.0,
        ));
    }
    for path in Path::ALL {
        let name = path.name();
        rows.push((
            format!("parse + state machine + emit: {name}"),
            format!("hot_with_bytes/{name}"),
            None,
            1.0,
        ));
    }
    for (label, id) in [
        (
            "wire: parse + verify, 1-octet data segment",
            "wire/parse_data",
        ),
        ("wire: emit + checksum, ACK", "wire/emit_ack"),
    ] {
        rows.push((label.into(), id.into(), None, 1.0));
    }
    for (label, ours) in [
        (
            "steady 1-octet exchange, per segment (Connection)",
            "steady/ours_connection",
        ),
        (
            "steady 1-octet exchange, per segment (Endpoint)",
            "steady/ours_endpoint",
        ),
    ] {
        rows.push((
            label.into(),
            ours.into(),
            Some("steady/smoltcp".into()),
            2.0,
        ));
    }
    rows.push((
        "lifecycle (handshake, 1 octet each way, close)".into(),
        "lifecycle/ours".into(),
        Some("lifecycle/smoltcp".into()),
        1.0,
    ));
    let borrowed: Vec<(&str, &str, Option<&str>, f64)> = rows
        .iter()
        .map(|(l, o, p, d)| (l.as_str(), o.as_str(), p.as_deref(), *d))
        .collect();
    println!("{}", table(&dir, &borrowed));

    println!(
        "| connections (and as many TIME-WAIT entries) | data segment | ratio to 1 | TIME-WAIT FIN | ratio to 1 |"
    );
    println!("|---:|---:|---:|---:|---:|");
    let base = (
        median_ns(&dir, "scale/established/1"),
        median_ns(&dir, "scale/time_wait/1"),
    );
    for n in tcp_benches::scale::SIZES {
        let e = median_ns(&dir, &format!("scale/established/{n}"));
        let t = median_ns(&dir, &format!("scale/time_wait/{n}"));
        let cell = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), ns);
        let ratio = |v: Option<f64>, b: Option<f64>| match (v, b) {
            (Some(v), Some(b)) => format!("{:.2}x", v / b),
            _ => "-".to_owned(),
        };
        println!(
            "| {n} | {} | {} | {} | {} |",
            cell(e),
            ratio(e, base.0),
            cell(t),
            ratio(t, base.1)
        );
    }
    if let Ok(memory) = std::fs::read_to_string(dir.join("scale").join("memory.md")) {
        println!("\n{memory}");
    }
}
