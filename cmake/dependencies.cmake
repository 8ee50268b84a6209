# Third-party libraries, all from Debian 12 packages (scripts/setup.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
find_package(Threads REQUIRED)
if(IVL_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(IVL_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# Image decoding (vision library): libjpeg-turbo, libpng, libwebp, giflib.
find_package(JPEG REQUIRED)
find_package(PNG REQUIRED)
find_package(GIF REQUIRED)
pkg_check_modules(WEBP REQUIRED IMPORTED_TARGET libwebp)
pkg_check_modules(WEBPDEMUX REQUIRED IMPORTED_TARGET libwebpdemux)
# Video (optional): FFmpeg's libraries. Debian builds FFmpeg with --enable-gpl, so a binary
# linking them is GPL; IVL_VIDEO defaults to ON only when they are installed.
pkg_check_modules(FFMPEG IMPORTED_TARGET libavformat libavcodec libswscale libavutil)
option(IVL_VIDEO "Video input through FFmpeg (libavformat/libavcodec/libswscale; GPL as Debian builds them)"
       ${FFMPEG_FOUND})
if(IVL_VIDEO AND NOT FFMPEG_FOUND)
  message(FATAL_ERROR "IVL_VIDEO=ON but FFmpeg's libavformat/libavcodec/libswscale/libavutil were not "
                      "found (apt-get install libavformat-dev libavcodec-dev libswscale-dev libavutil-dev)")
endif()
if(IVL_VIDEO)
  message(STATUS "internvl.cpp: video input ON (FFmpeg ${FFMPEG_libavformat_VERSION}; GPL as built by Debian)")
else()
  message(STATUS "internvl.cpp: video input OFF (IVL_VIDEO=OFF or FFmpeg not found); "
                 "`internvl frames` and load_video_tiles() will report that video is not compiled in")
endif()
