#pragma once
// Vocabulary: symbols <-> token ids for a sequence-to-sequence model. Ids 0..3 are the special
// tokens every vocabulary has, in this order; the symbols of the data follow from id 4.
//
//   <pad> = 0   fills batches to a common length (masked out; never a prediction target)
//   <sos> = 1   the decoder's first input
//   <eos> = 2   ends every target (and, by default, every encoder input)
//   <unk> = 3   what encode() gives a symbol the vocabulary does not hold
//
// Text format (save_text / from_text): one symbol per line, the line's index is the id, the four
// specials first. JSON format (save_json / from_json): {"format": "seqgrad.vocabulary",
// "version": 1, "symbols": [...]} with the same list. Loading checks the specials, empty and
// duplicate symbols and symbols that are not valid UTF-8 (JSON cannot hold them), and throws
// std::runtime_error naming the problem.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace seqgrad::nn::seq2seq {

using TokenId = std::int64_t;
using TokenIds = std::vector<TokenId>;
using Symbols = std::vector<std::string>;  // one sequence of symbols (characters, phonemes, words)

inline constexpr TokenId kPad = 0;
inline constexpr TokenId kSos = 1;
inline constexpr TokenId kEos = 2;
inline constexpr TokenId kUnk = 3;
inline constexpr TokenId kNumSpecials = 4;
inline constexpr std::string_view kSpecialSymbols[kNumSpecials] = {"<pad>", "<sos>", "<eos>", "<unk>"};

// Length of the UTF-8 character starting at s[i], or 0 when the bytes there are not one (bad lead
// byte, missing or bad continuation bytes, overlong form, surrogate, beyond U+10FFFF).
std::size_t utf8_char_length(std::string_view s, std::size_t i);
bool is_valid_utf8(std::string_view s);

class Vocabulary {
 public:
  enum class Order { sorted, first_seen };

  Vocabulary();  // the four specials only

  // Every distinct symbol of the sequences, sorted (byte order) or in order of first appearance.
  // Both orders depend only on the data, so the same data always gives the same ids. A symbol that
  // spells a special ("<eos>") is refused: it would be indistinguishable from the special.
  static Vocabulary build(const std::vector<Symbols>& sequences, Order order = Order::sorted);
  // From a complete list, specials first (as the file formats hold it).
  static Vocabulary from_symbols(Symbols symbols);

  // Appends `symbol` unless present; returns its id.
  TokenId add(const std::string& symbol);

  std::size_t size() const { return symbols_.size(); }
  bool contains(std::string_view symbol) const;
  TokenId id(std::string_view symbol) const;           // kUnk when absent
  const std::string& symbol(TokenId id) const;         // throws std::out_of_range naming the id
  const Symbols& symbols() const { return symbols_; }  // indexed by id

  TokenIds encode(const Symbols& sequence) const;  // unknown symbols -> kUnk
  // Symbols up to the first <eos>, skipping <pad> and <sos>. <unk> is kept (as "<unk>"): dropping
  // it would make a wrong output look shorter than it is. Out-of-range ids throw.
  Symbols decode(const TokenIds& ids) const;
  // decode() joined by `separator` ("" for characters, " " for phonemes and words).
  std::string decode_to_string(const TokenIds& ids, std::string_view separator) const;

  std::string to_text() const;
  static Vocabulary from_text(std::string_view text);
  std::string to_json() const;
  static Vocabulary from_json(std::string_view json);
  void save_text(const std::filesystem::path& file) const;
  static Vocabulary load_text(const std::filesystem::path& file);
  void save_json(const std::filesystem::path& file) const;
  static Vocabulary load_json(const std::filesystem::path& file);

  bool operator==(const Vocabulary& other) const { return symbols_ == other.symbols_; }

 private:
  Symbols symbols_;
  // Transparent hashing, so id(string_view) needs no temporary std::string.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, TokenId, Hash, std::equal_to<>> ids_;
};

}  // namespace seqgrad::nn::seq2seq
