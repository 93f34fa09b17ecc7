  "x(99999999999999999999)": "EH1 K S",
  "(2)": "T UW1",
  "\u00e9": "EY1",
  "tab	": "T AE1 B",
  "cafÃ©": "K AE0 F EY1",
  "ÿþ": "B AE1 D",
  "truncated": "T R AH1