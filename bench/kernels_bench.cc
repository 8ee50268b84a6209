// Micro-benchmarks of every compute kernel in src/ops/ at the exact shapes of InternVL3-1B:
//   InternViT-300M  hidden 1024, 16 heads × 64, MLP 4096, 1025 tokens per 448×448 tile
//   projector       4096 -> 896 -> 896
//   Qwen2.5-0.5B    hidden 896, 14 heads × 64, 2 KV heads, MLP 4864, vocab 151674 (tied head)
// Every benchmark takes the thread count (an ivl::ThreadPool of that size, as the engine makes
// for -t N) and reports a roofline counter: weight_GB/s for decode GEMV (memory-bound), GFLOP/s
// for GEMM and attention (compute-bound), GB/s of activations read + written for the rest.
// BM_MemoryRead streams a buffer as large as a GEMV's rotation set: the same process's read
// bandwidth, which each GEMV row also reports itself against (read_fraction).
// Shapes in names are in×out (K×N) for products. See bench/README.md for the roofline numbers.
//   build-bench/bench/kernels_bench --benchmark_filter=Gemv/q4_0
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/read_bandwidth.h"
#include "core/thread_pool.h"
#include "core/weight_arena.h"
#include "io/model_config.h"
#include "ops/attention.h"
#include "ops/elementwise.h"
#include "ops/linear.h"
#include "ops/matrix.h"
#include "ops/packed_formats.h"
#include "ops/packed_kernels.h"
#include "ops/rope.h"

namespace {

using ivl::DType;
using ivl::ThreadPool;
using ivl::WeightArena;
using ivl::ops::Matrix;
using ivl::ops::MatrixLayout;
using RowFn = std::function<void(int64_t, int64_t)>;

// GEMV rotates over distinct copies of a matrix totalling at least this much (8× the 32 MB L3),
// so every call streams its weights from DRAM, as decode does.
constexpr size_t kColdBytes = size_t{256} << 20;

// Deterministic values in [-1, 1) (xorshift32).
std::vector<float> random_floats(int64_t n, uint32_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  uint32_t s = 0x9e3779b9u ^ (seed * 2654435761u);
  if (s == 0) s = 1;
  for (float& x : v) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    x = static_cast<float>(s >> 8) * (2.f / 16777216.f) - 1.f;
  }
  return v;
}

// One persistent pool per size, as the engine keeps one for its lifetime.
ThreadPool& pool(int64_t threads) {
  static ThreadPool one(1), two(2);
  return threads == 1 ? one : two;
}

benchmark::Counter rate(double per_iteration, benchmark::State& state) {
  return benchmark::Counter(per_iteration * static_cast<double>(state.iterations()),
                            benchmark::Counter::kIsRate);
}

// ---------------------------------------------------------------------------------------------
// Weights

struct Format {
  const char* name;
  MatrixLayout layout;
  DType dtype;  // kRows: the stored dtype
};

// kRows F32 and BF16 are the exact reference path (the BF16 one widens in the kernel).
constexpr Format kFormats[] = {
    {"f32", MatrixLayout::kRows, DType::kF32},
    {"bf16", MatrixLayout::kRows, DType::kBF16},
    {"bf16_panels", MatrixLayout::kBF16Panels, DType::kF32},
    {"bf16_compact", MatrixLayout::kBF16Compact, DType::kF32},
    {"q8_0", MatrixLayout::kQ8_0, DType::kF32},
    {"q4_0", MatrixLayout::kQ4_0, DType::kF32},
};

size_t weight_bytes(const Format& f, int64_t out, int64_t in) {
  if (f.layout == MatrixLayout::kRows) {
    return static_cast<size_t>(out * in) * ivl::dtype_size(f.dtype);
  }
  return ivl::ops::packed_bytes(f.layout, out, in);
}

// Random float32 weights [out, in]; the last shape asked for is kept (benchmarks of one shape
// are registered next to each other).
const std::vector<float>& source_weights(int64_t out, int64_t in) {
  static int64_t cached_out = 0, cached_in = 0;
  static std::vector<float> w;
  if (cached_out != out || cached_in != in) {
    w = std::vector<float>();
    w = random_floats(out * in, static_cast<uint32_t>(out * 31 + in));
    cached_out = out;
    cached_in = in;
  }
  return w;
}

struct WeightSet {
  std::string key;
  std::unique_ptr<WeightArena> arena;
  std::vector<Matrix> copies;  // distinct memory, same values
  size_t bytes = 0;            // of one copy
};

// `copies` matrices [out, in] in format f, in huge-page arena memory (as the engine loads
// converted weights). The last set asked for is kept, so the 1- and 2-thread runs share it.
const WeightSet& weights(const Format& f, int64_t out, int64_t in, int64_t copies) {
  static WeightSet set;
  const std::string key = std::string(f.name) + "/" + std::to_string(out) + "x" +
                          std::to_string(in) + "/" + std::to_string(copies);
  if (set.key == key) return set;
  set = WeightSet();  // frees the previous set first
  set.key = key;
  set.arena = std::make_unique<WeightArena>();
  set.bytes = weight_bytes(f, out, in);
  const std::vector<float>& w = source_weights(out, in);
  Matrix src;
  src.dtype = DType::kF32;
  src.in = in;
  src.append(reinterpret_cast<const std::byte*>(w.data()), out);
  src.out = out;
  const auto n = static_cast<size_t>(out * in);
  for (int64_t c = 0; c < copies; ++c) {
    if (f.layout != MatrixLayout::kRows) {
      set.copies.push_back(ivl::ops::pack_matrix(src, f.layout, *set.arena, &pool(2)).value());
      set.bytes = set.copies.back().bytes();  // kBF16Compact: with its exception list
      continue;
    }
    std::byte* dst = set.arena->allocate(set.bytes);
    if (f.dtype == DType::kF32) {
      std::memcpy(dst, w.data(), n * sizeof(float));
    } else {
      ivl::ops::to_bf16(w.data(), static_cast<int64_t>(n), reinterpret_cast<uint16_t*>(dst));
    }
    Matrix m;
    m.dtype = f.dtype;
    m.in = in;
    m.append(dst, out);
    m.out = out;
    set.copies.push_back(std::move(m));
  }
  return set;
}

// ---------------------------------------------------------------------------------------------
// Dense products

// The baseline of the memory-bound kernels: bytes per second of a plain sum over kColdBytes,
// per thread count, as last measured by BM_MemoryRead (0 until it ran).
double g_read_bytes_per_s[3] = {};

void BM_MemoryRead(benchmark::State& state) {
  static const ivl::ReadProbe probe(kColdBytes);
  ThreadPool& p = pool(state.range(0));
  double seconds = 0;
  for (auto _ : state) seconds += probe.pass_seconds(p);
  state.counters["GB/s"] = rate(static_cast<double>(probe.bytes()) * 1e-9, state);
  g_read_bytes_per_s[state.range(0)] =
      static_cast<double>(probe.bytes()) * static_cast<double>(state.iterations()) / seconds;
}

// y[1, out] = x[1, in] · Wᵀ per iteration, rotating over w's copies; counts weight_GB/s.
void time_gemv(benchmark::State& state, const WeightSet& w, int64_t in, int64_t out) {
  const std::vector<float> x = random_floats(in, 1);
  std::vector<float> y(static_cast<size_t>(out));
  ThreadPool& p = pool(state.range(0));
  size_t i = 0;
  for (auto _ : state) {
    ivl::ops::linear(x.data(), 1, w.copies[i], nullptr, y.data(), &p);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
    if (++i == w.copies.size()) i = 0;
  }
  state.counters["weight_GB/s"] = rate(static_cast<double>(w.bytes) * 1e-9, state);
}

// Decode: y[1, out] = x[1, in] · Wᵀ, rotating over copies of W so the weights come from DRAM.
void BM_Gemv(benchmark::State& state, Format f, int64_t in, int64_t out) {
  const size_t one = weight_bytes(f, out, in);
  const int64_t copies =
      one >= kColdBytes / 2 ? 1 : static_cast<int64_t>((kColdBytes + one - 1) / one);
  const WeightSet& w = weights(f, out, in, copies);
  time_gemv(state, w, in, out);
  if (const double read = g_read_bytes_per_s[state.range(0)]; read > 0) {
    // Weight bytes per second over the plain read's: 1.0 is the memory roofline.
    state.counters["read_fraction"] = rate(static_cast<double>(w.bytes) / read, state);
  }
  state.counters["set_MB"] = static_cast<double>(w.bytes * w.copies.size()) * 1e-6;
}

// The same product with the weights resident in L2 (one copy, reused): the kernel's own compute
// rate, which the DRAM-fed GEMV above approaches only as memory gets faster.
void BM_GemvHot(benchmark::State& state, Format f, int64_t in, int64_t out) {
  time_gemv(state, weights(f, out, in, 1), in, out);
}

// Prefill / vision: y[m, out] = x[m, in] · Wᵀ (weights stay in cache: compute-bound).
void BM_Gemm(benchmark::State& state, Format f, int64_t m, int64_t in, int64_t out) {
  const WeightSet& w = weights(f, out, in, 1);
  const std::vector<float> x = random_floats(m * in, 2);
  std::vector<float> y(static_cast<size_t>(m * out));
  ThreadPool& p = pool(state.range(0));
  for (auto _ : state) {
    ivl::ops::linear(x.data(), m, w.copies[0], nullptr, y.data(), &p);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = rate(2e-9 * static_cast<double>(m * in * out), state);
}

// The AVX-512 table when simd, else the portable one; nullptr (and the run marked as an error)
// when the CPU lacks AVX-512 BF16/VNNI.
const ivl::ops::PackedKernels* kernel_table(benchmark::State& state, bool simd) {
  const ivl::ops::PackedKernels* kern =
      simd ? ivl::ops::avx512_kernels() : &ivl::ops::portable_kernels();
  if (kern == nullptr) state.SkipWithError("AVX-512 BF16/VNNI not available on this CPU");
  return kern;
}

// The panel kernel alone, portable table vs AVX-512 table, on InternViT's qkv product
// (1025 tokens × 1024 -> the first 256 outputs), panels split over the pool.
constexpr int64_t kPanelM = 1025, kPanelK = 1024, kPanelN = 256;
double g_panel_seconds[2][3] = {};  // [simd][threads]: seconds per call of the last run

void BM_PanelProduct(benchmark::State& state, bool simd) {
  const ivl::ops::PackedKernels* kern = kernel_table(state, simd);
  if (kern == nullptr) return;
  const Format panels = kFormats[2];
  const WeightSet& w = weights(panels, kPanelN, kPanelK, 1);
  const auto* packed = reinterpret_cast<const uint16_t*>(w.copies[0].packed);
  std::vector<uint16_t> a(static_cast<size_t>(kPanelM * kPanelK));
  ivl::ops::to_bf16(random_floats(kPanelM * kPanelK, 3).data(), kPanelM * kPanelK, a.data());
  std::vector<float> c(static_cast<size_t>(kPanelM * kPanelN));
  const int64_t threads = state.range(0);
  ThreadPool& p = pool(threads);
  const RowFn run = [&](int64_t p0, int64_t p1) {
    for (int64_t q = p0; q < p1; ++q) {
      kern->panel_product(a.data(), kPanelK, kPanelM, packed + q * ivl::ops::kPanelRows * kPanelK,
                          kPanelK, ivl::ops::kPanelRows, nullptr,
                          c.data() + q * ivl::ops::kPanelRows, kPanelN);
    }
  };
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : state) {
    p.parallel_for(kPanelN / ivl::ops::kPanelRows, run);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
  g_panel_seconds[simd ? 1 : 0][threads] = dt.count() / static_cast<double>(state.iterations());
  state.counters["GFLOP/s"] = rate(2e-9 * static_cast<double>(kPanelM * kPanelK * kPanelN), state);
}

// ---------------------------------------------------------------------------------------------
// Attention

struct AttentionCase {
  const char* name;
  int64_t n_q, n_kv, heads, kv_heads;
  bool causal;
  int64_t q_offset;
};

constexpr int64_t kHeadDim = 64;
constexpr AttentionCase kAttention[] = {
    {"vit_1025x1025_h16", 1025, 1025, 16, 16, false, 0},
    {"llm_prefill_512_causal_h14_kv2", 512, 512, 14, 2, true, 0},
    {"llm_decode_1x1024_h14_kv2", 1, 1024, 14, 2, true, 1023},
};

// Keys [rows, cols] -> the KV cache's position-blocked copy (ops::blocked_key_index), whole
// blocks, block stride cols · kKeyBlock.
std::vector<float> blocked_keys(const std::vector<float>& x, int64_t rows, int64_t cols) {
  std::vector<float> t(
      static_cast<size_t>(ivl::ops::key_blocks(rows) * cols * ivl::ops::kKeyBlock));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      t[ivl::ops::blocked_key_index(c, r, cols * ivl::ops::kKeyBlock)] = x[r * cols + c];
  return t;
}

void BM_Attention(benchmark::State& state, AttentionCase ac, bool bf16) {
  const int64_t qw = ac.heads * kHeadDim, kvw = ac.kv_heads * kHeadDim;
  const std::vector<float> q = random_floats(ac.n_q * qw, 4);
  const std::vector<float> k = random_floats(ac.n_kv * kvw, 5);
  const std::vector<float> v = random_floats(ac.n_kv * kvw, 6);
  std::vector<float> out(static_cast<size_t>(ac.n_q * qw));
  ivl::ops::AttentionShape s;
  s.n_q = ac.n_q;
  s.n_kv = ac.n_kv;
  s.n_heads = ac.heads;
  s.n_kv_heads = ac.kv_heads;
  s.head_dim = kHeadDim;
  s.q_stride = qw;
  s.kv_stride = kvw;
  s.out_stride = qw;
  s.scale = 0.125f;
  s.causal = ac.causal;
  s.q_offset = ac.q_offset;
  s.bf16 = bf16;
  std::vector<float> kt;
  if (ac.n_q <= 4) {  // decode: the decoder passes its cache's position-blocked keys
    kt = blocked_keys(k, ac.n_kv, kvw);
    s.kt = kt.data();
    s.kt_block_stride = kvw * ivl::ops::kKeyBlock;
  }
  ThreadPool& p = pool(state.range(0));
  for (auto _ : state) {
    ivl::ops::attention(q.data(), k.data(), v.data(), out.data(), s, &p);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  // Query-key pairs actually visible (about half of n_q·n_kv for causal prefill).
  double pairs = 0;
  for (int64_t i = 0; i < ac.n_q; ++i) {
    pairs += static_cast<double>(ac.causal ? std::min(ac.n_kv, ac.q_offset + i + 1) : ac.n_kv);
  }
  state.counters["GFLOP/s"] = rate(4e-9 * pairs * static_cast<double>(kHeadDim * ac.heads), state);
}

// The decode attention kernel alone, portable table vs AVX-512 table: one decoded token's
// attention over `layers` layers of a `positions`-long cache (Qwen2.5-0.5B: 14 query heads over
// 2 key/value heads), one task per key/value head as ops::attention runs it.
// One layer of 1024 positions (1 MB of keys and values) stays in L2; 24 layers of 1600 (39 MB,
// a one-image prompt with a long answer) come from DRAM, as in a real decode step.
void BM_DecodeAttention(benchmark::State& state, bool simd, int64_t layers, int64_t positions) {
  const ivl::ops::PackedKernels* kern = kernel_table(state, simd);
  if (kern == nullptr) return;
  constexpr int64_t kHeads = 14, kKvHeads = 2, kGroup = kHeads / kKvHeads;
  constexpr int64_t kvw = kKvHeads * kHeadDim;
  const std::vector<float> q = random_floats(kHeads * kHeadDim, 4);
  std::vector<std::vector<float>> kt, v;
  for (int64_t l = 0; l < layers; ++l) {
    const auto seed = static_cast<uint32_t>(5 + 2 * l);
    kt.push_back(blocked_keys(random_floats(positions * kvw, seed), positions, kvw));
    v.push_back(random_floats(positions * kvw, seed + 1));
  }
  std::vector<float> out(static_cast<size_t>(kHeads * kHeadDim));
  std::vector<std::vector<float>> scores(
      kKvHeads, std::vector<float>(static_cast<size_t>(kGroup * positions)));
  ThreadPool& p = pool(state.range(0));
  for (auto _ : state) {
    for (int64_t l = 0; l < layers; ++l) {
      const float* lkt = kt[static_cast<size_t>(l)].data();
      const float* lv = v[static_cast<size_t>(l)].data();
      p.parallel_for(kKvHeads, [&](int64_t h0, int64_t h1) {
        for (int64_t h = h0; h < h1; ++h) {
          kern->decode_attention(q.data() + h * kGroup * kHeadDim, kGroup, kHeadDim,
                                 lkt + h * kHeadDim * ivl::ops::kKeyBlock,
                                 kvw * ivl::ops::kKeyBlock, lv + h * kHeadDim, kvw, positions,
                                 0.125f, scores[static_cast<size_t>(h)].data(),
                                 out.data() + h * kGroup * kHeadDim);
        }
      });
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      rate(4e-9 * static_cast<double>(layers * positions * kHeadDim * kHeads), state);
  // Keys and values read per second (the blocked keys and the value rows, float32).
  state.counters["GB/s"] =
      rate(1e-9 * static_cast<double>(layers * positions * kvw * 4 * 2), state);
}

// ---------------------------------------------------------------------------------------------
// Elementwise. The engine calls these on one thread; with threads:2 the benchmark splits the
// rows over the pool itself, to show what parallelising them would gain.

void BM_LayerNorm(benchmark::State& state) {
  constexpr int64_t n = 1025, d = 1024;
  const std::vector<float> x = random_floats(n * d, 7), w = random_floats(d, 8),
                           b = random_floats(d, 9);
  std::vector<float> y(static_cast<size_t>(n * d));
  const RowFn run = [&](int64_t r0, int64_t r1) {
    ivl::ops::layer_norm(x.data() + r0 * d, r1 - r0, d, w.data(), b.data(), 1e-6f,
                         y.data() + r0 * d);
  };
  ThreadPool& p = pool(state.range(0));
  for (auto _ : state) {
    p.parallel_for(n, run);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(8e-9 * n * d, state);
}

void BM_RmsNorm(benchmark::State& state) {
  constexpr int64_t n = 1025, d = 1024;
  const std::vector<float> x = random_floats(n * d, 10), w = random_floats(d, 11);
  std::vector<float> y(static_cast<size_t>(n * d));
  const RowFn run = [&](int64_t r0, int64_t r1) {
    ivl::ops::rms_norm(x.data() + r0 * d, r1 - r0, d, w.data(), 1e-6f, y.data() + r0 * d);
  };
  ThreadPool& p = pool(state.range(0));
  for (auto _ : state) {
    p.parallel_for(n, run);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(8e-9 * n * d, state);
}

// In place: the input is restored (untimed) before each call, since repeated GELU drifts
// towards denormals.
void BM_GeluErf(benchmark::State& state) {
  constexpr int64_t n = 1025, d = 4096;
  const std::vector<float> src = random_floats(n * d, 12);
  std::vector<float> x = src;
  const RowFn run = [&](int64_t r0, int64_t r1) {
    ivl::ops::gelu_erf(x.data() + r0 * d, (r1 - r0) * d);
  };
  ThreadPool& p = pool(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    std::copy(src.begin(), src.end(), x.begin());
    state.ResumeTiming();
    p.parallel_for(n, run);
    benchmark::DoNotOptimize(x.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(8e-9 * n * d, state);
}

// gate ← silu(gate)·up over [512, 4864]; gate restored before each call (it would shrink to
// denormals).
void BM_SiluMul(benchmark::State& state) {
  constexpr int64_t n = 512, d = 4864;
  const std::vector<float> src = random_floats(n * d, 13), up = random_floats(n * d, 14);
  std::vector<float> gate = src;
  const RowFn run = [&](int64_t r0, int64_t r1) {
    ivl::ops::silu_mul(gate.data() + r0 * d, up.data() + r0 * d, (r1 - r0) * d);
  };
  ThreadPool& p = pool(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    std::copy(src.begin(), src.end(), gate.begin());
    state.ResumeTiming();
    p.parallel_for(n, run);
    benchmark::DoNotOptimize(gate.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(12e-9 * n * d, state);
}

// One row of 1025 scores (a ViT attention row), in place; one thread only.
void BM_SoftmaxRow(benchmark::State& state) {
  constexpr int64_t n = 1025;
  std::vector<float> x = random_floats(n, 15);
  for (auto _ : state) {
    ivl::ops::softmax_row(x.data(), n);
    benchmark::DoNotOptimize(x.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(8e-9 * n, state);
}

// Qwen2.5 RoPE (θ = 1e6) on the queries of a 512-token prefill, [512, 14 × 64], in place: the
// rotation each layer applies (Rope::rotate), with the pass's cos / sin table made beforehand.
void BM_Rope(benchmark::State& state) {
  constexpr int64_t n = 512, heads = 14, width = heads * kHeadDim, half = kHeadDim / 2;
  ivl::io::RopeConfig config;
  config.theta = 1e6;
  const ivl::ops::Rope rope = ivl::ops::Rope::create(config, kHeadDim, 32768).value();
  std::vector<float> x = random_floats(n * width, 16);
  std::vector<int64_t> positions(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) positions[static_cast<size_t>(i)] = i;
  std::vector<float> cos(static_cast<size_t>(n * half)), sin(static_cast<size_t>(n * half));
  rope.angles(n, positions.data(), n, cos.data(), sin.data());
  const RowFn run = [&](int64_t r0, int64_t r1) {
    rope.rotate(x.data() + r0 * width, r1 - r0, width, heads, cos.data() + r0 * half,
                sin.data() + r0 * half);
  };
  ThreadPool& p = pool(state.range(0));
  for (auto _ : state) {
    p.parallel_for(n, run);
    benchmark::DoNotOptimize(x.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(8e-9 * n * width, state);
}

// The cos / sin table of one forward pass (Rope::angles), made once and used by every layer:
// a decode step's one position, and a 512-token prefill's.
void BM_RopeAngles(benchmark::State& state) {
  const int64_t n = state.range(0), half = kHeadDim / 2;
  ivl::io::RopeConfig config;
  config.theta = 1e6;
  const ivl::ops::Rope rope = ivl::ops::Rope::create(config, kHeadDim, 32768).value();
  std::vector<int64_t> positions(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) positions[static_cast<size_t>(i)] = 1000 + i;
  std::vector<float> cos(static_cast<size_t>(n * half)), sin(static_cast<size_t>(n * half));
  for (auto _ : state) {
    rope.angles(n, positions.data(), 1000 + n, cos.data(), sin.data());
    benchmark::DoNotOptimize(cos.data());
    benchmark::DoNotOptimize(sin.data());
    benchmark::ClobberMemory();
  }
  state.counters["angles/s"] = rate(static_cast<double>(n * half), state);
}

// One decode activation row of the MLP down projection (4864) to int8 blocks; one thread.
void BM_QuantizeActivation(benchmark::State& state) {
  constexpr int64_t k = 4864, nb = k / ivl::ops::kQuantBlock;
  const std::vector<float> x = random_floats(k, 17);
  std::vector<int8_t> xq(static_cast<size_t>(k));
  std::vector<float> dx(static_cast<size_t>(nb));
  std::vector<int32_t> xsum(static_cast<size_t>(nb));
  for (auto _ : state) {
    ivl::ops::quantize_activation(x.data(), k, xq.data(), dx.data(), xsum.data());
    benchmark::DoNotOptimize(xq.data());
    benchmark::DoNotOptimize(dx.data());
    benchmark::DoNotOptimize(xsum.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(1e-9 * static_cast<double>(k * 4 + k + nb * 8), state);
}

// Activations of one ViT tile [1025, 1024] rounded to bf16 (what every packed product does).
void BM_ToBf16(benchmark::State& state) {
  constexpr int64_t n = 1025, d = 1024;
  const std::vector<float> x = random_floats(n * d, 18);
  std::vector<uint16_t> y(static_cast<size_t>(n * d));
  const RowFn run = [&](int64_t r0, int64_t r1) {
    ivl::ops::to_bf16(x.data() + r0 * d, (r1 - r0) * d, y.data() + r0 * d);
  };
  ThreadPool& p = pool(state.range(0));
  for (auto _ : state) {
    p.parallel_for(n, run);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = rate(6e-9 * n * d, state);
}

// ---------------------------------------------------------------------------------------------
// Load-time conversion

// What loading a checkpoint does to one bf16 matrix: pack_matrix into `layout` (compact bf16
// panels for the LLM, q8_0 for the vision tower, q4_0 on request), from bf16 rows whose values
// spread like trained weights (σ ≈ 0.02, so exponents cluster as in real checkpoints). Each
// iteration converts into a fresh 4 KiB-page arena, so the output's page faults are counted, as
// at load; counts source GB/s.
void BM_PackMatrix(benchmark::State& state, MatrixLayout layout, int64_t in, int64_t out) {
  std::vector<float> w = random_floats(out * in, 19);
  for (float& x : w) x *= 0.035f;  // uniform [-0.035, 0.035): σ ≈ 0.02
  std::vector<uint16_t> rows(w.size());
  ivl::ops::to_bf16(w.data(), static_cast<int64_t>(w.size()), rows.data());
  w = {};
  Matrix src;
  src.dtype = DType::kBF16;
  src.in = in;
  src.append(reinterpret_cast<const std::byte*>(rows.data()), out);
  src.out = out;
  ThreadPool& p = pool(state.range(0));
  for (auto _ : state) {
    WeightArena arena(WeightArena::Pages::kSmall);
    const Matrix m = ivl::ops::pack_matrix(src, layout, arena, &p).value();
    benchmark::DoNotOptimize(m.packed);
    benchmark::ClobberMemory();
  }
  state.counters["source_GB/s"] = rate(2e-9 * static_cast<double>(out * in), state);
}

// The quantizer's own work, without fresh memory: bf16 rows [256, in] into a resident output
// buffer (what `internvl quantize` does per block of rows); one thread.
void BM_QuantizeRows(benchmark::State& state, MatrixLayout layout, int64_t in) {
  constexpr int64_t rows = 256;
  std::vector<float> w = random_floats(rows * in, 20);
  std::vector<uint16_t> src(w.size());
  ivl::ops::to_bf16(w.data(), static_cast<int64_t>(w.size()), src.data());
  std::vector<std::byte> dst(ivl::ops::quant_row_bytes(layout, in) * rows);
  std::vector<float> scratch(static_cast<size_t>(in));
  for (auto _ : state) {
    const ivl::ops::UnfitRow unfit =
        ivl::ops::quantize_rows(reinterpret_cast<const std::byte*>(src.data()), DType::kBF16, rows,
                                in, layout, dst.data(), scratch.data());
    if (unfit.any()) state.SkipWithError("a row does not fit the format");
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.counters["source_GB/s"] = rate(2e-9 * static_cast<double>(rows * in), state);
}

// ---------------------------------------------------------------------------------------------
// Registration (in this order: benchmarks sharing weights are adjacent).

benchmark::internal::Benchmark* threads_1_2(benchmark::internal::Benchmark* b) {
  return b->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime();
}

std::string product_name(const char* kind, const char* format, int64_t in, int64_t out,
                         const char* what) {
  return std::string(kind) + "/" + format + "/" + std::to_string(in) + "x" + std::to_string(out) +
         "/" + what;
}

void register_all() {
  threads_1_2(benchmark::RegisterBenchmark("BM_MemoryRead/256MiB", BM_MemoryRead))
      ->Unit(benchmark::kMicrosecond);
  struct GemvShape {
    int64_t in, out;
    const char* what;
  };
  const GemvShape gemv[] = {
      {896, 9728, "llm_gate_up"},
      {4864, 896, "llm_down"},
      {896, 1152, "llm_qkv"},
      {896, 151674, "lm_head"},
      // Qwen3-1.7B (InternVL3.5-2B): 2048-wide rows, and the 6144-wide down projection.
      {2048, 12288, "qwen3_1.7b_gate_up"},
      {6144, 2048, "qwen3_1.7b_down"},
      {2048, 4096, "qwen3_1.7b_qkv"},
  };
  for (const GemvShape& g : gemv) {
    for (const Format& f : kFormats) {
      threads_1_2(
          benchmark::RegisterBenchmark(product_name("BM_Gemv", f.name, g.in, g.out, g.what).c_str(),
                                       BM_Gemv, f, g.in, g.out))
          ->Unit(benchmark::kMicrosecond);
    }
  }
  // The quantized formats, and the bf16 panels at 896 x 512: their sets fit in L2 (1 MB per core
  // on Zen 4). 896 x 512 is 487 / 258 KB in q8_0 / q4_0 (the short rows of an 896-wide LLM) and
  // 917 / 688 KB as plain / compact bf16 panels, 4864 x 128 is 661 / 350 KB (the down
  // projection's long rows), 1536 x 256 and 2048 x 192 (1536- and 2048-wide LLMs) 418 / 221 KB.
  const GemvShape hot[] = {
      {896, 512, "in_l2"}, {4864, 128, "in_l2"}, {1536, 256, "in_l2"}, {2048, 192, "in_l2"}};
  for (const GemvShape& g : hot) {
    for (const Format& f : kFormats) {
      const bool bf16_panels = ivl::ops::is_bf16_panels(f.layout) && g.in == 896;
      if (f.layout != MatrixLayout::kQ8_0 && f.layout != MatrixLayout::kQ4_0 && !bf16_panels) {
        continue;
      }
      threads_1_2(benchmark::RegisterBenchmark(
                      product_name("BM_GemvHot", f.name, g.in, g.out, g.what).c_str(), BM_GemvHot,
                      f, g.in, g.out))
          ->Unit(benchmark::kMicrosecond);
    }
  }
  struct GemmShape {
    int64_t m, in, out;
    const char* what;
  };
  const GemmShape gemm[] = {
      {512, 896, 9728, "llm_prefill512_gate_up"},
      {512, 4864, 896, "llm_prefill512_down"},
      {1025, 1024, 3072, "vit_tile_qkv"},
      {1025, 1024, 4096, "vit_tile_fc1"},
      {1025, 4096, 1024, "vit_tile_fc2"},
      // A few rows (a short chat turn after the cache): where the GEMV per row and the GEMM meet.
      {2, 896, 9728, "llm_rows2_gate_up"},
      {4, 896, 9728, "llm_rows4_gate_up"},
      {6, 896, 9728, "llm_rows6_gate_up"},
      {12, 896, 9728, "llm_rows12_gate_up"},
  };
  for (const GemmShape& g : gemm) {
    for (const Format& f : kFormats) {
      threads_1_2(
          benchmark::RegisterBenchmark(product_name("BM_Gemm", f.name, g.in, g.out, g.what).c_str(),
                                       BM_Gemm, f, g.m, g.in, g.out))
          ->Unit(benchmark::kMillisecond);
    }
  }
  struct PackCase {
    MatrixLayout layout;
    const char* format;
    int64_t in, out;
    const char* what;
  };
  const PackCase pack[] = {
      {MatrixLayout::kBF16Compact, "bf16_compact", 896, 9728, "llm_gate_up"},
      {MatrixLayout::kQ8_0, "q8_0", 1024, 4096, "vit_fc1"},
      {MatrixLayout::kQ4_0, "q4_0", 896, 9728, "llm_gate_up"},
  };
  for (const PackCase& c : pack) {
    threads_1_2(benchmark::RegisterBenchmark(
                    product_name("BM_PackMatrix", c.format, c.in, c.out, c.what).c_str(),
                    BM_PackMatrix, c.layout, c.in, c.out))
        ->Unit(benchmark::kMillisecond);
  }
  for (const PackCase& c : pack) {
    if (!ivl::ops::is_quantized_rows(c.layout)) continue;
    benchmark::RegisterBenchmark(
        (std::string("BM_QuantizeRows/") + c.format + "/" + std::to_string(c.in)).c_str(),
        BM_QuantizeRows, c.layout, c.in)
        ->Unit(benchmark::kMicrosecond);
  }
  const std::string panel_shape =
      "/" + std::to_string(kPanelM) + "x" + std::to_string(kPanelK) + "x" + std::to_string(kPanelN);
  threads_1_2(benchmark::RegisterBenchmark(("BM_PanelProduct/portable" + panel_shape).c_str(),
                                           BM_PanelProduct, false))
      ->Unit(benchmark::kMillisecond);
  threads_1_2(benchmark::RegisterBenchmark(("BM_PanelProduct/avx512" + panel_shape).c_str(),
                                           BM_PanelProduct, true))
      ->Unit(benchmark::kMillisecond);

  for (const AttentionCase& ac : kAttention) {
    for (const bool bf16 : {false, true}) {
      threads_1_2(benchmark::RegisterBenchmark(
                      (std::string("BM_Attention/") + (bf16 ? "bf16/" : "f32/") + ac.name).c_str(),
                      BM_Attention, ac, bf16))
          ->Unit(ac.n_q == 1 ? benchmark::kMicrosecond : benchmark::kMillisecond);
    }
  }

  for (const bool simd : {false, true}) {
    const std::string table = simd ? "avx512" : "portable";
    threads_1_2(
        benchmark::RegisterBenchmark(("BM_DecodeAttention/" + table + "/1x1024_h14_kv2").c_str(),
                                     BM_DecodeAttention, simd, 1, 1024))
        ->Unit(benchmark::kMicrosecond);
    threads_1_2(
        benchmark::RegisterBenchmark(("BM_DecodeAttention/" + table + "/24x1600_h14_kv2").c_str(),
                                     BM_DecodeAttention, simd, 24, 1600))
        ->Unit(benchmark::kMicrosecond);
  }

  auto elementwise = [](const char* name, void (*fn)(benchmark::State&), bool split) {
    auto* b = benchmark::RegisterBenchmark(name, fn)->Unit(benchmark::kMicrosecond);
    if (split) {
      threads_1_2(b);
    } else {
      b->ArgName("threads")->Arg(1)->UseRealTime();
    }
  };
  elementwise("BM_LayerNorm/1025x1024", BM_LayerNorm, true);
  elementwise("BM_RmsNorm/1025x1024", BM_RmsNorm, true);
  elementwise("BM_GeluErf/1025x4096", BM_GeluErf, true);
  elementwise("BM_SiluMul/512x4864", BM_SiluMul, true);
  elementwise("BM_SoftmaxRow/1025", BM_SoftmaxRow, false);
  elementwise("BM_Rope/512x14x64", BM_Rope, true);
  benchmark::RegisterBenchmark("BM_RopeAngles", BM_RopeAngles)
      ->ArgName("positions")
      ->Arg(1)
      ->Arg(512)
      ->Unit(benchmark::kMicrosecond);
  elementwise("BM_QuantizeActivation/4864", BM_QuantizeActivation, false);
  elementwise("BM_ToBf16/1025x1024", BM_ToBf16, true);
}

// The AVX-512 / portable ratio of the panel kernel, when both ran.
void print_panel_speedup() {
  for (int t = 1; t <= 2; ++t) {
    const double portable = g_panel_seconds[0][t], simd = g_panel_seconds[1][t];
    if (portable > 0 && simd > 0) {
      std::printf("panel_product speed-up, AVX-512 over portable, threads:%d: %.1fx\n", t,
                  portable / simd);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  print_panel_speedup();
  return 0;
}
