# Sourced by scripts/dev and scripts/test: make sure the project's virtual environment exists
# (.venv in the repo, or MADOGUCHI_VENV) and put it first on PATH. Stock Debian and Ubuntu
# refuse `pip install` into the system Python ("externally managed environment"), so
# everything goes into this venv; nothing is installed system-wide.

venv_fail() {
  echo "error: $*" >&2
  exit 1
}

# Debian/Ubuntu split venv and ensurepip out of the interpreter package: say exactly which
# package to install rather than failing with a traceback.
venv_apt_hint() {
  local py="$1" ver
  ver="$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")' 2>/dev/null || echo 3)"
  echo "  sudo apt-get install -y python3-venv python${ver}-venv" >&2
}

venv_python() {
  # The interpreter to build the venv from: $PYTHON, else python3; needs 3.11 or newer.
  local py="${PYTHON:-python3}"
  command -v "$py" >/dev/null 2>&1 || venv_fail "$py not found; install Python 3.11+ (sudo apt-get install -y python3 python3-venv)"
  "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || venv_fail "$("$py" --version 2>&1) is too old: madoguchi needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)"
  echo "$py"
}

ensure_venv() {
  VENV="${MADOGUCHI_VENV:-$PWD/.venv}"
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    local py
    py="$(venv_python)"
    if ! "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
      echo "error: $py cannot create virtual environments (the venv/ensurepip module is missing). Fix with:" >&2
      venv_apt_hint "$py"
      exit 1
    fi
    echo "creating the virtual environment $VENV ($("$py" --version 2>&1))"
    rm -rf "$VENV"
    if ! "$py" -m venv "$VENV"; then
      echo "error: '$py -m venv $VENV' failed. On Debian or Ubuntu, fix with:" >&2
      venv_apt_hint "$py"
      exit 1
    fi
  fi
  export VIRTUAL_ENV="$VENV"
  export PATH="$VENV/bin:$PATH"
  PY="$VENV/bin/python"
}
