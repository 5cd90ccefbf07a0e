#!/usr/bin/env bash
# Set everything up and run every test: dropoutlib's unit tests, strict nbval
# over every notebook in _toc.yml, the stored-notebook checks and the
# zero-warning book build. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/setup_env.sh
# The browser test drives Debian's Chromium; install it when it is missing.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Debian's chromium for the browser test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "The browser test needs Debian's chromium: sudo apt-get install chromium" >&2
  fi
fi
.venv/bin/python -m pytest "$@"
