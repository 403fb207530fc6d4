#!/bin/sh
# Bounded libFuzzer runs (ASan + UBSan) of every parser that reads user input:
#   jinja         chat templates (runtime/text), rendered under limits
#   tokenizer     text through the real Qwen3 tokenizer
#   gguf          GGUF files (reader, dequantizers, the Gemma 3 import)
#   manifest      artifact manifests (runtime/artifact)
#   conversation  mvc-run --messages files (runtime/pipeline/Conversation)
#   openai_request  mvc-serve's request bodies (runtime/serving/OpenAiRequest)
#   json_schema   response_format schemas and texts through their automaton (completes
#                 only on JSON a strict parser accepts)
#   response      model replies through the Gemma 4 response parser (reasoning, tool calls;
#                 the same result however the text is cut)
#   config        npy files, and JSON as Gemma 3 / Llama config.json
#   image         JPEG and PNG decoding (--image)
#   safetensors   safetensors files (header, offsets, every tensor read)
# Needs clang-22 and libclang-rt-22-dev (Debian). CI runs it with a few seconds per target
# (.ci/run); a longer run: tests/fuzz/run_fuzz.sh 600.
# usage: tests/fuzz/run_fuzz.sh [SECONDS_PER_TARGET]   ($MVC_FUZZ_SEED fixes libFuzzer's seed;
# tests/fuzz/regressions holds inputs that once failed, replayed first by every target)
# Prints each target's last lines; exits non-zero on any finding (crash files land in the
# work directory, $MVC_FUZZ_DIR or /tmp/mvc-fuzz). Built targets are reused while their
# sources are older than the binary.
set -eu
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=${MVC_FUZZ_DIR:-/tmp/mvc-fuzz}
mkdir -p "$work"
work=$(cd "$work" && pwd)
seed=""
[ -n "${MVC_FUZZ_SEED:-}" ] && seed="-seed=$MVC_FUZZ_SEED"
# A fixed number of runs (with a fixed seed) makes a run repeatable: the time limit alone
# lets a faster machine reach further.
[ -n "${MVC_FUZZ_RUNS:-}" ] && seed="$seed -runs=$MVC_FUZZ_RUNS"
cxx="clang++-22 -std=c++17 -Wno-deprecated-declarations -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
includes="-I$root -I$root/runtime/include"
libs="$(pkg-config --libs libpcre2-8 absl_status absl_statusor absl_strings absl_synchronization absl_flat_hash_map) -lutf8proc"
text=$(ls "$root"/runtime/text/*.cpp | grep -v -e _test.cpp -e TestFixtures.cpp -e TokenizerBench.cpp)
util="$root/runtime/util/MappedFile.cpp $root/runtime/util/DType.cpp $root/runtime/util/Files.cpp $root/runtime/util/AtomicFile.cpp"

build() { # name, extra flags, sources...
  name=$1; flags=$2; shift 2
  # Rebuilt when any source or header it may include changed since.
  if [ ! -x "$work/${name}_fuzz" ] || [ -n "$(find "$root/runtime" "$root/architectures" \
       "$root/tests/fuzz" -newer "$work/${name}_fuzz" -name '*.[ch]*' | head -1)" ]; then
    echo "building ${name}_fuzz"
    $cxx $flags $includes "$root/tests/fuzz/${name}_fuzz.cpp" "$@" $libs -o "$work/${name}_fuzz"
  fi
}
build jinja "" $text "$root/runtime/util/Files.cpp"
build tokenizer "" $text "$root/runtime/util/Files.cpp"
build gguf -ffp-contract=off "$root/runtime/weights/Gguf.cpp" "$root/runtime/weights/GgufDequant.cpp" \
  "$root/runtime/weights/SafetensorsReader.cpp" $util \
  "$root/architectures/gemma3/Gemma3Gguf.cpp" "$root/architectures/gemma3/Gemma3GgufTokenizer.cpp" \
  "$root/architectures/common/GgufImport.cpp" "$root/architectures/common/HfConfig.cpp" \
  "$root/runtime/text/Unicode.cpp"
build manifest "" "$root/runtime/artifact/Manifest.cpp" "$root/runtime/artifact/Expr.cpp" \
  "$root/runtime/artifact/BlockFormat.cpp" $util
build conversation "" "$root/runtime/pipeline/Conversation.cpp" $util
build openai_request "" "$root/runtime/serving/OpenAiRequest.cpp" \
  "$root/runtime/pipeline/Conversation.cpp" "$root/runtime/pipeline/Sampler.cpp" \
  "$root/runtime/pipeline/JsonSchema.cpp" $util
build json_schema "" "$root/runtime/pipeline/JsonSchema.cpp" "$root/runtime/pipeline/JsonConstraint.cpp" \
  "$root/runtime/pipeline/TokenPiece.cpp" $text $util
build response "" "$root/runtime/pipeline/ResponseParser.cpp" "$root/runtime/text/JsonString.cpp"
build image "" "$root/runtime/vision/Decode.cpp" "$root/runtime/vision/JpegDecoder.cpp" \
  "$root/runtime/vision/PngDecoder.cpp" "$root/runtime/vision/Exif.cpp" $util -ljpeg -lpng
build safetensors "" "$root/runtime/weights/SafetensorsReader.cpp" $util
build config "" "$root/runtime/util/Npy.cpp" $util "$root/architectures/common/HfConfig.cpp" \
  "$root/architectures/common/Rope.cpp" "$root/architectures/gemma3/Gemma3Config.cpp" \
  "$root/architectures/llama/LlamaConfig.cpp"

cd "$work"
mkdir -p jinja-corpus tokenizer-corpus gguf-corpus manifest-corpus conversation-corpus config-corpus \
  image-corpus safetensors-corpus openai_request-corpus json_schema-corpus response-corpus
find "$root/tests/fixtures" -maxdepth 3 \( -name '*.png' -o -name '*.jpg' -o -name '*.jpeg' \) \
  -size -64k -exec cp {} image-corpus/ \; 2>/dev/null || true

# Seeds: the real templates, a tokenizer string, the tiny GGUFs, a real manifest, a
# conversation with an image part, the fixtures' configs.
cp "$root"/tests/fixtures/tokenizers/chat_templates/*.jinja jinja-corpus/ 2>/dev/null || true
printf 'Hello world\n  <|im_start|>x\xff\xfe\xc3' > tokenizer-corpus/seed
python3 "$root/tests/fuzz/gguf_seeds.py" "$root/tests/fixtures" gguf-corpus
python3 - "$root" <<'EOF'
import json, sys
root = sys.argv[1]
json.dump({"format_version": 1, "producer": "seed", "source": {"path": "x", "kind": "mlir"},
           "architecture": "graph", "config": {}, "target": {"kind": "cpu", "cpu": "x86-64-v3",
           "cpu_features": ["avx2"]}, "weights": [], "states": [],
           "load_symbols": {"num_pages": 4}, "programs": []},
          open("manifest-corpus/seed.json", "w"))
json.dump([{"role": "system", "content": "be brief"},
           {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                                        {"type": "text", "text": "What is this?"}]}],
          open("conversation-corpus/seed.json", "w"))
json.dump({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8,
           "temperature": 0.7, "top_p": 0.9, "n": 2, "stop": ["END"], "stream": True,
           "stream_options": {"include_usage": True}, "seed": 1},
          open("openai_request-corpus/chat.json", "w"))
json.dump({"model": "m", "prompt": [1, 2, 3], "echo": True, "max_tokens": 4},
          open("openai_request-corpus/completion.json", "w"))
person = {"type": "object", "additionalProperties": False, "required": ["name"],
          "properties": {"name": {"type": "string", "maxLength": 8}, "age": {"type": "integer"},
                         "tags": {"type": "array", "items": {"enum": ["a", "b", 1]}, "maxItems": 2},
                         "next": {"anyOf": [{"$ref": "#/$defs/n"}, {"type": "null"}]}},
          "$defs": {"n": {"type": "object", "properties": {"v": {"type": ["number", "boolean"]}}}}}
json.dump({"model": "m", "messages": [{"role": "user", "content": "Hi"}],
           "response_format": {"type": "json_schema", "json_schema": {"name": "p", "schema": person}}},
          open("openai_request-corpus/schema.json", "w"))
open("json_schema-corpus/person", "w").write(
    json.dumps(person) + '\n{"name": "x\\u00e9", "age": -12, "tags": ["a", 1], "next": {"v": 1.5e3}}')
open("json_schema-corpus/object", "w").write('{"type": "object"}\n{"a": [1, {"b": null}], "c": "d"}')
for t in json.load(open(root + "/tests/fixtures/gemma4_responses/responses.json"))["transcripts"]:
    open("response-corpus/" + t["name"], "w").write("\x03" + t["text"])
import struct
header = json.dumps({"__metadata__": {"format": "pt"},
                     "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
                     "b": {"dtype": "BF16", "shape": [4], "data_offsets": [24, 32]},
                     "c": {"dtype": "F16", "shape": [1, 2], "data_offsets": [32, 36]}}).encode()
header += b" " * (-len(header) % 8)
open("safetensors-corpus/seed.safetensors", "wb").write(
    struct.pack("<Q", len(header)) + header + struct.pack("<6f", 1, 2, 3, 4, 5, 6) + bytes(12))
for name in ["tiny-gemma3-text", "tiny-llama-text"]:
    open("config-corpus/" + name + ".json", "w").write(open(root + "/tests/fixtures/" + name + "/config.json").read())
EOF
gunzip -c "$root/tests/fixtures/tokenizers/qwen3/tokenizer.json.gz" > qwen3-tokenizer.json

status=0
run() { # name, extra libFuzzer flags
  name=$1; shift
  echo "== ${name}_fuzz (${seconds} s)"
  if ! ./"${name}_fuzz" -max_total_time="$seconds" -timeout=10 $seed "$@" "${name}-corpus" \
      "$root/tests/fuzz/regressions" > "${name}.log" 2>&1; then
    status=1
    tail -30 "${name}.log"
  else
    tail -2 "${name}.log"
  fi
}
run jinja -max_len=4096 -rss_limit_mb=2048
MVC_FUZZ_TOKENIZER=$work/qwen3-tokenizer.json run tokenizer -max_len=2048 -rss_limit_mb=4096
run gguf -max_len=131072 -rss_limit_mb=4096
run manifest -max_len=65536 -rss_limit_mb=2048
run conversation -max_len=65536 -rss_limit_mb=2048
run openai_request -max_len=65536 -rss_limit_mb=2048
run json_schema -max_len=8192 -rss_limit_mb=2048
run response -max_len=4096 -rss_limit_mb=2048
run config -max_len=65536 -rss_limit_mb=2048
run image -max_len=65536 -rss_limit_mb=2048
run safetensors -max_len=65536 -rss_limit_mb=2048
exit $status
