#!/usr/bin/env bash
# Executions per second of every target, in one sitting: each target SECONDS_EACH seconds
# (default 30) from its committed corpus, first without sanitizer (stable), then with ASan
# (nightly). Prints `target mode exec/s`. Run from anywhere; nothing else should be running.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${SECONDS_EACH:-30}"
for mode in none asan; do
  for t in empty wire segments pair listener sockets; do
    work="$(mktemp -d)"
    if [ -d "corpus/$t" ]; then cp corpus/"$t"/* "$work"/; fi
    extra=()
    [ "$t" = wire ] && extra=(-dict=dict/wire.dict)
    if [ "$mode" = none ]; then
      run=(cargo fuzz run --sanitizer none "$t")
    else
      run=(cargo +nightly fuzz run "$t")
    fi
    rate="$("${run[@]}" "$work" -- -max_total_time="$secs" -print_final_stats=1 "${extra[@]}" 2>&1 |
      awk '/average_exec_per_sec/ {print $2}')"
    printf '%-9s %-5s %10s exec/s  (%s UTC, load %s)\n' "$t" "$mode" "$rate" \
      "$(date -u +%T)" "$(cut -d' ' -f1 /proc/loadavg)"
    rm -rf "$work"
  done
done
