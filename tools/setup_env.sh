#!/usr/bin/env bash
# Create the project's virtual environment (.venv) if it is missing and
# install the pinned requirements into it. Re-installs only when
# requirements.txt or pyproject.toml changed since the last install.
# Sourced by build_book.sh, test.sh and refresh.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON_BIN="${PYTHON:-}"
if [ -z "$PYTHON_BIN" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then PYTHON_BIN="$candidate"; break; fi
  done
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv with $PYTHON_BIN ($("$PYTHON_BIN" --version))"
  "$PYTHON_BIN" -m venv .venv
fi

stamp=.venv/.requirements-installed
wanted="$(cat requirements.txt pyproject.toml tests/colab_requirements.txt | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "Installing the pinned requirements into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  # Wheels for the Colab-readiness test, fetched now so that the tests
  # themselves need no network: a clean runtime's packages, and everything
  # a notebook's setup cell installs with dropoutlib.
  echo "Fetching wheels for the Colab-readiness test into .venv/wheelhouse"
  .venv/bin/python -m pip download --quiet --dest .venv/wheelhouse \
    -r tests/colab_requirements.txt "setuptools>=77" wheel \
    scipy==1.17.1 optax==0.2.8 scikit-learn==1.9.1 tqdm==4.70.1
  echo "$wanted" > "$stamp"
fi
