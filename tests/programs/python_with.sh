# Sourced by the program tests that run Python: python_with MODULE... prints the first python3
# that imports every MODULE (the one on PATH may be a pyenv without numpy), or nothing.
python_with() {
  local imports candidate
  imports=$(IFS=,; echo "$*")
  for candidate in python3 /usr/bin/python3; do
    if "$candidate" -c "import $imports" 2>/dev/null; then echo "$candidate"; return; fi
  done
}
