// String concatenation for messages. (Debian's abseil has its own absl::string_view, so
// absl::StrCat does not take std::string_view.)
#ifndef MVC_RUNTIME_TEXT_STRINGS_H_
#define MVC_RUNTIME_TEXT_STRINGS_H_

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/string_view.h"

namespace mvc::text {

namespace internal {
inline void append(std::string& out, std::string_view s) { out.append(s); }
inline void append(std::string& out, absl::string_view s) { out.append(s.data(), s.size()); }
inline void append(std::string& out, const char* s) { out.append(s); }
inline void append(std::string& out, const std::string& s) { out.append(s); }
inline void append(std::string& out, char c) { out.push_back(c); }
template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
void append(std::string& out, T value) {
  out.append(std::to_string(value));
}
}  // namespace internal

template <typename... Args>
std::string cat(const Args&... args) {
  std::string out;
  (internal::append(out, args), ...);
  return out;
}

}  // namespace mvc::text

#endif  // MVC_RUNTIME_TEXT_STRINGS_H_
