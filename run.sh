#!/usr/bin/env bash
# macOS/Linux shortcut for run.py (which does the work on every platform, Windows included):
# it creates .venv, installs requirements.txt and the package (again only when requirements.txt
# changed), then runs what you asked for.
#   bash run.sh demo        # the main job: load the shipped models, write gallery/index.html
#   bash run.sh test        # the whole test suite (unit tests + every notebook in quick mode)
#   bash run.sh lab         # JupyterLab on the notebooks
#   bash run.sh doctor      # check this machine before a workshop
#   bash run.sh train NAME | evaluate NAME | generate NAME | list   # the course CLI
# Windows (PowerShell or cmd): py -3.11 run.py demo
set -euo pipefail
cd "$(dirname "$0")"

python_bin="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
if [ -z "$python_bin" ]; then
    echo "[run.sh] 错误 (error): 找不到 python3 (no python3 found). 解决 (fix): 安装 Python 3.11, 或设置 PYTHON=解释器路径" >&2
    exit 1
fi
exec "$python_bin" run.py "$@"
