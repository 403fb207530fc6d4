//===- JsonString.h - a string as Python's json.dumps writes it ----*- C++ -*-===//
//
// The quoted, escaped JSON form of a UTF-8 string exactly as Python's json.dumps writes it:
// \" \\ \n \r \t \b \f, other control characters as \u00XX, and with `ensureAscii`
// (json.dumps' default) every non-ASCII character as \uXXXX (UTF-16, surrogate pairs above
// the BMP); without it (Jinja's tojson) non-ASCII bytes as they are.
//
//===----------------------------------------------------------------------===//
#ifndef MVC_RUNTIME_TEXT_JSONSTRING_H
#define MVC_RUNTIME_TEXT_JSONSTRING_H

#include <string>
#include <string_view>

namespace mvc::text {

void appendJsonString(std::string &out, std::string_view s, bool ensureAscii);

} // namespace mvc::text

#endif // MVC_RUNTIME_TEXT_JSONSTRING_H
