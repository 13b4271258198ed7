#!/usr/bin/env bash
# Set up bitrom-char on Debian: ngspice, a virtual environment in .venv, the package.
# Run as root (or with sudo available) from the repository root. Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v ngspice >/dev/null || ! ldconfig -p | grep -q libngspice.so.0; then
    echo "installing ngspice and libngspice0 from Debian" >&2
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ngspice libngspice0 >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# A regular (non-editable) install: the tests then check the shipped package data.
.venv/bin/python -m pip install -q ".[dev]"
