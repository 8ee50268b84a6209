#include "vision/ffmpeg_library.h"

#include <dlfcn.h>

#include <string>

namespace ivl::vision {
namespace {

// The sonames of the major versions the headers declare.
std::string soname(const char* library, int major) {
  return "lib" + std::string(library) + ".so." + std::to_string(major);
}

struct Loaded {
  FfmpegLibrary functions;
  Status status;
};

Loaded load() {
  Loaded out;
  struct Handle {
    const char* library;
    int major;
    void* handle = nullptr;
  };
  // Dependencies first (each one also pulls its own), so a missing one is named as itself.
  Handle handles[] = {{"avutil", LIBAVUTIL_VERSION_MAJOR},
                      {"swscale", LIBSWSCALE_VERSION_MAJOR},
                      {"avcodec", LIBAVCODEC_VERSION_MAJOR},
                      {"avformat", LIBAVFORMAT_VERSION_MAJOR}};
  // Debian names each library's package by its soname: libavformat59 for libavformat.so.59.
  std::string install = " (video input needs FFmpeg's shared libraries: apt-get install";
  for (const Handle& h : handles)
    install += " lib" + std::string(h.library) + std::to_string(h.major);
  install += ")";
  for (Handle& h : handles) {
    const std::string name = soname(h.library, h.major);
    h.handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h.handle == nullptr) {
      const char* why = dlerror();
      out.status =
          Status::unsupported("cannot load " + name + ": " + (why ? why : "not found") + install);
      return out;
    }
  }
  auto handle_of = [&](const char* library) -> void* {
    for (const Handle& h : handles) {
      if (std::string(h.library) == library) return h.handle;
    }
    return nullptr;
  };
#define IVL_FFMPEG_RESOLVE(library, name)                                                   \
  {                                                                                         \
    void* symbol = dlsym(handle_of(#library), #name);                                       \
    if (symbol == nullptr) {                                                                \
      out.status = Status::unsupported("lib" #library " has no function " #name + install); \
      return out;                                                                           \
    }                                                                                       \
    out.functions.name = reinterpret_cast<decltype(out.functions.name)>(symbol);            \
  }
  IVL_FFMPEG_FUNCTIONS(IVL_FFMPEG_RESOLVE)
#undef IVL_FFMPEG_RESOLVE
  return out;
}

}  // namespace

Result<const FfmpegLibrary*> ffmpeg_library() {
  static const Loaded loaded = load();  // thread-safe initialisation, once
  if (!loaded.status.ok()) return loaded.status;
  return &loaded.functions;
}

}  // namespace ivl::vision
