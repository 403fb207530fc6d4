//===- mvc-compile.cpp - compile a model into a .mvc artifact -------------===//
#include "compiler/Pipelines/Compile.h"
#include "runtime/util/ToolMain.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

static void usage(std::ostream &os) {
  os << "usage: mvc-compile INPUT -o OUT.mvc [options]\n"
        "  INPUT                    a Hugging Face checkpoint directory (config.json, *.safetensors),\n"
        "                           a Gemma 3 .gguf file, or an .mlir file holding an mvc graph\n"
        "                           (one func.func per program)\n"
        "  -o, --output FILE        the artifact (or the IR of --compile-to; '-' = stdout)\n"
        "  --target LIST            a comma list of one family: cpu, or any of cuda:sm_80,\n"
        "                           cuda:sm_90a, cuda-emu, cuda-emu:sm_80, cuda-emu:sm_90a\n"
        "                           (default: cpu)\n"
        "  --cpu NAME               native | native-noamx | x86-64-v3 | x86-64-v4 (default:\n"
        "                           native: this CPU's ISA, AMX tiles too where it has them)\n"
        "  --weights DIR            weight values as DIR/<weight name>.npy (f32)\n"
        "  --random-weights SEED    seeded random values for weights without a file\n"
        "  --compile-to PHASE       stop after PHASE and print its IR: input, graph, dispatch,\n"
        "                           kernels, llvm (gpu: the NVVM-dialect module), artifact\n"
        "                           (default: artifact)\n"
        "  --dump-after PHASE       print the IR after PHASE to stderr and go on\n"
        "  --dtype TYPE             f32 | bf16: checkpoint weights as f32 or bf16 (default:\n"
        "                           bf16); q8_0 | q4_0 | q4_1 | q5_0 | q5_1 | q4_k | q5_k | q6_k:\n"
        "                           the projections' weights quantized to that ggml block format\n"
        "                           as ggml's reference quantizers do (4/5-bit: the LM head and\n"
        "                           a tied embedding q8_0; k-quants: rows not a multiple of 256\n"
        "                           q5_0, q5_1, q8_0), the others bf16 (.mlir graphs too);\n"
        "                           keep (GGUF): each weight in the file's block format, the\n"
        "                           others f32\n"
        "  --kv-dtype f32|bf16      checkpoints: the KV cache's element type (default: f32\n"
        "                           with --dtype f32 or keep, else bf16)\n"
        "  --decode-activations int8|f32\n"
        "                           block-format matmuls of at most 8 rows (decode): int8\n"
        "                           quantizes the activations per 32 values (as llama.cpp's\n"
        "                           q8_0) for integer dot products, on CPUs with avx512_vnni\n"
        "                           and avx512_vbmi; f32 keeps them f32 (default: int8)\n"
        "  --page-size N            tokens per KV-cache page (default: 16)\n"
        "  --expose-routing         MoE models: each MoE layer's routing as extra outputs of\n"
        "                           the forward program (mvc-run --dump-outputs writes them)\n"
        "  --kv-pages N             default number of KV-cache pages (default: 64)\n"
        "  --emit-kernels DIR       also write the kernels as files: DIR/kernels.cpu.so (cpu);\n"
        "                           DIR/NAME.sm_80.cubin, NAME.sm_90a.cubin, NAME.compute_80.ptx\n"
        "                           per kernel (cuda)\n"
        "  --chat-template FILE     checkpoints: the chat template to embed, replacing the\n"
        "                           checkpoint's (a .jinja file, or a tokenizer_config.json's\n"
        "                           chat_template) (default: the checkpoint's, if any)\n"
        "  --quiet                  no progress on stderr (default: an updating line on a\n"
        "                           terminal, one line per phase otherwise)\n"
        "  -j, --jobs N             compile kernels on N threads (default: the machine's cores)\n"
        "  --timings                print where the time went: seconds per phase and the\n"
        "                           five slowest kernel compiles\n"
        "  -h, --help               this text\n";
}

static int toolMain(int argc, char **argv) {
  mvc::CompileOptions opts;
  // A flag's value; an option in its place (`--dtype -o a.mvc`) is a missing value, not a
  // value (a path beginning with '-' can be given as ./-name).
  auto need = [&](int &i) -> const char * {
    const char *next = i + 1 < argc ? argv[i + 1] : nullptr;
    if (!next || (next[0] == '-' && next[1] != '\0' && !std::isdigit(static_cast<unsigned char>(next[1])))) {
      std::cerr << "mvc-compile: error: " << argv[i] << " needs a value"
                << (next ? std::string(" (got the option '") + next + "')" : std::string()) << "\n";
      std::exit(1);
    }
    return argv[++i];
  };
  // An integer flag; anything else (text, trailing characters, overflow) is an error
  // naming the flag. Ranges are checked by runCompile, with the rest of the options.
  auto integer = [&](int &i) -> int64_t {
    const char *flag = argv[i], *v = need(i);
    char *end = nullptr;
    errno = 0;
    long long n = std::strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno == ERANGE) {
      std::cerr << "mvc-compile: error: " << flag << " needs an integer, got '" << v << "'\n";
      std::exit(1);
    }
    return n;
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") { usage(std::cout); return 0; }
    else if (a == "-o" || a == "--output") opts.output = need(i);
    else if (a == "--target") opts.target = need(i);
    else if (a == "--cpu") opts.cpu = need(i);
    else if (a.rfind("--cpu=", 0) == 0) opts.cpu = a.substr(6);
    else if (a == "--weights") opts.weightsDir = need(i);
    else if (a == "--random-weights") {
      const char *v = need(i);
      char *end = nullptr;
      opts.randomSeed = std::strtoull(v, &end, 10);
      if (!*v || *end) { std::cerr << "mvc-compile: error: --random-weights needs an integer seed\n"; return 1; }
    }
    else if (a == "--compile-to") opts.compileTo = need(i);
    else if (a.rfind("--compile-to=", 0) == 0) opts.compileTo = a.substr(13);
    else if (a == "--dump-after") opts.dumpAfter = need(i);
    else if (a.rfind("--dump-after=", 0) == 0) opts.dumpAfter = a.substr(13);
    else if (a == "--kv-pages") opts.kvPages = integer(i);
    else if (a == "--dtype") opts.dtype = need(i);
    else if (a == "--kv-dtype") opts.kvDtype = need(i);
    else if (a == "--decode-activations") opts.decodeActivations = need(i);
    else if (a.rfind("--dtype=", 0) == 0) opts.dtype = a.substr(8);
    else if (a == "--page-size") opts.pageSize = integer(i);
    else if (a == "--expose-routing") opts.exposeRouting = true;
    else if (a == "--emit-kernels") opts.emitKernelsDir = need(i);
    else if (a == "--chat-template") opts.chatTemplate = need(i);
    else if (a == "--quiet" || a == "-q") opts.quiet = true;
    else if (a == "--timings") opts.timings = true;
    else if (a == "--jobs" || a == "-j") {
      int64_t n = integer(i);
      if (n < 0 || n > 4096) {
        std::cerr << "mvc-compile: error: --jobs needs a number of threads (0 to 4096), got " << n << "\n";
        return 1;
      }
      opts.jobs = int(n);
    }
    else if (!a.empty() && a[0] == '-' && a != "-") {
      std::cerr << "mvc-compile: error: unknown option '" << a << "' (see --help)\n";
      return 1;
    } else if (opts.input.empty()) opts.input = a;
    else { std::cerr << "mvc-compile: error: more than one input ('" << a << "')\n"; return 1; }
  }
  if (opts.input.empty()) { usage(std::cerr); return 1; }
  if (opts.compileTo != "artifact" && opts.output.empty()) opts.output = "-";
  return mvc::runCompile(opts);
}

int main(int argc, char **argv) {
  return mvc::guardedMain("mvc-compile", [&] { return toolMain(argc, argv); });
}
