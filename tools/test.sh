#!/usr/bin/env bash
# Set everything up and run every test: dropoutlib's unit tests, strict nbval
# over every notebook in _toc.yml, the stored-notebook checks and the
# zero-warning book build. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/setup_env.sh
# The browser test drives Debian's Chromium, and the generator test runs
# Debian's dieharder; install them when they are missing.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v dieharder >/dev/null 2>&1 || missing+=(dieharder)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Debian's ${missing[*]} for the tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "The tests need Debian's ${missing[*]}: sudo apt-get install ${missing[*]}" >&2
  fi
fi
.venv/bin/python -m pytest "$@"
