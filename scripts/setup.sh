#!/usr/bin/env bash
# Set up everything the book, its chapters and its tests need, on a fresh Debian machine:
#
#   1. system packages, from Debian: chromium (the browser layer of the tests),
#      nodejs (the JavaScript twin of the live panels and its parity test) and
#      dataset-fashion-mnist (the real data of Chapter 09, read from
#      /usr/share/datasets/fashion-mnist; nothing is downloaded at run time) and gcc
#      (descent.torch compiles its fused CPU steps as C loops; torch.compile needs it too);
#   2. a virtual environment (.venv, or $VENV) with requirements.txt, which ends with the
#      book's own library `descent` installed in editable mode.
#
# System packages are installed with apt-get, as root or through password-less sudo.  When
# that is impossible (no root, not Debian) the script says what is missing and goes on: the
# tests that need a missing package are then skipped with a reason that names it — except
# under CI=true, where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

have_chromium() { command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; }
have_node() { command -v node >/dev/null 2>&1; }
have_fashion() { [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; }
have_cc() { command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1; }

missing=()
have_chromium || missing+=(chromium)
have_node || missing+=(nodejs)
have_fashion || missing+=(dataset-fashion-mnist)
have_cc || missing+=(gcc)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"; else SUDO="none"; fi
  if [ "$SUDO" != "none" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: cannot install ${missing[*]} (needs apt-get as root); the tests that need them will be skipped." >&2
    echo "setup: on Debian, run: sudo apt-get install -y ${missing[*]}" >&2
  fi
fi

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r requirements.txt
echo "setup: done (virtual environment in $VENV)"
