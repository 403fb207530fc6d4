// mvc_text_bench TOKENIZER_JSON TEXT_FILE [REPEATS]: single-thread encode throughput.
// Prints "tokens=N fnv=H seconds=S mb_per_s=X" for the best of REPEATS runs; H is the 64-bit
// FNV-1a hash of the ids (as decimal strings joined by ','), to compare with another library.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/text/Tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: mvc_text_bench TOKENIZER_JSON TEXT_FILE [REPEATS]\n");
    return 2;
  }
  auto tokenizer = mvc::text::Tokenizer::fromFile(argv[1]);
  if (!tokenizer.ok()) {
    std::fprintf(stderr, "%s\n", std::string(tokenizer.status().message()).c_str());
    return 1;
  }
  std::ifstream in(argv[2], std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  const int repeats = argc > 3 ? std::atoi(argv[3]) : 3;
  double best = 1e30;
  std::vector<mvc::text::TokenId> ids;
  for (int i = 0; i < repeats; ++i) {
    auto start = std::chrono::steady_clock::now();
    ids = (*tokenizer)->encode(text, false);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::min(best, seconds);
  }
  uint64_t hash = 1469598103934665603ull;
  std::string joined;
  for (size_t i = 0; i < ids.size(); ++i) joined += (i ? "," : "") + std::to_string(ids[i]);
  for (unsigned char c : joined) hash = (hash ^ c) * 1099511628211ull;
  std::printf("tokens=%zu fnv=%llu seconds=%.4f mb_per_s=%.2f\n", ids.size(),
              static_cast<unsigned long long>(hash), best, text.size() / best / 1e6);
  return 0;
}
