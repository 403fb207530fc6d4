// Python str semantics over UTF-8 (indices count code points) for the Jinja engine.
#ifndef MVC_RUNTIME_TEXT_JINJA_STRINGS_H_
#define MVC_RUNTIME_TEXT_JINJA_STRINGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mvc::text::jinja {

// Byte offsets of each code point, plus a final entry at s.size().
std::vector<size_t> codepointOffsets(std::string_view s);
size_t codepointCount(std::string_view s);
bool isPythonSpace(uint32_t c);  // str.isspace()

// `chars` = nullopt strips whitespace, as str.strip() with no argument.
std::string pyStrip(std::string_view s, const std::optional<std::string>& chars, bool left,
                    bool right);
// str.split(sep, maxsplit); sep = nullopt splits on whitespace runs.
std::vector<std::string> pySplit(std::string_view s, const std::optional<std::string>& sep,
                                 int64_t maxsplit);
std::vector<std::string> pyRsplit(std::string_view s, const std::optional<std::string>& sep,
                                  int64_t maxsplit);
std::string pyReplace(std::string_view s, std::string_view old, std::string_view replacement,
                      int64_t count);
std::string pyUpper(std::string_view s);
std::string pyLower(std::string_view s);
std::string pyTitle(std::string_view s);
std::string pyCapitalize(std::string_view s);

}  // namespace mvc::text::jinja

#endif  // MVC_RUNTIME_TEXT_JINJA_STRINGS_H_
