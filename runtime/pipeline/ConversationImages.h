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

namespace mvc {

/// Every media part of `conversation` as `half` prepares images; a video part is an error
/// (no model here takes videos yet).
absl::StatusOr<std::vector<PreparedImage>> prepareConversationImages(
    const Conversation &conversation, const RunHalf &half, ImageSplitting splitting);

} // namespace mvc

#endif // MVC_RUNTIME_PIPELINE_CONVERSATIONIMAGES_H
