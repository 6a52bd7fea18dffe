#!/usr/bin/env bash
# Install NVIDIA Dynamo 1.6.1's frontend and mocker into a virtual environment, from PyPI only.
#
#   bash scripts/install-dynamo.sh [VENV]     (default VENV: .venv-dynamo)
#
# A plain `pip install ai-dynamo` does not resolve from PyPI alone (its aisimulate dependency
# downloads from NVIDIA's index), so this follows the offline-safe recipe: the Rust runtime
# first, then the Python package without dependencies, then the few modules the frontend and
# mocker import (about 310 MB).  Idempotent: an environment that already imports both is left as it is.
# Prints the interpreter path on the last line (use it as `hicachectl launch --python PATH`
# or HICACHECTL_DYNAMO_PYTHON for the end-to-end tests).
set -euo pipefail

VENV="${1:-.venv-dynamo}"
VERSION="${HICACHECTL_DYNAMO_VERSION:-1.6.1}"
PY="${PYTHON:-python3}"

ready() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - "$VERSION" <<'PYEOF' >/dev/null 2>&1
import importlib.metadata as md, importlib.util as u, sys
want = sys.argv[1]
assert md.version("ai-dynamo") == want and md.version("ai-dynamo-runtime") == want
for m in ("dynamo.frontend", "dynamo.mocker", "dynamo._core"):
    assert u.find_spec(m) is not None, m
PYEOF
}

if ready; then
  echo "install-dynamo: $VENV already has ai-dynamo $VERSION" >&2
else
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  pip() { "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@"; }
  # The few modules ai-dynamo's frontend and mocker import come before it, so that pip has
  # nothing to resolve (or to complain about) when ai-dynamo goes in without its dependencies.
  pip "ai-dynamo-runtime==$VERSION" packaging pyyaml msgspec
  pip --no-deps "ai-dynamo==$VERSION"
  ready || { echo "install-dynamo: $VENV still cannot import dynamo.frontend/dynamo.mocker" >&2; exit 1; }
  echo "install-dynamo: installed ai-dynamo $VERSION into $VENV" >&2
fi
cd "$VENV" && echo "$PWD/bin/python"
