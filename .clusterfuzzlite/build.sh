#!/bin/bash -eu
# Builds the cargo-fuzz targets into $OUT, with each target's seed corpus
# ($OUT/<target>_seed_corpus.zip) and the `wire` dictionary ($OUT/wire.dict).
#
# In the ClusterFuzzLite/OSS-Fuzz image, $SRC and $OUT are set, the toolchain is nightly and
# `cargo` passes the sanitizer's flags. Here, locally:
#   SRC=/tmp/cflite/src OUT=/tmp/cflite/out .clusterfuzzlite/build.sh
# builds with AddressSanitizer on nightly (`SANITIZER=none` for a stable build without one).
# $SRC/tcp-fsm is the checkout; when it is missing, the checkout this script lives in is used.

repo="$SRC/tcp-fsm"
if [ ! -d "$repo/fuzz" ]; then
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fi
mkdir -p "$OUT"
cd "$repo/fuzz"

# The image's default toolchain is a nightly; elsewhere ask rustup for one.
cargo=(cargo)
if ! rustc --version | grep -q nightly; then
  cargo=(cargo +nightly)
fi
sanitizer=()
case "${SANITIZER:-address}" in
  none)
    cargo=(cargo)
    sanitizer=(--sanitizer none)
    ;;
  address | undefined | memory | thread | coverage)
    # OSS-Fuzz's cargo wrapper adds the right flags for its SANITIZER; cargo-fuzz's own
    # default (address) is what runs locally.
    ;;
esac

"${cargo[@]}" fuzz build -O --debug-assertions "${sanitizer[@]}"

release=target/x86_64-unknown-linux-gnu/release
for target in $("${cargo[@]}" fuzz list); do
  # `empty` measures the harness's own speed; there is nothing in it to fuzz.
  [ "$target" = empty ] && continue
  cp "$release/$target" "$OUT/"
  if [ -d "corpus/$target" ]; then
    rm -f "$OUT/${target}_seed_corpus.zip"
    (cd "corpus/$target" && zip -q -j "$OUT/${target}_seed_corpus.zip" ./*)
  fi
done
cp dict/wire.dict "$OUT/wire.dict"
# libFuzzer options per target (ClusterFuzzLite reads <target>.options).
printf '[libfuzzer]\ndict = wire.dict\n' >"$OUT/wire.options"
