#include "runtime/text/Unicode.h"

#include <gtest/gtest.h>

namespace mvc::text {
namespace {

TEST(Unicode, LossyDecodingReplacesMaximalSubparts) {
  EXPECT_EQ(toValidUtf8("ok"), "ok");
  EXPECT_EQ(toValidUtf8("\xE2\x82"), "\xEF\xBF\xBD");          // truncated: one U+FFFD
  EXPECT_EQ(toValidUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong: two
  EXPECT_EQ(toValidUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(toValidUtf8("\xF4\x90\x80\x80").size(), 12u);  // above U+10FFFF
  EXPECT_TRUE(isValidUtf8("\xF0\x9F\x98\x80"));
}

TEST(Unicode, ByteLevelTableIsABijection) {
  for (int b = 0; b < 256; ++b) EXPECT_EQ(unicodeToByte(bytesToUnicode()[b]), b);
  EXPECT_EQ(bytesToUnicode()[' '], 0x120u);  // 'Ġ'
}

}  // namespace
}  // namespace mvc::text
