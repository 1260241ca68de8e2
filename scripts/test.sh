#!/usr/bin/env bash
# Runs every test of Felix Server. Installs what the tests need first (idempotent: skips what is already there),
# then prints a closing line "N passed, N failed" and exits with dotnet test's code.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

bash scripts/install-test-deps.sh || { echo "installing test dependencies failed"; echo "0 passed, 1 failed"; exit 1; }

log="$(mktemp)"
dotnet test Felix.sln -c Release --logger "console;verbosity=minimal" "$@" 2>&1 | tee "$log"
code=${PIPESTATUS[0]}

passed=0; failed=0
while read -r f p; do
  passed=$((passed + p)); failed=$((failed + f))
done < <(sed -nE 's/.*(Passed|Failed)! +- +Failed: +([0-9]+), +Passed: +([0-9]+).*/\2 \3/p' "$log")
if [ "$code" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
rm -f "$log"
echo "$passed passed, $failed failed"
exit "$code"
