#include "seqgrad/nn/seq2seq/vocab.hpp"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>

namespace seqgrad::nn::seq2seq {

namespace {

constexpr const char* kJsonFormat = "seqgrad.vocabulary";
constexpr int kJsonVersion = 1;

// Why a symbol cannot be in a vocabulary, or "" when it can. Not valid UTF-8: JSON (save_json) cannot
// hold it.
std::string symbol_problem(std::string_view symbol) {
  if (symbol.empty()) return "an empty symbol";
  if (symbol.find_first_of("\n\r") != std::string_view::npos) return "a symbol with a line break";
  if (!is_valid_utf8(symbol)) return "a symbol that is not valid UTF-8";
  return "";
}

std::string read_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec))
    throw std::runtime_error("Vocabulary: " + file.string() + " is a directory, not a file");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("Vocabulary: cannot open " + file.string());
  std::ostringstream text;
  // An empty file is read as "" (from_text then refuses it); operator<< would mark that a failure.
  if (in.peek() != std::char_traits<char>::eof() && !(text << in.rdbuf()))
    throw std::runtime_error("Vocabulary: cannot read " + file.string());
  return text.str();
}

// Parses the text of `file` with `parse`, naming the file in any refusal.
template <class Parse>
Vocabulary load_from(const std::filesystem::path& file, Parse parse) {
  const std::string text = read_file(file);
  try {
    return parse(text);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(file.string() + ": " + e.what());
  }
}

void write_file(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("Vocabulary: cannot write " + file.string());
}

}  // namespace

// Length of the UTF-8 character starting at s[i], or 0 when the bytes there are not one (bad
// lead byte, missing or bad continuation bytes, overlong form, surrogate, beyond U+10FFFF).
std::size_t utf8_char_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  std::size_t n;
  std::uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) n = 2, cp = c & 0x1F;
  else if ((c & 0xF0) == 0xE0) n = 3, cp = c & 0x0F;
  else if ((c & 0xF8) == 0xF0) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr std::uint32_t kMinimum[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinimum[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

bool is_valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_char_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

Vocabulary::Vocabulary() {
  for (std::string_view s : kSpecialSymbols) {
    ids_.emplace(std::string(s), static_cast<TokenId>(symbols_.size()));
    symbols_.emplace_back(s);
  }
}

TokenId Vocabulary::add(const std::string& symbol) {
  if (auto it = ids_.find(symbol); it != ids_.end()) return it->second;
  if (auto problem = symbol_problem(symbol); !problem.empty())
    throw std::invalid_argument("Vocabulary::add: " + problem + " cannot be stored");
  const auto id = static_cast<TokenId>(symbols_.size());
  ids_.emplace(symbol, id);
  symbols_.push_back(symbol);
  return id;
}

Vocabulary Vocabulary::build(const std::vector<Symbols>& sequences, Order order) {
  for (const auto& sequence : sequences)
    for (const auto& s : sequence)
      if (std::find(std::begin(kSpecialSymbols), std::end(kSpecialSymbols), s) != std::end(kSpecialSymbols))
        throw std::invalid_argument("Vocabulary::build: the data holds the special symbol " + s);
  Vocabulary vocab;
  if (order == Order::first_seen) {
    for (const auto& sequence : sequences)
      for (const auto& s : sequence) vocab.add(s);
  } else {
    std::set<std::string> distinct;
    for (const auto& sequence : sequences) distinct.insert(sequence.begin(), sequence.end());
    for (const auto& s : distinct) vocab.add(s);
  }
  return vocab;
}

Vocabulary Vocabulary::from_symbols(Symbols symbols) {
  if (symbols.size() < kNumSpecials)
    throw std::runtime_error("Vocabulary: " + std::to_string(symbols.size()) +
                             " symbols, fewer than the 4 special tokens");
  for (TokenId i = 0; i < kNumSpecials; ++i)
    if (symbols[i] != kSpecialSymbols[i])
      throw std::runtime_error("Vocabulary: id " + std::to_string(i) + " must be " +
                               std::string(kSpecialSymbols[i]) + ", found '" + symbols[i] + "'");
  Vocabulary vocab;
  for (std::size_t i = kNumSpecials; i < symbols.size(); ++i) {
    if (auto problem = symbol_problem(symbols[i]); !problem.empty())
      throw std::runtime_error("Vocabulary: id " + std::to_string(i) + " is " + problem);
    if (vocab.contains(symbols[i]))
      throw std::runtime_error("Vocabulary: id " + std::to_string(i) + " repeats the symbol '" + symbols[i] + "'");
    vocab.add(symbols[i]);
  }
  return vocab;
}

bool Vocabulary::contains(std::string_view symbol) const { return ids_.find(symbol) != ids_.end(); }

TokenId Vocabulary::id(std::string_view symbol) const {
  auto it = ids_.find(symbol);
  return it == ids_.end() ? kUnk : it->second;
}

const std::string& Vocabulary::symbol(TokenId id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= symbols_.size())
    throw std::out_of_range("Vocabulary::symbol: id " + std::to_string(id) + " is outside [0, " +
                            std::to_string(symbols_.size()) + ")");
  return symbols_[static_cast<std::size_t>(id)];
}

TokenIds Vocabulary::encode(const Symbols& sequence) const {
  TokenIds ids;
  ids.reserve(sequence.size());
  for (const auto& s : sequence) ids.push_back(id(s));
  return ids;
}

Symbols Vocabulary::decode(const TokenIds& ids) const {
  Symbols out;
  for (TokenId id : ids) {
    const std::string& s = symbol(id);  // range check first, also for specials
    if (id == kEos) break;
    if (id == kPad || id == kSos) continue;
    out.push_back(s);
  }
  return out;
}

std::string Vocabulary::decode_to_string(const TokenIds& ids, std::string_view separator) const {
  std::string out;
  bool first = true;
  for (const auto& s : decode(ids)) {
    if (!first) out += separator;
    out += s;
    first = false;
  }
  return out;
}

std::string Vocabulary::to_text() const {
  std::string text;
  for (const auto& s : symbols_) text += s + "\n";
  return text;
}

Vocabulary Vocabulary::from_text(std::string_view text) {
  Symbols symbols;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();  // a last line without its newline
    symbols.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return from_symbols(std::move(symbols));
}

std::string Vocabulary::to_json() const {
  nlohmann::json j = {{"format", kJsonFormat}, {"version", kJsonVersion}, {"symbols", symbols_}};
  return j.dump(1);
}

Vocabulary Vocabulary::from_json(std::string_view json) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("Vocabulary: not valid JSON: ") + e.what());
  }
  // (j.value("format", "") would throw nlohmann's type_error for a format that is not a string)
  if (!j.is_object() || !j.contains("format") || !j["format"].is_string() || j["format"] != kJsonFormat)
    throw std::runtime_error(std::string("Vocabulary: JSON is not a \"") + kJsonFormat + "\" object");
  if (!j.contains("version") || j["version"] != kJsonVersion)
    throw std::runtime_error("Vocabulary: unsupported version " + (j.contains("version") ? j["version"].dump() : "(none)"));
  const auto& list = j["symbols"];
  if (!list.is_array()) throw std::runtime_error("Vocabulary: \"symbols\" must be an array of strings");
  Symbols symbols;
  for (const auto& s : list) {
    if (!s.is_string()) throw std::runtime_error("Vocabulary: symbol " + s.dump() + " is not a string");
    symbols.push_back(s.get<std::string>());
  }
  return from_symbols(std::move(symbols));
}

void Vocabulary::save_text(const std::filesystem::path& file) const { write_file(file, to_text()); }
Vocabulary Vocabulary::load_text(const std::filesystem::path& file) {
  return load_from(file, [](std::string_view text) { return from_text(text); });
}
void Vocabulary::save_json(const std::filesystem::path& file) const { write_file(file, to_json()); }
Vocabulary Vocabulary::load_json(const std::filesystem::path& file) {
  return load_from(file, [](std::string_view text) { return from_json(text); });
}

}  // namespace seqgrad::nn::seq2seq
