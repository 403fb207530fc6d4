// A hash map keyed by std::string that can be probed with a std::string_view (Debian's abseil
// has its own absl::string_view, so its default string hashing is not transparent to ours).
#ifndef MVC_RUNTIME_TEXT_STRING_MAP_H_
#define MVC_RUNTIME_TEXT_STRING_MAP_H_

#include <functional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"

namespace mvc::text {

struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};
struct StringViewEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

template <typename V>
using StringMap = absl::flat_hash_map<std::string, V, StringViewHash, StringViewEq>;

}  // namespace mvc::text

#endif  // MVC_RUNTIME_TEXT_STRING_MAP_H_
