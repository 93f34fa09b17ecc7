/** @type {{ [word: string]: string }} */
export const dictionary = {
  "good": "G UH1 D",
  "bad word": "B AE1 D",
  "ad-hoc": "AE1 D HH AA1 K",
  "good(2)": "G UH0 D",
  "noquote: "N OW1",
  "empty": "",
  "lowercase": "l ow1",
  "stress": "S T R EH3 S",
  "good(2)": "G IH1 D",
  "it's": "IH1 T S # contraction",
  "zero(1)": "Z IY1 R OW0",
  "trailing": "T R EY1 L IH0 NG" extra,
  "quiet(3)": "K W AY1 T",
  "quiet": "K W AY1 AH0 T",
  "comment": "# only a comment",
  garbage

  "crlf": "K R L F",
  "last": "L AE1 S T"
}
