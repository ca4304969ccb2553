#!/usr/bin/env bash
# Installs schemathesis at the versions pinned in requirements.txt into a virtualenv in the tools
# cache (outside the repository; reused while the pins stay the same) and prints the path of its
# `schemathesis` executable. Needs python3 with venv and pip; PyPI is the only source.
#
#   SCHEMATHESIS_BIN=$(bash test/fuzz/install-schemathesis.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
requirements="$here/requirements.txt"
pin=$(sed -n 's/^schemathesis==//p' "$requirements")
cache="${XDG_CACHE_HOME:-$HOME/.cache}/xingtu-order-workflows"
venv="$cache/venv"
bin="$venv/bin/schemathesis"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$requirements" | cut -d' ' -f1)

if [ -x "$bin" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$bin" --version 2>/dev/null | grep -qx "schemathesis, version $pin"; then
  echo "[schemathesis] $pin cached at $bin" >&2
else
  echo "[schemathesis] installing $pin into $venv …" >&2
  mkdir -p "$cache"
  rm -rf "$venv"
  if python3 -m venv "$venv" >&2 2>/dev/null && [ -x "$venv/bin/python" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$requirements" >&2
  else
    # No venv module (e.g. Debian's python3 without python3-venv): install into a plain directory
    # with pip --target and run the CLI through a small wrapper.
    echo "[schemathesis] python3 -m venv is unavailable; using pip --target" >&2
    rm -rf "$venv"
    mkdir -p "$venv/bin"
    python3 -m pip install --quiet --disable-pip-version-check --no-input --target "$venv/lib" -r "$requirements" >&2
    python=$(command -v python3)
    cat > "$bin" <<WRAPPER
#!/bin/sh
PYTHONPATH="$venv/lib\${PYTHONPATH:+:\$PYTHONPATH}" exec "$python" -c 'import sys; from schemathesis.cli import schemathesis; sys.argv[0] = "schemathesis"; sys.exit(schemathesis())' "\$@"
WRAPPER
    chmod +x "$bin"
  fi
  "$bin" --version >&2
  echo "$want" > "$stamp"
fi
echo "$bin"
