// `internvl tiles`: how InternVL's dynamic preprocessing cuts an image (grid, tile count),
// optionally with a contact sheet PNG or the raw uint8 tiles.
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/sha256.h"
#include "io/model_config.h"
#include "vision/contact_sheet.h"
#include "vision/image_source.h"
#include "vision/png_writer.h"
#include "vision/preprocess.h"

namespace ivl::cli {
namespace {

struct TilesOptions {
  std::string image;
  std::string model_dir;
  int max_tiles = 0;
  bool have_max_tiles = false;
  bool json = false;
  std::string sheet_path;
  std::string raw_path;
};

int run_tiles(const TilesOptions& o) {
  io::ImageConfig image_config;  // the official defaults: 448, 1..12, thumbnail
  int64_t tokens_per_tile = 256;
  if (!o.model_dir.empty()) {
    auto config = io::load_model_config(o.model_dir);
    if (!config.ok()) return report_error(config.status());
    image_config = config->image;
    const double side = static_cast<double>(config->vision.grid_side()) * config->downsample_ratio;
    tokens_per_tile = static_cast<int64_t>(side * side);
  }
  if (o.have_max_tiles && (o.max_tiles < 1 || o.max_tiles > vision::kMaxTilesLimit)) {
    return report_error(Status::invalid_argument("--max-tiles must be in 1.." +
                                                 std::to_string(vision::kMaxTilesLimit)));
  }
  auto image = vision::load_image(o.image);
  if (!image.ok()) return report_error(image.status());
  vision::TilingOptions options = vision::make_tiling_options(
      static_cast<int>(image_config.image_size), static_cast<int>(image_config.min_dynamic_patch),
      static_cast<int>(image_config.max_dynamic_patch), image_config.use_thumbnail,
      o.have_max_tiles ? std::optional<int>(o.max_tiles) : std::nullopt);
  options.resize.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto tiled = vision::tile_image(*image, options);
  if (!tiled.ok()) return report_error(tiled.status().with_context(o.image));

  if (!o.sheet_path.empty()) {
    Status s = vision::write_png_file(vision::make_contact_sheet(*tiled), o.sheet_path);
    if (!s.ok()) return report_error(s);
  }
  if (!o.raw_path.empty()) {
    std::ofstream f(o.raw_path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(tiled->tiles.data()),
            static_cast<std::streamsize>(tiled->tiles.size()));
    if (!f) return report_error(Status::io_error(o.raw_path + ": cannot write the raw tiles"));
  }
  const std::string sha = sha256_hex(std::as_bytes(std::span(tiled->tiles)));
  const int blocks = tiled->grid.cols * tiled->grid.rows;
  if (o.json) {
    nlohmann::json j = {{"image", o.image},
                        {"width", image->width()},
                        {"height", image->height()},
                        {"max_num", options.max_num},
                        {"grid", {tiled->grid.cols, tiled->grid.rows}},
                        {"num_tiles", tiled->num_tiles},
                        {"thumbnail", tiled->has_thumbnail},
                        {"tile_size", tiled->tile_size},
                        {"image_tokens", tokens_per_tile * tiled->num_tiles},
                        {"tiles_uint8_sha256", sha}};
    std::cout << j.dump() << "\n";
  } else {
    std::cout << o.image << ": " << image->width() << "x" << image->height() << "\n"
              << "grid: " << tiled->grid.cols << "x" << tiled->grid.rows
              << " (columns x rows, max_num " << options.max_num << ")\n"
              << "tiles: " << tiled->num_tiles << " (" << blocks
              << (tiled->has_thumbnail ? " + thumbnail" : "") << ") of " << tiled->tile_size << "x"
              << tiled->tile_size << ", " << tokens_per_tile * tiled->num_tiles << " image tokens\n"
              << "sha256 of uint8 tiles: " << sha << "\n";
  }
  return 0;
}

}  // namespace

void add_tiles_command(CLI::App& app, int* exit_code) {
  auto opts = std::make_shared<TilesOptions>();
  CLI::App* sub = app.add_subcommand(
      "tiles", "Show how IMAGE is cut into tiles (InternVL dynamic preprocessing)");
  sub->add_option("image", opts->image, "Image file (JPEG, PNG, WebP, BMP, GIF) or data: URI")
      ->required();
  CLI::Option* max_tiles =
      sub->add_option("--max-tiles", opts->max_tiles,
                      "max_num: most tiles before the thumbnail (default: the model's "
                      "max_dynamic_patch, 12 without --model)");
  sub->add_option("-m,--model", opts->model_dir,
                  "Checkpoint directory whose config gives image size, max_dynamic_patch and "
                  "use_thumbnail")
      ->check(CLI::ExistingDirectory);
  sub->add_flag("--json", opts->json, "Print one JSON object instead of text");
  sub->add_option("-o,--sheet", opts->sheet_path,
                  "Write a contact sheet PNG: the tiles in their grid, the thumbnail beside it");
  sub->add_option("--raw", opts->raw_path, "Write the uint8 tiles [tiles, S, S, 3] as raw bytes");
  sub->callback([opts, exit_code, max_tiles] {
    opts->have_max_tiles = max_tiles->count() > 0;
    *exit_code = run_tiles(*opts);
  });
}

}  // namespace ivl::cli
