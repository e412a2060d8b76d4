"""One entry point that sets itself up, on Windows, macOS and Linux (standard library only).

Creates ``.venv`` with the Python that runs this file, installs requirements.txt and the package
(again only when requirements.txt changed), then runs what you asked for::

    python run.py demo        # the main job: load the shipped models, write gallery/index.html
    python run.py test        # the whole test suite (unit tests + every notebook in quick mode)
    python run.py lab         # JupyterLab on the notebooks
    python run.py doctor      # check this machine before a workshop
    python run.py train NAME | evaluate NAME | generate NAME | list   # the course CLI

On Windows use ``py -3.11 run.py demo``; ``bash run.sh ...`` is the same on macOS and Linux.
The exit code is the command's exit code.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent
VENV = REPO / ".venv"
REQUIREMENTS = REPO / "requirements.txt"
STAMP_NAME = ".installed-requirements"  # copy of the requirements.txt last installed into .venv
MIN_PYTHON = (3, 10)
# An offline workshop kit (``python -m aigc_course kit``) puts the course in KIT/course beside KIT/wheels and
# KIT/data: then the venv is installed from the wheels with no network, and KIT/data is the data folder.
KIT_ROOT = REPO.parent
DATA_ENV = "AIGC_COURSE_DATA"
DEFAULT_COMMAND = "demo"
# Child-process defaults (a value already set by the user wins):
CHILD_ENV_DEFAULTS = {
    "TF_CPP_MIN_LOG_LEVEL": "2",  # TensorFlow's C++ logs: errors only (no info/warning lines)
    "PYTHONUTF8": "1",            # UTF-8 for files and pipes on Windows too (Chinese text and output)
}


def say(message: str) -> None:
    print(f"[run.py] {message}", flush=True)


def venv_python(venv: Path, platform: str = sys.platform) -> Path:
    """The interpreter inside ``venv``: ``Scripts\\python.exe`` on Windows, ``bin/python`` elsewhere."""
    if platform.startswith("win"):
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def requirements_changed(requirements: Path, stamp: Path) -> bool:
    """True when ``stamp`` (the copy made after the last install) is absent or differs from ``requirements``."""
    return not stamp.is_file() or stamp.read_bytes() != requirements.read_bytes()


def command_argv(python, command: str, args) -> list[str]:
    """The child's argv for ``run.py COMMAND ARGS`` (no process is started)."""
    python = str(python)
    if command == "test":
        return [python, "-m", "pytest", *args]
    if command == "lab":
        return [python, "-m", "jupyterlab", "notebooks", *args]
    return [python, "-m", "aigc_course", command, *args]


def child_env(environ, kit_root: Path = KIT_ROOT) -> dict[str, str]:
    """``environ`` plus the defaults of ``CHILD_ENV_DEFAULTS`` for variables it does not set, and the
    workshop kit's data folder as ``AIGC_COURSE_DATA`` when the course came from a kit (the user's setting wins)."""
    env = dict(environ)
    for name, value in CHILD_ENV_DEFAULTS.items():
        env.setdefault(name, value)
    kit_data = kit_root / "data"
    if (kit_data / "SHA256SUMS").is_file() and not env.get(DATA_ENV):
        env[DATA_ENV] = str(kit_data)
    return env


def kit_platform(system: str = sys.platform, machine: str = platform.machine()) -> str:
    """This machine's name in the workshop kit's wheels folder, e.g. ``windows-x86_64``."""
    machine = {"amd64": "x86_64", "aarch64": "arm64"}.get(machine.lower(), machine.lower())
    name = "windows" if system.startswith("win") else "macos" if system == "darwin" else system
    return f"{name}-{machine}"


def kit_wheels(kit_root: Path = KIT_ROOT, version=sys.version_info) -> Path | None:
    """The kit's wheel folder for this platform and Python (``wheels/linux-x86_64-py311``), when there is one."""
    folder = kit_root / "wheels" / f"{kit_platform()}-py{version[0]}{version[1]}"
    return folder if (folder / "requirements.lock").is_file() else None


def install_steps(python, requirements: Path = REQUIREMENTS, wheels: Path | None = None) -> list[list[str]]:
    """The commands that install ``requirements``, the package and the Jupyter kernel into the venv
    (from the workshop kit's ``wheels`` folder with no network, when given)."""
    python = str(python)
    pip_install = [python, "-m", "pip", "install", "--quiet"]
    if wheels is None:
        first = [[*pip_install, "--upgrade", "pip"]]
    else:  # offline: no index at all, only the kit's wheels (the package's build backend included)
        first, pip_install = [], [*pip_install, "--no-index", "--find-links", str(wheels)]
    return [
        *first,
        [*pip_install, "-r", str(requirements)],
        [*pip_install, "--no-deps", "-e", str(REPO)],
        [python, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3"],
    ]


def check_python(version=sys.version_info) -> str | None:
    """None if this Python can build the course's venv, else a message with the fix.

    (This file parses on older Pythons too, so that they get this message rather than a syntax error.)"""
    if tuple(version[:2]) >= MIN_PYTHON:
        return None
    return (f"需要 Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} 或更高 (推荐 3.11), 当前是 "
            f"{version[0]}.{version[1]} (Python too old). 解决 (fix): 安装 Python 3.11, 然后用它运行, "
            f"例如 Windows: py -3.11 run.py demo; macOS/Linux: python3.11 run.py demo")


def ensure_venv(venv: Path = VENV, requirements: Path = REQUIREMENTS, kit_root: Path = KIT_ROOT) -> int:
    """Create the venv and install ``requirements`` into it when needed (from a workshop kit's wheels when the
    course came from one); return 0, or the failing step's exit code."""
    python = venv_python(venv)
    if not python.is_file():
        problem = check_python()
        if problem:
            print(f"[run.py] 错误 (error): {problem}", file=sys.stderr)
            return 1
        say(f"creating {venv.name} with {sys.executable}")
        code = subprocess.call([sys.executable, "-m", "venv", str(venv)])
        if code != 0:
            say("无法创建虚拟环境 (venv failed). 解决 (fix): 在 Debian/Ubuntu 上 "
                "sudo apt install python3-venv; 或用 python.org 的安装包装好 Python 3.11")
            return code
    stamp = venv / STAMP_NAME
    if not requirements_changed(requirements, stamp):
        return 0
    wheels = kit_wheels(kit_root)
    if wheels is not None:
        say(f"installing requirements.txt into .venv from the workshop kit {wheels} (offline)")
    elif (kit_root / "wheels").is_dir():
        say(f"注意 (note): 离线安装包 {kit_root / 'wheels'} 里没有本机 ({kit_platform()}, Python "
            f"{sys.version_info[0]}.{sys.version_info[1]}) 的 wheel, 改为联网安装 (installing from the network). "
            f"解决 (fix): 用安装包对应的 Python 版本运行, 或在能上网的电脑上 bash run.sh kit 文件夹 --platforms {kit_platform()}")
    else:
        say("installing requirements.txt into .venv (first run: a few minutes)")
    for step in install_steps(python, requirements, wheels):
        code = subprocess.call(step, stdout=subprocess.DEVNULL if "ipykernel" in step else None)
        if code != 0:
            say(f"安装失败 (install failed, exit {code}): {' '.join(step)}. 解决 (fix): 检查网络或 pip 的输出, "
                f"然后再次运行 run.py (it retries the install)")
            return code
    shutil.copyfile(requirements, stamp)
    return 0


def run_child(argv: list[str], env: dict[str, str], replace_process: bool = os.name == "posix") -> int:
    """Run the command and return its exit code; with ``replace_process`` (POSIX) this process becomes
    the command, as the shell's ``exec`` does, so signals and the exit code are the command's own."""
    sys.stdout.flush()
    sys.stderr.flush()
    if replace_process:
        os.execve(argv[0], argv, env)
    with subprocess.Popen(argv, env=env) as process:
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:  # Ctrl-C reaches the child too: let it stop, then report its code
                continue


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    os.chdir(REPO)
    code = ensure_venv()
    if code != 0:
        return code
    command, rest = (args[0], args[1:]) if args else (DEFAULT_COMMAND, [])
    return run_child(command_argv(venv_python(VENV), command, rest), child_env(os.environ))


if __name__ == "__main__":
    sys.exit(main())
