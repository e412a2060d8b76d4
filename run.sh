#!/usr/bin/env bash
# One entry point that sets itself up: creates .venv, installs requirements.txt and the package
# (again only when requirements.txt changed), then runs what you asked for.
#   bash run.sh demo        # the main job: load the shipped models, write gallery/index.html
#   bash run.sh test        # the whole test suite (unit tests + every notebook in quick mode)
#   bash run.sh lab         # JupyterLab on the notebooks
#   bash run.sh train NAME | evaluate NAME | generate NAME | list   # the course CLI
set -euo pipefail
cd "$(dirname "$0")"

python_bin="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
    echo "[run.sh] creating .venv with $python_bin"
    "$python_bin" -m venv .venv
fi
if ! cmp -s requirements.txt .venv/.installed-requirements 2>/dev/null; then
    echo "[run.sh] installing requirements.txt into .venv (first run: a few minutes)"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r requirements.txt
    .venv/bin/python -m pip install --quiet --no-deps -e .
    .venv/bin/python -m ipykernel install --sys-prefix --name python3 >/dev/null
    cp requirements.txt .venv/.installed-requirements
fi

command="${1:-demo}"
[ $# -gt 0 ] && shift
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
case "$command" in
    test) exec .venv/bin/python -m pytest "$@" ;;
    lab)  exec .venv/bin/jupyter lab notebooks "$@" ;;
    *)    exec .venv/bin/python -m aigc_course "$command" "$@" ;;
esac
