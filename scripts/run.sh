#!/usr/bin/env bash
# Sets up, builds, and runs the main job on a checkpoint directory (default: the bundled tiny
# model, whose weights are random — see models/README.md for real checkpoints).
#   scripts/run.sh [MODEL_DIR]
# Until the inference engine lands, the main job is `internvl inspect`: it opens the checkpoint,
# checks every tensor, the config and the tokenizer, and describes the model.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/tiny-internvl3-qwen2}
jobs=$(nproc 2>/dev/null || echo 2)

bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs" --target internvl
./build/src/cli/internvl inspect -m "$model"
