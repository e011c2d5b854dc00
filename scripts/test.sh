#!/usr/bin/env bash
# `npm test`: set up what is missing, build, then run every test file with Node's test runner.
# Unit tests take milliseconds; the lab tests boot real kernels and run one at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The list comes from the sources, so a compiled test whose source was deleted never runs again.
mapfile -t files < <(find test -name '*.test.ts' | sort | sed -e 's|^|dist/|' -e 's|\.ts$|.js|')
if [ ${#files[@]} -eq 0 ]; then echo "no test files found under test/" >&2; exit 1; fi
exec node --test --test-concurrency=1 --test-timeout=600000 "$@" "${files[@]}"
