#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace hk {

// Strings that go into records and sweep files (command lines, file names, host names) are bytes
// from the system, not always UTF-8 (a file named $'caf\xe9.png' is legal), while JSON text must
// be UTF-8: nlohmann::json throws on such a string when it is written. Here every byte that is not
// part of a valid UTF-8 sequence becomes the four characters \xNN (NN: its value in lower-case
// hex); valid UTF-8 is left exactly as it is, so encoding twice changes nothing (a record passes
// through several writers). See docs/record.md, "Strings that are not UTF-8".
bool is_valid_utf8(std::string_view text);
std::string utf8_escaped(std::string_view text);
// The same applied to every string and object key inside `value`.
nlohmann::json utf8_escaped_json(const nlohmann::json& value);
// JSON text of `value` with every string made valid first: never throws on bad UTF-8. Use it
// wherever the kit writes JSON (records, sweep.json, state files).
std::string json_text(const nlohmann::json& value, int indent = -1);
// The bytes back from an escaped string (for readers that need the original file name).
std::string utf8_unescaped(std::string_view text);

}  // namespace hk
