#!/usr/bin/env bash
# Builds the image-decoder fuzzer with clang (libFuzzer + AddressSanitizer + UBSan) and runs it
# for a bounded time. The project builds with g++, so the decoder sources are compiled here
# directly with clang++ into build-fuzz/.
#   fuzz/run_fuzz.sh [SECONDS]        default 60; exit status non-zero on any crash or leak
# Seed corpus: fuzz/seeds (tiny files of every format and layout, one data: URI) plus the
# reference fixture images when ../shared/fixtures is present. New corpus entries go to
# build-fuzz/corpus; a crashing input is written to build-fuzz/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
out=build-fuzz
mkdir -p "$out/corpus"

sources=(src/core/*.cc
         src/vision/decode.cc src/vision/decode_jpeg.cc src/vision/decode_png.cc
         src/vision/decode_webp.cc src/vision/decode_bmp.cc src/vision/decode_gif.cc
         src/vision/image_source.cc src/vision/pil_resample.cc src/vision/pil_resample_avx512.cc
         src/vision/pil_resize.cc src/vision/candidate_grids.cc src/vision/tile_image.cc
         fuzz/decode_fuzzer.cc)
if [ ! -x "$out/decode_fuzzer" ] || [ -n "$(find "${sources[@]}" src/vision/*.h -newer "$out/decode_fuzzer")" ]; then
  echo "fuzz: building $out/decode_fuzzer with clang++"
  clang++ -std=c++20 -O1 -g -fno-omit-frame-pointer -ffp-contract=off \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Iinclude -Isrc "${sources[@]}" -ljpeg -lpng -lwebpdemux -lwebp -lgif -lpthread \
    -o "$out/decode_fuzzer"
fi

seeds=(fuzz/seeds)
fixtures="${INTERNVL_FIXTURES:-../shared/fixtures}/images"
[ -d "$fixtures" ] && seeds+=("$fixtures")
echo "fuzz: running for ${seconds}s on ${seeds[*]}"
if ! UBSAN_OPTIONS=print_stacktrace=1 "$out/decode_fuzzer" "$out/corpus" "${seeds[@]}" \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$out/" -print_final_stats=1 >"$out/fuzz.log" 2>&1; then
  tail -n 100 "$out/fuzz.log"
  echo "fuzz: FAILED (full log: $out/fuzz.log)"
  exit 1
fi
grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)" "$out/fuzz.log" || tail -n 5 "$out/fuzz.log"
