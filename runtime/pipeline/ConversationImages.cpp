//===- ConversationImages.cpp - a conversation's images, prepared ---------===//
#include "runtime/pipeline/ConversationImages.h"

#include "absl/strings/str_cat.h"
#include "runtime/vision/Decode.h"

namespace mvc {

absl::StatusOr<std::vector<PreparedImage>> prepareConversationImages(
    const Conversation &conversation, const RunHalf &half, ImageSplitting splitting,
    const vision::VideoOptions &videoOptions) {
  std::vector<PreparedImage> images;
  for (const ConversationMedia &media : conversation.media) {
    if (media.kind == ConversationMedia::Kind::Video) {
      if (!half.takesVideos())
        return absl::InvalidArgumentError(absl::StrCat(media.where, ": this model takes no videos"));
      if (media.path.empty())
        return absl::InvalidArgumentError(absl::StrCat(
            media.where, ": a video is given by a file or frame directory path, not inline data"));
      absl::StatusOr<std::unique_ptr<vision::VideoSource>> video =
          vision::openVideo(media.path, videoOptions);
      absl::StatusOr<PreparedImage> prepared =
          video.ok() ? half.prepareVideo(**video) : absl::StatusOr<PreparedImage>(video.status());
      if (!prepared.ok())
        return absl::Status(prepared.status().code(),
                            absl::StrCat(media.where, ": ", prepared.status().message()));
      images.push_back(std::move(*prepared));
      continue;
    }
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
