#!/usr/bin/env bash
# The one way into ci/gomap_ci: `run.sh MODULE ARGS...` runs gomap_ci.MODULE
# with ARGS. On a bare machine python3 itself is missing, so bootstrap.sh
# (which installs it with the project's other packages) runs first then.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
module=$1
shift
# Debian's interpreter, where bootstrap.sh's python3-jinja2 lands, comes first:
# a python3 earlier on PATH (pyenv, a venv) need not have the same modules.
python=/usr/bin/python3
if [[ ! -x $python ]]; then
  bash "$here/bootstrap.sh" || { echo "ci/$module: cannot install python3 (ci/bootstrap.sh failed)" >&2; exit 3; }
fi
exec env PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" "$python" -m "gomap_ci.$module" "$@"
