// Packed and quantized weight layouts (ops::MatrixLayout) and the scalar code that makes them.
//
// All layouts keep nn.Linear orientation: output row n, input column k.
//
// kBF16Panels — output rows in panels of 32 (the last one zero-padded), K even. Inside a panel,
//   for each pair of columns (k, k+1), the 32 rows' pairs are stored consecutively:
//   element (n, k) is uint16 number  panel(n / 32) · 32·K + ((k / 2) · 32 + n % 32) · 2 + k % 2.
//   One zmm load is 16 rows × one column pair, exactly the operand of vdpbf16ps, and a GEMV
//   reads each panel as one sequential stream (the dependency note measured 2× the bandwidth of
//   interleaved row streams).
// kBF16Compact — the bf16 values of kBF16Panels, losslessly in 12 bits per weight (decode reads
//   0.75 of the bytes; it is bound by memory bandwidth). A bf16 weight is sign, 8 exponent bits,
//   7 mantissa bits; within a panel almost all exponents fall in a window of 15 consecutive
//   values (random normal weights: all but ~1.5e-4 of them), so each weight keeps its sign and
//   mantissa in one byte and its exponent as a 4-bit code into the panel's table. A panel is
//   compact_panel_bytes(K) bytes:
//   - 32 uint16 of table: table[0] = 0 (exponent field 0: zeros and subnormals, exactly),
//     table[c] = (base + c) << 7 for c = 1..15 (the window, placed where most exponents are),
//     table[16..31] = 0. vpermw maps a word's code to its exponent bits in one instruction.
//   - then the column pairs in groups of two (192 bytes, three whole cache lines; an odd last
//     pair is followed by a zero one): 64 + 64 bytes of sign·mantissa (s << 7 | m, one byte per
//     weight, in kBF16Panels' word order within the pair: word (n % 16)·2 + k % 2, rows 16–31 in
//     the second 32 bytes), then 32 + 32 code bytes (byte j: the code of word j of rows 0–15 in
//     its low nibble, of rows 16–31 in its high nibble).
//   A word is rebuilt as (sign-extended byte & 0x807f) | table[code]. A weight whose exponent is
//   outside the window (a zero code cannot carry it) is stored as +0 (byte and code 0) and listed
//   as an exception: its row and column in the panel and its bf16 bits. The matrix's exceptions
//   live apart from the panels (Matrix::exceptions: uint32 start[panels + 1], then the entries,
//   panel by panel; compact_exceptions). The kernels either add their products after a panel's
//   (a few activation rows) or write them into the panel they rebuild (many rows).
// kQ8_0 — row by row; K a multiple of 32. A row is K int8 codes q, then K/32 fp16 scales d:
//   w[k] = d[k / 32] · q[k],  d = max|w| / 127 over the block,  q in [-127, 127].
// kQ4_0 — row by row; K a multiple of 32. A row is K/2 bytes of 4-bit codes, then K/32 fp16
//   scales: w[k] = d[k / 32] · (code[k] − 8), code in [0, 15]; as in llama.cpp's q4_0,
//   d = w_max / −8 where w_max is the block's value of largest |w|.
// Code order (both): blocks of 32 are interleaved in super-blocks of 16 blocks (512 weights; the
//   last one may hold fewer, nsb), so that one 64-byte load holds 4 consecutive codes of each of
//   16 blocks — one block per int32 lane of vpdpbusd. The lanes then accumulate a whole block in
//   integers, and the 16 block scales apply to a whole register at once (cvtph of 16 contiguous
//   scales): no shuffles and no per-block conversion in the GEMV (measured: the natural order
//   needed a permute and a conversion per 64 weights and ran at ~12 GB/s, compute-bound).
//   Weight i lies in super-block s = i / 512, block lane l = (i % 512) / 32, step j = (i % 32) / 4,
//   byte r = i % 4. q8_0: code byte 512·s + 4·nsb·j + 4·l + r. q4_0: byte 256·s + 4·nsb·(j / 2) +
//   4·l + r, low nibble for even j, high nibble for odd j (one load, two steps).
// Rows are one sequential stream each, which is what decode's GEMV wants.
// A quantized matrix is a list of row segments (Matrix::segments): one in the weight arena when
// quantized at load, or one per source tensor, in place in the mapping, when read from a
// quantized checkpoint (`internvl quantize`, docs/architecture.md "Quantized checkpoints"); both
// hold the same bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "core/weight_arena.h"
#include "ivl/status.h"
#include "ops/matrix.h"

namespace ivl::ops {

inline constexpr int64_t kPanelRows = 32;
inline constexpr int64_t kQuantBlock = 32;

// Panels of a matrix with `out` rows (the last one may be partial).
inline int64_t panel_count(int64_t out) {
  return (out + kPanelRows - 1) / kPanelRows;
}
// Where weight (row n < 32, column c) of a kBF16Panels panel lies, in uint16 words.
inline int64_t panel_word_index(int64_t n, int64_t c) {
  return (c / 2) * 64 + n * 2 + c % 2;
}

// Bytes of a matrix [out, in] in `layout` (not kRows); for kBF16Compact the panels only.
size_t packed_bytes(MatrixLayout layout, int64_t out, int64_t in);
// Bytes of one row of the row-wise quantized layouts.
size_t quant_row_bytes(MatrixLayout layout, int64_t in);

// Whether a matrix with `in` columns can use the layout (K even / a multiple of 32).
bool layout_fits(MatrixLayout layout, int64_t in);

// The row-quantized layout a matrix with `in` columns gets when `layout` (kQ8_0 or kQ4_0) is
// asked for: both need K % 32 == 0, else kRows (not quantized). kRows and kBF16Panels give kRows.
MatrixLayout quantized_layout_for(MatrixLayout layout, int64_t in);

// Converts a kRows matrix (any dtype, any segments) into `layout`, in memory from `arena`
// (quantized rows: one segment). Requires layout_fits(layout, src.in). Parallel over rows when
// pool is given. The rows are converted in blocks of about kPackBlockBytes of source, in order;
// rows_done (optional) is called with each block's source rows [r0, r1) once they have been
// read for the last time (the loader drops their checkpoint pages there, so that a large matrix
// is never resident whole beside its converted copy).
// The bf16 layouts hold any bf16 value (NaN and infinity too, as the checkpoint has them); the
// quantized ones fail on the first row that does not fit (unquantizable: "<row_name(R)> holds
// ...", by default "row R"). The arena memory taken is not given back.
inline constexpr size_t kPackBlockBytes = size_t{16} << 20;
Result<Matrix> pack_matrix(const Matrix& src, MatrixLayout layout, WeightArena& arena,
                           ThreadPool* pool,
                           const std::function<void(int64_t r0, int64_t r1)>& rows_done = {},
                           const std::function<std::string(int64_t row)>& row_name = {});

// Whether a block of 32 weights can be quantized. kNotFinite: a weight is NaN or infinite (a
// block scale cannot code it). kScaleOverflow: the block's scale (max |w| / 127 for q8_0, / 8 for
// q4_0) rounds beyond fp16's largest value, 65504 — weights of magnitude ≳ 8.3e6 (q8_0) or
// ≳ 5.2e5 (q4_0), which no trained checkpoint holds.
enum class BlockFit { kFits, kNotFinite, kScaleOverflow };
// The error for a row (`where`: "row 17", "tensor X row 17") that does not fit `layout`:
// kCorruptData for a non-finite weight, kUnsupported for an overflowing scale.
Status unquantizable(const std::string& where, BlockFit fit, MatrixLayout layout);

// The first of a run of rows that does not fit (row -1: all fit).
struct UnfitRow {
  int64_t row = -1;
  BlockFit fit = BlockFit::kFits;
  bool any() const { return row >= 0; }
};

// The lowest unfit row that the threads of a parallel quantization report, each for its own
// rows: offer() from any thread, get() once they have joined.
class FirstUnfitRow {
 public:
  void offer(UnfitRow candidate) {
    if (!candidate.any()) return;
    const std::lock_guard<std::mutex> lock(mutex_);
    if (!first_.any() || candidate.row < first_.row) first_ = candidate;
  }
  UnfitRow get() const { return first_; }

 private:
  std::mutex mutex_;
  UnfitRow first_;
};

// Quantizes `rows` consecutive rows of `in` elements of float `dtype` (F32, BF16, F16) at src
// into the row layout (q8_0 or q4_0) at dst: exactly what pack_matrix does for each row (the
// quantizer of `internvl quantize`). `scratch` holds at least `in` floats. Stops at the first row
// that does not fit and returns it (index in [0, rows)).
UnfitRow quantize_rows(const std::byte* src, DType dtype, int64_t rows, int64_t in,
                       MatrixLayout layout, std::byte* dst, float* scratch);

// Where the code of weight i of a row with K = 32·nb weights lives (see the layout above).
inline int64_t q8_code_offset(int64_t i, int64_t nb) {
  const int64_t s = i / 512, nsb = nb - 16 * s < 16 ? nb - 16 * s : 16;
  const int64_t l = (i % 512) / 32, j = (i % 32) / 4, r = i % 4;
  return 512 * s + 4 * nsb * j + 4 * l + r;
}
inline int64_t q4_code_offset(int64_t i, int64_t nb, bool* high_nibble) {
  const int64_t s = i / 512, nsb = nb - 16 * s < 16 ? nb - 16 * s : 16;
  const int64_t l = (i % 512) / 32, j = (i % 32) / 4, r = i % 4;
  *high_nibble = j % 2 == 1;
  return 256 * s + 4 * nsb * (j / 2) + 4 * l + r;
}

// kBF16Compact: bytes of one panel with K (even) columns, and of a matrix's exception list.
inline constexpr size_t kCompactTableBytes = 64;
inline constexpr size_t kCompactGroupBytes = 192;  // two column pairs
inline size_t compact_panel_bytes(int64_t k) {
  return kCompactTableBytes + kCompactGroupBytes * static_cast<size_t>((k / 2 + 1) / 2);
}
size_t compact_exception_bytes(const Matrix& m);

// A kBF16Compact weight outside its panel's exponent window: row (0..31) and column within the
// panel, and its bf16 bits.
struct BF16Exception {
  uint32_t col;
  uint16_t row;
  uint16_t bits;
};
struct CompactExceptionList {
  const BF16Exception* begin;
  const BF16Exception* end;
};
// The exceptions of panel `panel` of a kBF16Compact matrix, in the order compress_panel listed
// them.
CompactExceptionList compact_exceptions(const Matrix& m, int64_t panel);

// One kBF16Panels panel (32 rows × k, k even) into a kBF16Compact panel at dst
// (compact_panel_bytes(k) bytes); the weights outside the chosen window are appended to
// *exceptions. Lossless: expand_compact_panel plus the exceptions give back `panel` bit for bit.
void compress_panel(const uint16_t* panel, int64_t k, std::byte* dst,
                    std::vector<BF16Exception>* exceptions);
// The kBF16Panels panel a kBF16Compact panel codes, with its exceptions as +0 (scalar; the
// kernels have their own).
void expand_compact_panel(const std::byte* src, int64_t k, uint16_t* panel);
// Writes the exceptions' bits into an expanded panel: it is then the kBF16Panels panel exactly.
void patch_exceptions(CompactExceptionList exceptions, uint16_t* panel);
// Adds the exceptions' products to m rows of output c (row stride ldc, the panel's first output
// at c) of bf16 activations a (row stride lda): for a kernel that read them as +0.
void add_exception_products(CompactExceptionList exceptions, const uint16_t* a, int64_t lda,
                            int64_t m, float* c, int64_t ldc);

// Quantizes one row of K float weights into the row layout (q8_0 or q4_0) at dst; returns the
// kind of the first block that does not fit (kFits: all do). Such blocks are stored as zeros.
BlockFit quantize_row(const float* w, int64_t k, MatrixLayout layout, std::byte* dst);
// Inverse: the float weights of one quantized row (exact: d · q in float32).
void dequantize_row(const std::byte* src, int64_t k, MatrixLayout layout, float* w);

}  // namespace ivl::ops
