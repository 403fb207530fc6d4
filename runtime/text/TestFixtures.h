// Test-only access to fixtures by their path in the project's copy, tests/fixtures/tokenizers
// (e.g. "gemma3/tokenizer.json", "chat_templates/golden.jsonl"): <path>.gz or <path> there
// first, then ../shared/fixtures/tokenizers/<path>, then ../shared/fixtures/<path>.
#ifndef MVC_RUNTIME_TEXT_TEST_FIXTURES_H_
#define MVC_RUNTIME_TEXT_TEST_FIXTURES_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mvc::text::testing {

// The fixture's contents, or nullopt when neither place has it.
std::optional<std::string> readFixture(std::string_view relative_path);
// Non-empty lines of a JSONL fixture.
std::optional<std::vector<std::string>> readFixtureLines(std::string_view relative_path);
// Where fixtures were looked for, for skip messages.
std::string fixtureSearchPath();

}  // namespace mvc::text::testing

#endif  // MVC_RUNTIME_TEXT_TEST_FIXTURES_H_
