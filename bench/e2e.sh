#!/usr/bin/env bash
# End-to-end benchmark behind docs/performance.md: writes random-weight checkpoints in the exact
# shapes of real releases (internvl mkmodel), then runs `internvl bench` for each weight format.
#   bench/e2e.sh [BUILD_DIR] [RELEASE ...]      (default: build, InternVL3-1B)
# Environment: FORMATS (default "bf16 q8_0 q4_0"), VISION (vision format, default auto = q8_0),
# THREADS (2), REPEAT (3), DECODE_CONTEXT (text tokens before the decode request's instruction,
# default 0: decode starts after ~57 tokens for InternVL3-1B; llama-bench's -d to compare with),
# OUT (/tmp/internvl-bench). Results: $OUT/<release>-<format>.json.
# Run on an idle machine: the numbers are only comparable when nothing else uses the cores or
# the memory bus (check `uptime` first).
set -euo pipefail
build=${1:-build}
shift || true
releases=("$@")
[ ${#releases[@]} -eq 0 ] && releases=(InternVL3-1B)
out=${OUT:-/tmp/internvl-bench}
mkdir -p "$out"
ivl="$build/src/cli/internvl"
for rel in "${releases[@]}"; do
  model="$out/models/$rel"
  [ -f "$model/config.json" ] || "$ivl" mkmodel --like "$rel" -o "$model"
  for fmt in ${FORMATS:-bf16 q8_0 q4_0}; do
    echo "== $rel llm=$fmt vision=${VISION:-auto} (load: $(uptime | sed 's/.*average: //'))"
    "$ivl" bench -m "$model" --quant "$fmt" --vision-quant "${VISION:-auto}" \
      --threads "${THREADS:-2}" --tiles 1 --prompt-tokens 512 --gen-tokens 128 \
      --decode-context "${DECODE_CONTEXT:-0}" \
      --repeat "${REPEAT:-3}" --warmup 1 --json >"$out/$rel-$fmt.json"
    python3 - "$out/$rel-$fmt.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
m = lambda k, f: j[k][f]["median"]
print(f"  vision {m('vision','ms_per_tile'):.0f} ms/tile | prefill {m('prefill','tokens_per_s'):.0f} tok/s "
      f"({j['prefill']['prompt_tokens']} tokens) | decode {m('decode','tokens_per_s'):.1f} tok/s "
      f"(after {j['decode']['prompt_tokens']} tokens) | "
      f"TTFT {m('ttft','ms'):.0f} ms | peak RSS {j['memory']['peak_rss_bytes']/2**20:.0f} MiB | "
      f"load {j['load_s']:.1f} s")
print(f"  decode reads {m('decode','weight_bytes_per_s')/1e9:.1f} GB/s "
      f"({j['decode']['weight_bytes_per_token']/2**20:.0f} MiB/token) = "
      f"{100*j['decode']['read_fraction']:.0f} % of a plain read "
      f"({j['memory']['read_bytes_per_s']/1e9:.1f} GB/s, same process, after the runs)")
PY
  done
done
