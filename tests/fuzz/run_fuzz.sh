#!/bin/sh
# Bounded libFuzzer runs of the chat-template engine, the tokenizer and the GGUF reader (with
# the dequantizer and the Gemma 3 import) (clang-22 with libclang-rt-22-dev; not part of CI).
# usage: tests/fuzz/run_fuzz.sh [SECONDS_PER_TARGET]
# Prints each target's executions and any finding (crash files land in the work directory).
set -eu
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${MVC_FUZZ_DIR:-/tmp/mvc-fuzz}
mkdir -p "$work/jinja-corpus" "$work/tokenizer-corpus" "$work/gguf-corpus"
cxx="clang++-22 -std=c++17 -Wno-deprecated-declarations -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
includes="-I$root -I$root/runtime/include"
sources=$(ls "$root"/runtime/text/*.cpp | grep -v -e _test.cpp -e test_fixtures.cpp -e tokenizer_bench.cpp)
libs="$(pkg-config --libs libpcre2-8 absl_status absl_statusor absl_strings absl_synchronization absl_flat_hash_map) -lutf8proc"
for target in jinja tokenizer; do
  [ -x "$work/${target}_fuzz" ] || $cxx $includes "$root/tests/fuzz/${target}_fuzz.cpp" $sources $libs -o "$work/${target}_fuzz"
done
gguf_sources="$root/runtime/weights/Gguf.cpp $root/runtime/weights/GgufDequant.cpp
  $root/runtime/weights/SafetensorsReader.cpp $root/runtime/util/MappedFile.cpp $root/runtime/util/DType.cpp
  $root/architectures/gemma3/Gemma3Gguf.cpp $root/architectures/gemma3/Gemma3GgufTokenizer.cpp
  $root/architectures/common/HfConfig.cpp $root/runtime/text/Unicode.cpp"
[ -x "$work/gguf_fuzz" ] || $cxx -ffp-contract=off $includes "$root/tests/fuzz/gguf_fuzz.cpp" $gguf_sources $libs -o "$work/gguf_fuzz"
# Seed the template corpus with the real templates.
cp "$root"/tests/fixtures/tokenizers/chat_templates/*.jinja "$work/jinja-corpus/" 2>/dev/null || true
printf 'Hello world\n  <|im_start|>x\xff\xfe\xc3' > "$work/tokenizer-corpus/seed"
cd "$work"
./jinja_fuzz -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 jinja-corpus 2>&1 | tail -3
gunzip -c "$root/tests/fixtures/tokenizers/qwen3/tokenizer.json.gz" > qwen3-tokenizer.json
MVC_FUZZ_TOKENIZER=$work/qwen3-tokenizer.json ./tokenizer_fuzz -max_total_time="$seconds" -max_len=2048 -timeout=10 -rss_limit_mb=4096 tokenizer-corpus 2>&1 | tail -3
# Seed the GGUF corpus with the tiny Gemma 3 GGUF and one file per dequantizer fixture.
python3 "$root/tests/fuzz/gguf_seeds.py" "$root/tests/fixtures" gguf-corpus
./gguf_fuzz -max_total_time="$seconds" -max_len=131072 -timeout=10 -rss_limit_mb=4096 gguf-corpus 2>&1 | tail -3
