#!/usr/bin/env bash
# Coverage of crates/fsm/src reached by each target's corpus after a while of fuzzing: fuzz each
# target for SECONDS_EACH seconds (default 150; two at a time, no sanitizer) into a scratch
# corpus seeded with corpus/<target>, then `cargo fuzz coverage` and `llvm-cov report`, per
# target and for the union of the five. Needs `rustup component add --toolchain nightly
# llvm-tools-preview`.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${SECONDS_EACH:-150}"
scratch="${COVERAGE_CORPUS:-/tmp/tcp-fsm-cov}"
rm -rf "$scratch"
for pair in "wire segments" "pair listener" "sockets"; do
  for t in $pair; do
    mkdir -p "$scratch/$t"
    cp corpus/"$t"/* "$scratch/$t"/
    extra=()
    [ "$t" = wire ] && extra=(-dict=dict/wire.dict)
    cargo fuzz run --sanitizer none "$t" "$scratch/$t" -- -max_total_time="$secs" \
      "${extra[@]}" >"$scratch/$t.log" 2>&1 &
  done
  wait
done
for t in wire segments pair listener sockets; do
  cargo +nightly fuzz coverage "$t" "$scratch/$t" >"$scratch/$t.coverage.log" 2>&1
done
bin="$(rustc +nightly --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin"
objs=target/x86_64-unknown-linux-gnu/coverage/x86_64-unknown-linux-gnu/release
ignore='(\.cargo|rustc|/fuzz/|/crates/model/)'
row() { awk -v t="$1" '/TOTAL/ {printf "%-9s regions %s/%s = %s   lines %s/%s = %s\n", t, $2-$3, $2, $4, $8-$9, $8, $10}'; }
for t in wire segments pair listener sockets; do
  "$bin/llvm-cov" report "$objs/$t" -instr-profile="coverage/$t/coverage.profdata" \
    --ignore-filename-regex="$ignore" 2>/dev/null | row "$t"
done
"$bin/llvm-profdata" merge -sparse coverage/{wire,segments,pair,listener,sockets}/coverage.profdata \
  -o "$scratch/union.profdata"
"$bin/llvm-cov" report "$objs/wire" -object "$objs/segments" -object "$objs/pair" \
  -object "$objs/listener" -object "$objs/sockets" -instr-profile="$scratch/union.profdata" \
  --ignore-filename-regex="$ignore" 2>/dev/null >"$scratch/union.txt"
row union <"$scratch/union.txt"
awk '/fsm\/src/ {sub(".*/fsm/src/", "", $1); printf "  %-14s regions %7s  lines %7s\n", $1, $4, $10}' \
  "$scratch/union.txt"
