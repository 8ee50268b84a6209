#include "model/vision/internvit.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/check.h"
#include "ops/attention.h"
#include "ops/elementwise.h"
#include "ops/interpolate.h"
#include "ops/linear.h"

namespace ivl::model {
namespace {

void norm(const io::VisionConfig& v, const std::vector<float>& w, const std::vector<float>& b,
          const float* x, int64_t n, float* y) {
  if (v.norm == io::VisionNorm::kLayerNorm) {
    ops::layer_norm(x, n, v.hidden_size, w.data(), b.data(), static_cast<float>(v.norm_eps), y);
  } else {
    ops::rms_norm(x, n, v.hidden_size, w.data(), static_cast<float>(v.norm_eps), y);
  }
}

// [T, 3, S, S] -> patches [T·g², 3·P·P], flattened (channel, ky, kx) like the conv weight.
std::vector<float> patchify(const float* px, int64_t tiles, int64_t side, int64_t patch) {
  const int64_t g = side / patch, k = 3 * patch * patch;
  std::vector<float> out(static_cast<size_t>(tiles * g * g * k));
  for (int64_t t = 0; t < tiles; ++t) {
    for (int64_t gy = 0; gy < g; ++gy) {
      for (int64_t gx = 0; gx < g; ++gx) {
        float* dst = out.data() + ((t * g + gy) * g + gx) * k;
        for (int64_t c = 0; c < 3; ++c) {
          for (int64_t ky = 0; ky < patch; ++ky) {
            const float* src = px + ((t * 3 + c) * side + gy * patch + ky) * side + gx * patch;
            for (int64_t kx = 0; kx < patch; ++kx) *dst++ = src[kx];
          }
        }
      }
    }
  }
  return out;
}

// Position embeddings for a g×g grid: the checkpoint's, resized bicubically when g differs.
std::vector<float> position_embeddings(const VisionWeights& w, int64_t c, int64_t g) {
  std::vector<float> pos = w.pos.widen();
  const auto trained =
      static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(pos.size() / c - 1))));
  if (trained == g) return pos;
  std::vector<float> out(pos.begin(), pos.begin() + c);  // CLS position unchanged
  std::vector<float> grid = ops::bicubic_resize_hwc(pos.data() + c, trained, trained, c, g, g);
  out.insert(out.end(), grid.begin(), grid.end());
  return out;
}

// Buffers reused by every layer: a fresh multi-megabyte vector per layer would be mapped and
// zero-filled by the kernel each time (measured: 8 % of a tile's time).
struct LayerScratch {
  std::vector<float> qkv, branch, mlp;
};

// The attention projection and the MLP run over at most this many token rows at a time and add
// their output to the residual stream right away, so the MLP's 4×-wide hidden activations take
// ~3.4 MB per tile instead of 16.8 MB and the branch output 0.8 instead of 4.2 (rows are split
// evenly: 1025 = 5 × 205). Each row's result does not depend on the split.
constexpr int64_t kChunkRows = 256;

// The attention context of every token into x. x: the normed input, [n, c]; it is dead once q,
// k and v are computed, so the context (the input of the projection) overwrites it.
void attention_context(const io::VisionConfig& v, const VitLayerWeights& l, float* x, int64_t tiles,
                       int64_t seq, bool bf16_math, ThreadPool* pool, LayerScratch& scratch) {
  const int64_t c = v.hidden_size, n = tiles * seq;
  std::vector<float>& qkv = scratch.qkv;
  qkv.resize(static_cast<size_t>(n * 3 * c));
  ops::linear(x, n, l.qkv.w, l.qkv.b(), qkv.data(), pool);
  if (v.qk_norm) {  // RMSNorm over the full C vector of all heads (spec §3.2)
    for (int64_t r = 0; r < n; ++r) {
      float* row = qkv.data() + r * 3 * c;
      ops::rms_norm(row, 1, c, l.q_norm.data(), static_cast<float>(v.norm_eps), row);
      ops::rms_norm(row + c, 1, c, l.k_norm.data(), static_cast<float>(v.norm_eps), row + c);
    }
  }
  float* ctx = x;
  ops::AttentionShape s;
  s.n_q = s.n_kv = seq;
  s.n_heads = s.n_kv_heads = v.num_heads;
  s.head_dim = v.head_dim();
  s.q_stride = s.kv_stride = 3 * c;
  s.out_stride = c;
  s.scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  s.bf16 = bf16_math;
  for (int64_t t = 0; t < tiles; ++t) {
    const float* base = qkv.data() + t * seq * 3 * c;
    ops::attention(base, base + c, base + 2 * c, ctx + t * seq * c, s, pool);
  }
}

}  // namespace

std::vector<float> encode_tiles(const io::ModelConfig& config, const VisionWeights& w,
                                const float* pixel_values, int64_t tiles, ThreadPool* pool,
                                TapSink* taps) {
  const io::VisionConfig& v = config.vision;
  const int64_t c = v.hidden_size, side = config.image.image_size, g = side / v.patch_size;
  const int64_t seq = 1 + g * g, n = tiles * seq;

  std::vector<float> patches = patchify(pixel_values, tiles, side, v.patch_size);
  std::vector<float> embedded(static_cast<size_t>(tiles * g * g * c));
  ops::linear(patches.data(), tiles * g * g, w.patch.w, w.patch.b(), embedded.data(), pool);
  patches = {};
  std::vector<float> h(static_cast<size_t>(n * c));
  {  // the (resized) position embeddings are only needed here: freed before the layers run
    const std::vector<float> pos = position_embeddings(w, c, g);
    for (int64_t t = 0; t < tiles; ++t) {
      float* dst = h.data() + t * seq * c;
      std::copy(w.cls.begin(), w.cls.end(), dst);
      std::copy(embedded.begin() + t * g * g * c, embedded.begin() + (t + 1) * g * g * c, dst + c);
      ops::add_inplace(dst, pos.data(), seq * c);
    }
  }
  embedded = {};
  tap(
      taps, [] { return std::string("vit.embeddings"); }, h.data(), n, c);

  // hidden_states[k]: k = 0 is the embedding output, k = L the last layer (spec §3.3).
  const int64_t layers = v.num_layers;
  const int64_t keep =
      config.select_layer < 0 ? layers + 1 + config.select_layer : config.select_layer;
  IVL_CHECK(keep >= 0 && keep <= layers);
  std::vector<float> a(static_cast<size_t>(n * c));
  LayerScratch scratch;
  const int64_t chunks = (n + kChunkRows - 1) / kChunkRows;
  const int64_t chunk_rows = (n + chunks - 1) / chunks;
  scratch.branch.resize(static_cast<size_t>(chunk_rows * c));
  scratch.mlp.resize(static_cast<size_t>(chunk_rows * v.intermediate_size));
  float* branch = scratch.branch.data();
  float* m = scratch.mlp.data();
  for (int64_t i = 0; i < keep; ++i) {
    const VitLayerWeights& l = w.layers[static_cast<size_t>(i)];
    norm(v, l.norm1_w, l.norm1_b, h.data(), n, a.data());
    attention_context(v, l, a.data(), tiles, seq, w.bf16_math, pool, scratch);
    for (int64_t r0 = 0; r0 < n; r0 += chunk_rows) {
      const int64_t rows = std::min(chunk_rows, n - r0);
      ops::linear(a.data() + r0 * c, rows, l.proj.w, l.proj.b(), branch, pool);
      ops::add_scaled_rows(h.data() + r0 * c, branch, l.ls1.data(), rows, c);
    }
    norm(v, l.norm2_w, l.norm2_b, h.data(), n, a.data());
    for (int64_t r0 = 0; r0 < n; r0 += chunk_rows) {
      const int64_t rows = std::min(chunk_rows, n - r0);
      ops::linear(a.data() + r0 * c, rows, l.fc1.w, l.fc1.b(), m, pool);
      ops::gelu_erf(m, rows * v.intermediate_size);
      ops::linear(m, rows, l.fc2.w, l.fc2.b(), branch, pool);
      ops::add_scaled_rows(h.data() + r0 * c, branch, l.ls2.data(), rows, c);
    }
    tap(
        taps, [i] { return "vit.L" + std::to_string(i) + ".out"; }, h.data(), n, c);
  }

  std::vector<float> out(static_cast<size_t>(tiles * g * g * c));  // drop CLS
  for (int64_t t = 0; t < tiles; ++t) {
    std::copy(h.begin() + (t * seq + 1) * c, h.begin() + (t + 1) * seq * c,
              out.begin() + t * g * g * c);
  }
  return out;
}

std::vector<float> pixel_shuffle(const float* x, int64_t tiles, int64_t grid, int64_t c,
                                 double ratio, const std::string& ps_version) {
  const auto f = static_cast<int64_t>(std::llround(1.0 / ratio));  // patches merged per side
  const int64_t og = grid / f, oc = c * f * f;
  std::vector<float> out(static_cast<size_t>(tiles * og * og * oc));
  for (int64_t t = 0; t < tiles; ++t) {
    for (int64_t i = 0; i < og; ++i) {
      for (int64_t j = 0; j < og; ++j) {
        const int64_t token = ps_version == "v1" ? j * og + i : i * og + j;
        float* dst = out.data() + (t * og * og + token) * oc;
        for (int64_t a = 0; a < f; ++a) {    // row offset: major
          for (int64_t b = 0; b < f; ++b) {  // column offset: minor
            const float* src = x + ((t * grid + i * f + a) * grid + j * f + b) * c;
            std::copy(src, src + c, dst + (a * f + b) * c);
          }
        }
      }
    }
  }
  return out;
}

std::vector<float> project(const ProjectorWeights& w, const float* x, int64_t n, ThreadPool* pool,
                           TapSink* taps) {
  const int64_t in = w.fc1.w.in, h = w.fc1.w.out;
  std::vector<float> normed(static_cast<size_t>(n * in));
  ops::layer_norm(x, n, in, w.norm_w.data(), w.norm_b.data(), 1e-5f, normed.data());
  std::vector<float> mid(static_cast<size_t>(n * h));
  ops::linear(normed.data(), n, w.fc1.w, w.fc1.b(), mid.data(), pool);
  ops::gelu_erf(mid.data(), n * h);
  std::vector<float> out(static_cast<size_t>(n * w.fc2.w.out));
  ops::linear(mid.data(), n, w.fc2.w, w.fc2.b(), out.data(), pool);
  tap(
      taps, [] { return std::string("projector.out"); }, out.data(), n, w.fc2.w.out);
  return out;
}

namespace {

std::vector<float> features_of_batch(const io::ModelConfig& config, const RuntimeWeights& weights,
                                     const float* pixel_values, int64_t tiles, ThreadPool* pool,
                                     TapSink* taps) {
  const int64_t grid = config.image.image_size / config.vision.patch_size;
  std::vector<float> f = encode_tiles(config, weights.vision, pixel_values, tiles, pool, taps);
  std::vector<float> shuffled = pixel_shuffle(f.data(), tiles, grid, config.vision.hidden_size,
                                              config.downsample_ratio, config.ps_version);
  f = {};
  const int64_t rows = static_cast<int64_t>(shuffled.size()) / weights.projector.fc1.w.in;
  return project(weights.projector, shuffled.data(), rows, pool, taps);
}

}  // namespace

std::vector<float> image_features(const io::ModelConfig& config, const RuntimeWeights& weights,
                                  const float* pixel_values, int64_t tiles, ThreadPool* pool,
                                  TapSink* taps) {
  // Taps cover every tile's rows in one call: the whole batch at once.
  if (taps != nullptr || tiles <= kTilesPerBatch) {
    return features_of_batch(config, weights, pixel_values, tiles, pool, taps);
  }
  const int64_t tile_values = 3 * config.image.image_size * config.image.image_size;
  std::vector<float> out;
  for (int64_t t = 0; t < tiles; t += kTilesPerBatch) {
    const int64_t batch = std::min(kTilesPerBatch, tiles - t);
    std::vector<float> f =
        features_of_batch(config, weights, pixel_values + t * tile_values, batch, pool, nullptr);
    if (out.empty())
      out.reserve(f.size() / static_cast<size_t>(batch) * static_cast<size_t>(tiles));
    out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}

}  // namespace ivl::model
