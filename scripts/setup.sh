#!/usr/bin/env bash
# Installs every Debian package the build and the tests need (Debian 12 "bookworm").
# Idempotent: packages already present are left alone; apt is only touched when one is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang-format
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev
  libpcre2-dev libutf8proc-dev libsentencepiece-dev
  libjpeg62-turbo-dev libturbojpeg0-dev libpng-dev libwebp-dev libgif-dev zlib1g-dev
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
