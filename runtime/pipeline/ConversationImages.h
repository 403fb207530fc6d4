//===- ConversationImages.h - a conversation's images, prepared -----*- C++ -*-===//
//
// The image parts of a parsed conversation (Conversation.h) decoded (inline data: URLs or
// files) and put through the model's image processor, in order: what mvc-run --messages
// and mvc-serve's chat requests both need. Errors name the part ("messages[1].content[0]").
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_PIPELINE_CONVERSATIONIMAGES_H
#define MVC_RUNTIME_PIPELINE_CONVERSATIONIMAGES_H

#include <vector>

#include "absl/status/statusor.h"
#include "runtime/pipeline/Conversation.h"
#include "runtime/pipeline/RunHalf.h"
#include "runtime/vision/Video.h"

namespace mvc {

/// Every media part of `conversation` as `half` prepares images and videos (a video part
/// names a file or frame directory; a model without videos refuses it).
absl::StatusOr<std::vector<PreparedImage>> prepareConversationImages(
    const Conversation &conversation, const RunHalf &half, ImageSplitting splitting,
    const vision::VideoOptions &videoOptions = {});

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_CONVERSATIONIMAGES_H
