#!/usr/bin/env bash
# `npm test`: set up what is missing, build, then run every test file with Node's test runner, in two
# runs: the unit tests (test/unit) two files at a time, then the integration (lab) tests and the
# timing-sensitive unit files one at a time, because they time takeovers and BFD against
# Master_Down_Interval and a second CPU-hungry file beside them skews that. Both runs always happen; the exit status is the first failing run's.
# Arguments go to both runs (e.g. --test-name-pattern).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The list comes from the sources, so a compiled test whose source was deleted never runs again.
mapfile -t files < <(find test -name '*.test.ts' | sort | sed -e 's|^|dist/|' -e 's|\.ts$|.js|')
if [ ${#files[@]} -eq 0 ]; then echo "no test files found under test/" >&2; exit 1; fi
unit=() lab=()
for f in "${files[@]}"; do
  case "$f" in
    # Unit files that hold probes to time budgets (a 100 ms parse, exim's STARTTLS, check timers) failed
    # two at a time on a loaded machine: they run with the lab tests, alone.
    dist/test/unit/checkers*.test.js) lab+=("$f") ;;
    dist/test/unit/*) unit+=("$f") ;;
    *) lab+=("$f") ;;
  esac
done
status=0
if [ ${#unit[@]} -gt 0 ]; then
  node --test --test-concurrency=2 --test-timeout=600000 "$@" "${unit[@]}" || status=$?
fi
if [ ${#lab[@]} -gt 0 ]; then
  node --test --test-concurrency=1 --test-timeout=600000 "$@" "${lab[@]}" || { rc=$?; [ "$status" -ne 0 ] || status=$rc; }
fi
exit "$status"
