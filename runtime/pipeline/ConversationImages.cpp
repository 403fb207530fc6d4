//===- ConversationImages.cpp - a conversation's images, prepared ---------===//
#include "runtime/pipeline/ConversationImages.h"

#include "absl/strings/str_cat.h"
#include "runtime/vision/Decode.h"

namespace mvc {

absl::StatusOr<std::vector<PreparedImage>> prepareConversationImages(
    const Conversation &conversation, const RunHalf &half, ImageSplitting splitting) {
  std::vector<PreparedImage> images;
  for (const ConversationMedia &media : conversation.media) {
    if (media.kind == ConversationMedia::Kind::Video)
      return absl::InvalidArgumentError(absl::StrCat(media.where, ": this model takes no videos"));
    absl::StatusOr<vision::RgbImage> image =
        media.path.empty()
            ? vision::decodeImage(
                  absl::MakeConstSpan(reinterpret_cast<const uint8_t *>(media.bytes.data()),
                                      media.bytes.size()),
                  "the data: URL")
            : vision::loadImage(media.path);
    absl::StatusOr<PreparedImage> prepared =
        image.ok() ? half.prepareImage(*image, splitting)
                   : absl::StatusOr<PreparedImage>(image.status());
    if (!prepared.ok())
      return absl::Status(prepared.status().code(),
                          absl::StrCat(media.where, ": ", prepared.status().message()));
    images.push_back(std::move(*prepared));
  }
  return images;
}

} // namespace mvc
