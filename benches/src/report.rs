//! Reads criterion's results (`target/criterion/<group>/<bench>/new/estimates.json`) and prints
//! medians, ours beside smoltcp, with the ratio.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where criterion writes: `$CARGO_TARGET_DIR/criterion`, else `target/criterion` of the
/// workspace (found from the running executable, which lives in `target/<profile>/...`).
#[must_use]
pub fn criterion_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir).join("criterion");
    }
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .map_or_else(
            || PathBuf::from("target/criterion"),
            |t| t.join("criterion"),
        )
}

/// The median, in nanoseconds, of the bench `id` (its path under the criterion directory, such
/// as `peer/steady/ours_connection`), from its latest run.
#[must_use]
pub fn median_ns(dir: &Path, id: &str) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join(id).join("new/estimates.json")).ok()?;
    // {"mean":{...},"median":{"confidence_interval":{...},"point_estimate":123.4,...},...}
    let median = &text[text.find("\"median\"")?..];
    let at = median.find("\"point_estimate\":")? + "\"point_estimate\":".len();
    let rest = &median[at..];
    let end = rest.find([',', '}'])?;
    rest[..end].trim().parse().ok()
}

/// Formats nanoseconds for a table.
#[must_use]
pub fn ns(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.2} µs", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0} ns")
    } else {
        format!("{v:.1} ns")
    }
}

/// A Markdown table of `rows`: (label, our bench id, smoltcp's bench id or none, divisor to turn
/// a bench's time into the row's unit, e.g. 2 for per-segment of a 2-segment exchange).
#[must_use]
pub fn table(dir: &Path, rows: &[(&str, &str, Option<&str>, f64)]) -> String {
    let mut out = String::from("| benchmark | ours (median) | smoltcp (median) | ours/smoltcp |\n");
    out.push_str("|---|---:|---:|---:|\n");
    for &(label, ours, peer, per) in rows {
        let o = median_ns(dir, ours).map(|v| v / per);
        let p = peer.and_then(|id| median_ns(dir, id)).map(|v| v / per);
        let cell = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), ns);
        let ratio = match (o, p) {
            (Some(o), Some(p)) if p > 0.0 => format!("{:.3} (1/{:.1})", o / p, p / o),
            _ => "-".to_owned(),
        };
        let _ = writeln!(out, "| {label} | {} | {} | {ratio} |", cell(o), cell(p));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_median_point_estimate() {
        let dir = std::env::temp_dir().join(format!("tcp-benches-report-{}", std::process::id()));
        let bench = dir.join("g/b/new");
        std::fs::create_dir_all(&bench).unwrap();
        std::fs::write(
            bench.join("estimates.json"),
            r#"{"mean":{"point_estimate":9.0},"median":{"confidence_interval":{"lower_bound":1.0},"point_estimate":12.5,"standard_error":0.1}}"#,
        )
        .unwrap();
        assert_eq!(median_ns(&dir, "g/b"), Some(12.5));
        assert_eq!(median_ns(&dir, "g/missing"), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
