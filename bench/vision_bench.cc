// Pillow-exact bicubic resize on a 12 MP (4000 x 3000) synthetic photo, to the sizes InternVL
// asks for (448 * grid; 4:3 with max_num 12 -> grid (4, 3) = 1792 x 1344, and the 448 x 448
// thumbnail), for each kernel and thread count; plus the whole tile_image() and decoding.
//   build-vis/bench/vision_bench --benchmark_filter=Resize
// Compare with PIL on the same machine:
//   python3 -c "from PIL import Image; import timeit; im = Image.effect_noise((4000, 3000), 40)
//   .convert('RGB'); print(min(timeit.repeat(lambda: im.resize((1792, 1344)), number=5,
//   repeat=5)) / 5 * 1000, 'ms')"
#include <benchmark/benchmark.h>

#include <cmath>
#include <thread>

#include "vision/decode.h"
#include "vision/pil_resize.h"
#include "vision/png_writer.h"
#include "vision/preprocess.h"

namespace {

using ivl::vision::ResizeKernel;
using ivl::vision::RgbImage;

const RgbImage& photo() {
  static const RgbImage img = [] {
    RgbImage im(4000, 3000);
    uint32_t s = 1;
    for (int y = 0; y < im.height(); ++y) {
      uint8_t* row = im.row(y);
      for (int x = 0; x < im.width(); ++x) {
        s = s * 1664525u + 1013904223u;
        const double v = 128 + 60 * std::sin(x * 0.01) * std::cos(y * 0.013);
        for (int c = 0; c < 3; ++c) {
          const int p = static_cast<int>(v) + static_cast<int>((s >> (8 * c)) & 31) - 16 + 20 * c;
          row[3 * x + c] = static_cast<uint8_t>(p < 0 ? 0 : (p > 255 ? 255 : p));
        }
      }
    }
    return im;
  }();
  return img;
}

void BM_Resize(benchmark::State& state, ResizeKernel kernel, int out_w, int out_h, int threads) {
  if (!ivl::vision::resize_kernel_available(kernel)) {
    state.SkipWithError("kernel not available on this CPU");
    return;
  }
  const RgbImage& src = photo();
  for (auto _ : state) {
    RgbImage out = ivl::vision::resize_bicubic(src, out_w, out_h, {kernel, threads});
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["MP/s"] = benchmark::Counter(12.0 * static_cast<double>(state.iterations()),
                                              benchmark::Counter::kIsRate);
}

const int kThreads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

BENCHMARK_CAPTURE(BM_Resize, scalar_1792x1344, ResizeKernel::kScalar, 1792, 1344, 1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Resize, avx512_1792x1344, ResizeKernel::kAvx512, 1792, 1344, 1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Resize, avx512_threads_1792x1344, ResizeKernel::kAvx512, 1792, 1344, kThreads)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_Resize, scalar_448x448, ResizeKernel::kScalar, 448, 448, 1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Resize, avx512_448x448, ResizeKernel::kAvx512, 448, 448, 1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Resize, avx512_threads_448x448, ResizeKernel::kAvx512, 448, 448, kThreads)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_TileImage(benchmark::State& state) {
  ivl::vision::TilingOptions o;  // max_num 12: grid (4, 3) + thumbnail = 13 tiles
  o.resize.threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    auto t = ivl::vision::tile_image(photo(), o);
    benchmark::DoNotOptimize(t->tiles.data());
  }
}
BENCHMARK(BM_TileImage)->Arg(1)->Arg(kThreads)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_NormalizeTiles(benchmark::State& state) {
  static const auto tiles = ivl::vision::tile_image(photo(), {}).value();
  for (auto _ : state) {
    auto f = ivl::vision::normalize_tiles(tiles);
    benchmark::DoNotOptimize(f.data());
  }
}
BENCHMARK(BM_NormalizeTiles)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
