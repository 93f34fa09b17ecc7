export const dictionary = {
  "a": "AH0",
  "a(2)": "EY1",
  "aalborg": "AO1 L B AO0 R G # place, danish",
}
