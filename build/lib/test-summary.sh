#!/usr/bin/env bash
# Usage: test-summary.sh <results-dir>
# Sums the <Counters> of every *.trx under <results-dir> and prints one line: "N passed, N failed, N skipped".
# Exits 1 if any test failed, or if there is no TRX file or no test at all.
set -euo pipefail
dir="${1:?usage: test-summary.sh <results-dir>}"

files=()
[[ -d $dir ]] && mapfile -t files < <(find "$dir" -type f -name '*.trx')
if (( ${#files[@]} == 0 )); then
  echo "no TRX files under $dir" >&2
  echo "0 passed, 0 failed, 0 skipped"
  exit 1
fi

# RS="<" makes each XML element one record, even if its attributes span lines.
read -r passed failed skipped total < <(awk '
  function attr(rec, name,   m) {
    if (!match(rec, "[ \t\r\n]" name "=\"[0-9]+\"")) return -1
    m = substr(rec, RSTART, RLENGTH); gsub(/[^0-9]/, "", m); return m + 0
  }
  function add(rec, name,   v) { v = attr(rec, name); return v < 0 ? 0 : v }
  BEGIN { RS = "<" }
  /^Counters[ \t\r\n\/]/ {
    total += add($0, "total"); passed += add($0, "passed")
    # error, timeout and aborted results are failures too
    failed += add($0, "failed") + add($0, "error") + add($0, "timeout") + add($0, "aborted")
    # VSTest leaves notExecuted at 0 for skipped tests and counts them only in total - executed
    sk = add($0, "total") - add($0, "executed"); ne = add($0, "notExecuted")
    skipped += ne > sk ? ne : sk
  }
  END { print passed + 0, failed + 0, skipped + 0, total + 0 }
' "${files[@]}")

(( total == 0 )) && echo "no tests ran (${#files[@]} TRX file(s) under $dir)" >&2
echo "$passed passed, $failed failed, $skipped skipped"
(( failed == 0 && total > 0 ))
