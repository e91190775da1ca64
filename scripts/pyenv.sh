#!/usr/bin/env bash
# A cached Python virtualenv for the dataset checks (Hugging Face `datasets`), kept out of the
# system Python: ${VERDICT_CACHE:-$HOME/.cache/verdict}/pyenv, with the exact packages of
# scripts/requirements-test.txt. Built once (~15 s, ~400 MB) and rebuilt only when that file or
# the base interpreter changes; pip's progress goes to stderr.
#
#   bash scripts/pyenv.sh [python]   prints the venv's python path on stdout
#   bash scripts/pyenv.sh run CMD…   runs CMD with the venv's bin/ first on PATH
#   bash scripts/pyenv.sh --for NAME …   the same for scripts/requirements-NAME.txt, in pyenv-NAME
#
# PYTHON picks the base interpreter (default: python3 on PATH).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

REQS=$PWD/scripts/requirements-test.txt
CACHE=${VERDICT_CACHE:-$HOME/.cache/verdict}
VENV=$CACHE/pyenv
if [ "${1:-}" = --for ]; then
  REQS=$PWD/scripts/requirements-$2.txt
  VENV=$CACHE/pyenv-$2
  shift 2
fi
BASE=${PYTHON:-python3}

mkdir -p "$CACHE"
exec 9>"$VENV.lock"
flock 9 # one builder at a time; the others wait, then find it built

stamp="$(sha256sum <"$REQS" | cut -d' ' -f1) $("$BASE" -c 'import sys; print(sys.version.split()[0])')"
if [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$stamp" ] || ! "$VENV/bin/python" -c '' 2>/dev/null; then
  printf '\033[1m==> building the Python venv %s (once per requirements change)\033[0m\n' "$VENV" >&2
  rm -rf "$VENV"
  "$BASE" -m venv "$VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --no-input --disable-pip-version-check -r "$REQS" >&2
  echo "$stamp" >"$VENV/.stamp" # written last: an interrupted build is redone next time
fi
exec 9>&-

case "${1:-python}" in
  python) echo "$VENV/bin/python" ;;
  run) shift; PATH="$VENV/bin:$PATH" exec "$@" ;;
  *) echo "usage: $0 [python | run CMD...]" >&2; exit 2 ;;
esac
