#!/usr/bin/env bash
# `npm run demo|lab|bench -- ARGS`: set up what is missing, build, then hand over to the tool.
set -euo pipefail
cd "$(dirname "$0")/.."
tool=$1; shift
bash scripts/setup.sh
case "$tool" in
  demo)  exec node dist/src/demo/main.js "$@" ;;
  lab)   exec node dist/src/lab/cli.js "$@" ;;
  bench) exec node dist/test/bench/main.js "$@" ;;
  *) echo "unknown tool: $tool" >&2; exit 2 ;;
esac
