#!/usr/bin/env bash
# Fresh-machine set-up: a venv in .venv with the pinned requirements and ecgvision installed editable.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
.venv/bin/pip install --quiet --disable-pip-version-check --no-deps -e .
echo "ecgvision set up in $(pwd)/.venv"
