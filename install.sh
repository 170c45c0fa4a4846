#!/usr/bin/env bash
# Set up the project on a fresh machine: a virtual environment in .venv with the pins
# that keep the install small and working (see docs/install.md).
# Idempotent: rerunning it only checks and fixes.
set -euo pipefail
cd "$(dirname "$0")"

# Headless MuJoCo rendering needs EGL (present on most images; installed if missing).
if ! ldconfig -p | grep -q "libEGL.so.1"; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq libegl1 libgl1-mesa-dri >/dev/null
  else
    echo "install.sh: libEGL is missing; install libegl1 for headless rendering" >&2
  fi
fi

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)

# torch is pinned through the constraints file: without it botorch pulls a newer
# build with several GB of CUDA packages.
"${PIP[@]}" -c constraints.txt -e ".[dev,ray]"
# comma-deps-acados ships an old casadi without ipopt in the same folder: put the
# real casadi back last, at the version pyproject.toml pins (the pin's one home).
CASADI_PIN=$(grep -o '"casadi==[^"]*"' pyproject.toml | tr -d '"')
"${PIP[@]}" --force-reinstall --no-deps "$CASADI_PIN"
.venv/bin/python - "$CASADI_PIN" <<'PY'
import sys

import casadi

want = sys.argv[1].split("==")[1]
assert casadi.__version__ == want, f"casadi {casadi.__version__} installed, expected {want}"
assert casadi.has_nlpsol("ipopt"), "casadi has no ipopt"
PY
echo "install.sh: ready (.venv)"
