// Kernel properties that the fixture models do not reach: pixel shuffle v1/v2 layouts, RoPE
// scaling variants, position-embedding interpolation, attention against a naive evaluation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "core/half.h"
#include "model/vision/internvit.h"
#include "ops/attention.h"
#include "ops/elementwise.h"
#include "ops/interpolate.h"
#include "ops/rope.h"

namespace ivl {
namespace {

// x[t, r, c, ch] = 1000·r + 10·c + ch over a 4x4 grid with 2 channels.
std::vector<float> grid4() {
  std::vector<float> x;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c)
      for (int ch = 0; ch < 2; ++ch) x.push_back(1000.f * r + 10.f * c + ch);
  return x;
}

TEST(PixelShuffle, V2IsRowMajorWithRowOffsetMajorChannels) {
  std::vector<float> y = model::pixel_shuffle(grid4().data(), 1, 4, 2, 0.5, "v2");
  ASSERT_EQ(y.size(), 4u * 8u);
  // Token (i=0, j=1): x[0,2], x[0,3], x[1,2], x[1,3] (spec §4).
  const std::vector<float> want = {20, 21, 30, 31, 1020, 1021, 1030, 1031};
  EXPECT_EQ(std::vector<float>(y.begin() + 8, y.begin() + 16), want);
}

TEST(PixelShuffle, V1KeepsTheTransposedTokenOrder) {
  std::vector<float> y = model::pixel_shuffle(grid4().data(), 1, 4, 2, 0.5, "v1");
  // v1: token t = j·2 + i, so token 1 is (i=1, j=0): x[2,0], x[2,1], x[3,0], x[3,1].
  const std::vector<float> want = {2000, 2001, 2010, 2011, 3000, 3001, 3010, 3011};
  EXPECT_EQ(std::vector<float>(y.begin() + 8, y.begin() + 16), want);
}

TEST(PixelShuffle, QuarterRatioMerges16Patches) {
  std::vector<float> y = model::pixel_shuffle(grid4().data(), 1, 4, 2, 0.25, "v2");
  ASSERT_EQ(y.size(), 32u);
  EXPECT_EQ(y[2], 10.f);    // (a=0, b=1)
  EXPECT_EQ(y[8], 1000.f);  // (a=1, b=0)
}

TEST(Rope, DynamicNtkOnlyBeyondTheTrainedLength) {
  io::RopeConfig plain{.theta = 10000.0};
  io::RopeConfig dynamic{.kind = io::RopeKind::kDynamic, .theta = 10000.0, .factor = 2.0};
  auto a = ops::Rope::create(plain, 8, 16), b = ops::Rope::create(dynamic, 8, 16);
  ASSERT_TRUE(a.ok() && b.ok());
  const int64_t pos = 5;
  const auto rotated = [&](const ops::Rope& rope, int64_t seq_len) {
    std::vector<float> v(8, 1.f), c(4), s(4);
    rope.angles(1, &pos, seq_len, c.data(), s.data());
    rope.rotate(v.data(), 1, 8, 1, c.data(), s.data());
    return v;
  };
  const std::vector<float> x = rotated(*a, 10), y = rotated(*b, 10);
  EXPECT_EQ(x, y) << "identical within max_position_embeddings";
  const std::vector<float> z = rotated(*b, 40);
  EXPECT_NE(x, z) << "rescaled base beyond it";
  // Rotation keeps each pair's norm.
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(z[i] * z[i] + z[i + 4] * z[i + 4], 2.f, 1e-5);
}

TEST(Rope, UnsupportedKindsSayWhatIsSupported) {
  auto r = ops::Rope::create({.kind = io::RopeKind::kYarn}, 8, 16);
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("default, linear, dynamic"), std::string::npos);
}

TEST(Interpolate, SameSizeIsACopyAndLinearRampsSurviveUpsampling) {
  std::vector<float> g(16);
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) g[r * 4 + c] = static_cast<float>(r * 4 + c);
  EXPECT_EQ(ops::bicubic_resize_hwc(g.data(), 4, 4, 1, 4, 4), g);
  std::vector<float> up = ops::bicubic_resize_hwc(g.data(), 4, 4, 1, 8, 8);
  // Output (3, 3) samples source (1.25, 1.25). PyTorch's A = -0.75 weights at t = 0.25 are
  // (-0.10546875, 0.87890625, 0.26171875, -0.03515625) over source 0..3, so one axis of the ramp
  // gives 1.296875 (A = -0.75 does not reproduce linear functions), and 4·1.296875 + 1.296875.
  EXPECT_NEAR(up[3 * 8 + 3], 6.484375f, 1e-5);
  std::vector<float> constant(16, 3.f);
  for (float v : ops::bicubic_resize_hwc(constant.data(), 4, 4, 1, 7, 5)) EXPECT_NEAR(v, 3.f, 1e-5);
}

// The bf16 softmax numerators: each within bf16 rounding (2^-8 relative) of e^(x − max), the
// largest exactly 1, and the sum in float32 of the unrounded values (odd n: a scalar tail).
TEST(Softmax, Bf16NumeratorsAndFloatSum) {
  std::vector<float> x(37);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(static_cast<float>(i)) * 9.f - 3.f;
  std::vector<uint16_t> num(x.size());
  const float sum =
      ops::softmax_numerators_bf16(x.data(), static_cast<int64_t>(x.size()), 1.f, num.data());
  const double m = *std::max_element(x.begin(), x.end());
  double ref_sum = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double e = std::exp(double(x[i]) - m);
    ref_sum += e;
    EXPECT_NEAR(bf16_to_f32(num[i]), e, e / 256) << i;
    if (x[i] == m) {
      EXPECT_EQ(bf16_to_f32(num[i]), 1.f);
    }
  }
  EXPECT_NEAR(sum, ref_sum, ref_sum * 1e-6);
}

// Naive attention in double; `offset` keys precede the queries (a KV cache), causal or not.
void check_attention(bool bf16, bool causal, int64_t n_q, int64_t offset, double tol,
                     bool blocked_keys = false) {
  const int64_t n_kv = n_q + offset, heads = 4, kv_heads = 2, d = 24;
  std::mt19937 rng(1);
  std::normal_distribution<float> dist;
  std::vector<float> q(n_q * heads * d), k(n_kv * kv_heads * d), v(n_kv * kv_heads * d),
      out(n_q * heads * d);
  for (auto* vec : {&q, &k, &v})
    for (float& f : *vec) f = dist(rng);
  ops::AttentionShape s{.n_q = n_q,
                        .n_kv = n_kv,
                        .n_heads = heads,
                        .n_kv_heads = kv_heads,
                        .head_dim = d,
                        .q_stride = heads * d,
                        .kv_stride = kv_heads * d,
                        .out_stride = heads * d,
                        .scale = 0.2f,
                        .causal = causal,
                        .q_offset = offset,
                        .bf16 = bf16};
  std::vector<float> kt;  // the KV cache's position-blocked copy, blocks padded past their keys
  if (blocked_keys) {
    const int64_t stride = kv_heads * d * ops::kKeyBlock + 7;
    kt.assign(static_cast<size_t>(ops::key_blocks(n_kv) * stride), NAN);
    for (int64_t j = 0; j < n_kv; ++j)
      for (int64_t c = 0; c < kv_heads * d; ++c)
        kt[ops::blocked_key_index(c, j, stride)] = k[j * kv_heads * d + c];
    s.kt = kt.data();
    s.kt_block_stride = stride;
  }
  ThreadPool pool(2);
  ops::attention(q.data(), k.data(), v.data(), out.data(), s, &pool);
  for (int64_t h = 0; h < heads; ++h) {
    const int64_t g = h / (heads / kv_heads);
    for (int64_t i = 0; i < n_q; ++i) {
      const int64_t visible = causal ? offset + i + 1 : n_kv;
      std::vector<double> w(static_cast<size_t>(visible));
      double m = -1e30, sum = 0;
      for (int64_t j = 0; j < visible; ++j) {
        double dot = 0;
        for (int64_t c = 0; c < d; ++c)
          dot += double(q[i * heads * d + h * d + c]) * k[j * kv_heads * d + g * d + c];
        w[static_cast<size_t>(j)] = dot * 0.2;
        m = std::max(m, w[static_cast<size_t>(j)]);
      }
      for (double& x : w) sum += (x = std::exp(x - m));
      for (int64_t c = 0; c < d; ++c) {
        double o = 0;
        for (int64_t j = 0; j < visible; ++j)
          o += w[static_cast<size_t>(j)] / sum * v[j * kv_heads * d + g * d + c];
        ASSERT_NEAR(out[i * heads * d + h * d + c], o, tol) << h << " " << i << " " << c;
      }
    }
  }
}

TEST(Attention, MatchesANaiveEvaluationWithGqaAndCausalMask) {
  check_attention(/*bf16=*/false, /*causal=*/true, 37, 0, 1e-5);
}

// Decode: one to four queries after a cache take the direct per-key path.
TEST(Attention, FewQueriesAfterACacheMatchANaiveEvaluation) {
  check_attention(/*bf16=*/false, /*causal=*/true, 1, 70, 1e-5);
  check_attention(/*bf16=*/false, /*causal=*/true, 3, 45, 1e-5);
  check_attention(/*bf16=*/false, /*causal=*/false, 4, 20, 1e-5);
  // With the cache's position-blocked keys (what the decoder passes).
  check_attention(/*bf16=*/false, /*causal=*/true, 1, 70, 1e-5, /*blocked_keys=*/true);
  check_attention(/*bf16=*/false, /*causal=*/true, 3, 45, 1e-5, /*blocked_keys=*/true);
  check_attention(/*bf16=*/false, /*causal=*/false, 4, 20, 1e-5, /*blocked_keys=*/true);
}

// The bf16 path (packed formats): Q, K, V and the probabilities are rounded to bf16 (relative
// 2^-9 each), so outputs of magnitude ~1 move by a few 1e-3. Query blocks of 48 rows: 100 rows
// cross block boundaries; the offset makes the causal limit fall inside key panels.
TEST(Attention, Bf16PathMatchesANaiveEvaluation) {
  check_attention(/*bf16=*/true, /*causal=*/true, 100, 0, 2e-2);
  check_attention(/*bf16=*/true, /*causal=*/true, 61, 45, 2e-2);
  check_attention(/*bf16=*/true, /*causal=*/false, 53, 0, 2e-2);
}

}  // namespace
}  // namespace ivl
