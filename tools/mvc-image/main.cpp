// mvc-image: one image file to the pixel_values an HF image processor makes of it, as .npy.
// Errors (unreadable, corrupt or unsupported files, bad configs) go to stderr, exit code 1.
#include <cstdio>
#include "runtime/util/ToolMain.h"
#include <cstdlib>
#include <string>

#include "runtime/util/Npy.h"
#include "runtime/vision/Decode.h"
#include "runtime/vision/ImageProcessor.h"

namespace {

constexpr const char *kUsage =
    R"(usage: mvc-image FILE --preprocessor-config JSON --out PIXELS.npy [--backend torchvision|pil]

Decodes FILE (JPEG or PNG; EXIF orientation applied, converted to RGB as HF's load_image)
and writes float32 [1 + crops, 3, height, width] pixel_values: the image, then its
pan-and-scan crops when the config enables them.

  --preprocessor-config JSON  the checkpoint's preprocessor_config.json (required)
  --out PIXELS.npy            where to write the pixel values (required)
  --backend B                 whose resize to reproduce: torchvision (transformers'
                              default for Gemma 3) or pil (default: torchvision)
  --help                      this text
)";

[[noreturn]] void usageError(const std::string &message) {
  std::fprintf(stderr, "mvc-image: %s\n\n%s", message.c_str(), kUsage);
  std::exit(2);
}

int fail(const absl::Status &status) {
  std::fprintf(stderr, "mvc-image: %s\n", std::string(status.message()).c_str());
  return 1;
}

} // namespace

static int toolMain(int argc, char **argv) {
  std::string file, configPath, outPath, backend = "torchvision";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--preprocessor-config") {
      configPath = value();
    } else if (arg == "--out") {
      outPath = value();
    } else if (arg == "--backend") {
      backend = value();
    } else if (!arg.empty() && arg[0] == '-') {
      usageError("unknown option " + arg);
    } else if (file.empty()) {
      file = arg;
    } else {
      usageError("one image file only");
    }
  }
  if (file.empty() || configPath.empty() || outPath.empty())
    usageError("FILE, --preprocessor-config and --out are required");
  if (backend != "torchvision" && backend != "pil")
    usageError("--backend must be torchvision or pil");

  absl::StatusOr<mvc::vision::ImageProcessorConfig> config =
      mvc::vision::ImageProcessorConfig::load(configPath);
  if (!config.ok())
    return fail(config.status());
  config->arithmetic = backend == "pil" ? mvc::vision::FixedPoint::kPillow
                                        : mvc::vision::FixedPoint::kTorchUint8;
  absl::StatusOr<mvc::vision::RgbImage> image = mvc::vision::loadImage(file);
  if (!image.ok())
    return fail(image.status());
  mvc::vision::ProcessedImage processed = mvc::vision::preprocess(*image, *config);
  const int64_t rows = 1 + processed.numCrops;
  const int64_t height = config->doResize ? config->height : image->height;
  const int64_t width = config->doResize ? config->width : image->width;
  const int64_t shape[] = {rows, 3, height, width};
  if (absl::Status status =
          mvc::writeNpy(outPath, mvc::DType::F32, shape, processed.pixelValues.data(),
                        processed.pixelValues.size() * sizeof(float));
      !status.ok())
    return fail(status);
  std::fprintf(stderr, "%s: %lldx%lld -> [%lld, 3, %lld, %lld] (%lld crops)\n", file.c_str(),
               (long long)image->width, (long long)image->height, (long long)rows,
               (long long)height, (long long)width, (long long)processed.numCrops);
  return 0;
}

int main(int argc, char **argv) {
  return mvc::guardedMain("mvc-image", [&] { return toolMain(argc, argv); });
}
