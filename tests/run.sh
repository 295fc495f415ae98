#!/usr/bin/env bash
# Installs what is missing, builds in build/ and runs every test.
# Ends with the line "N passed, N failed, N skipped"; exits non-zero on failure.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

"$top/install-deps.sh"

if [ ! -f build/build.ninja ]; then
  meson setup build
fi
if ! meson compile -C build; then
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

# The suite's own exit status is summarised below; keep going to print it.
status=0
meson test -C build --print-errorlogs --num-processes 2 "$@" || status=$?

summary=0
/usr/bin/python3 - build/meson-logs/testlog.json <<'PY' || summary=$?
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
with open(sys.argv[1]) as log:
    for line in log:
        result = json.loads(line)["result"]
        if result in ("OK", "EXPECTEDFAIL"):
            counts["passed"] += 1
        elif result == "SKIP":
            counts["skipped"] += 1
        else:
            counts["failed"] += 1
print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
sys.exit(1 if counts["failed"] else 0)
PY
[ "$status" -eq 0 ] && [ "$summary" -eq 0 ]
