#!/usr/bin/env bash
# Sets up, builds, and runs the main job: one image + question through the whole pipeline
# (decode, tiling, InternViT, projector, LLM), answer streamed, timings and memory printed.
#   scripts/run.sh [MODEL_DIR [IMAGE [QUESTION]]]
# Default: the bundled tiny model — its weights are RANDOM, so its answer is gibberish; put a
# real checkpoint directory (e.g. OpenGVLab/InternVL3-1B from the hub) as MODEL_DIR for real
# answers (see models/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/tiny-internvl3-qwen2}
image=${2:-models/examples/portrait.jpg}
question=${3:-Describe this image in detail.}
jobs=$(nproc 2>/dev/null || echo 2)

bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs" --target internvl
if [ "$model" = models/tiny-internvl3-qwen2 ]; then
  echo "note: the bundled tiny model has random weights; its answer is meaningless" >&2
fi
./build/src/cli/internvl run -m "$model" --image "$image" -p "$question" -n 64 --stats
