"""The offline workshop kit: one folder, copied to a USB stick, that installs and runs the course with no network.

``python -m aigc_course kit DEST`` (or ``bash run.sh kit DEST``) writes::

    DEST/
      安装说明.txt                     how learners install from the stick (Chinese)
      course/                         the course (the repository's tracked files, shipped weights included)
      wheels/<platform>-py311/        every wheel requirements.txt needs on that platform, plus requirements.lock
      data/                           a data folder in the AIGC_COURSE_DATA layout, with SHA256SUMS

On a learner's laptop ``bash course/run.sh doctor`` (Windows: ``py -3.11 course\\run.py doctor``) finds
``../wheels`` and ``../data``, installs with ``pip install --no-index --find-links`` and checks the machine.

Wheels for other platforms cannot be resolved with ``pip download --platform`` alone: pip evaluates
environment markers (``sys_platform == "win32"``) for the machine it runs on. So each platform's full
dependency list is first resolved for that platform with ``uv pip compile --python-platform`` (uv is installed
into the course's venv on first use), then each pinned wheel is downloaded with ``pip download --no-deps``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from aigc_course.atomic import write_text_atomically
from aigc_course.errors import CourseError

REPO = Path(__file__).resolve().parents[1]
UV_REQUIREMENT = "uv==0.13.9"
PYTHON_VERSION = "3.11"
BUILD_REQUIREMENTS = ("setuptools>=77",)  # pip builds the course package (pyproject.toml) from these, offline
# Left out of the course copy: what each machine makes for itself
SKIP_TOP_LEVEL = {".git", ".venv", "gallery", "runs", "build", "_build"}


@dataclass(frozen=True)
class Platform:
    """A learner platform: its folder name, uv's ``--python-platform`` and pip's ``--platform`` tags."""

    name: str
    uv_platform: str
    pip_platforms: tuple[str, ...]


def _manylinux(arch: str) -> tuple[str, ...]:
    # pip does not widen a manylinux_2_X tag to older glibc versions by itself, so list them (newest first)
    return tuple(f"manylinux_2_{minor}_{arch}" for minor in range(28, 16, -1)) + (f"manylinux2014_{arch}",)


PLATFORMS = {
    platform.name: platform for platform in (
        Platform("linux-x86_64", "x86_64-manylinux_2_28", _manylinux("x86_64")),
        Platform("windows-x86_64", "x86_64-pc-windows-msvc", ("win_amd64",)),
        Platform("macos-arm64", "aarch64-apple-darwin", ("macosx_12_0_arm64",)),  # pip widens macOS tags itself
    )
}


class KitError(CourseError):
    """The kit could not be built; the message says why and what to do."""


def wheel_folder_name(platform: str, python_version: str = PYTHON_VERSION) -> str:
    """``linux-x86_64-py311``: the folder run.py looks for (keep in step with run.py's ``kit_wheels``)."""
    return f"{platform}-py{python_version.replace('.', '')}"


def tracked_files(repo: Path = REPO) -> list[Path]:
    """The course's files, relative to ``repo``: git's tracked files, or the tree without local-only folders."""
    if (repo / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True).stdout
        return [Path(name) for name in listed.decode("utf-8").split("\0") if name]
    return [path.relative_to(repo) for path in sorted(repo.rglob("*")) if path.is_file()
            and path.relative_to(repo).parts[0] not in SKIP_TOP_LEVEL and "__pycache__" not in path.parts]


def copy_course(target: Path, repo: Path = REPO) -> int:
    """Copy the course into ``target``; returns the number of files."""
    files = tracked_files(repo)
    for relative in files:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / relative, destination)
    return len(files)


def _run(command: list[str], what: str, **kwargs) -> None:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-6:])
        raise KitError(f"{what} failed (exit {result.returncode}): {' '.join(command)}\n{tail}\n"
                       "fix: check the network connection to the package index (pip's index settings apply), "
                       "then run the same command again: finished parts are kept")


def uv_command(python: str = sys.executable) -> list[str]:
    """How to run uv: the one on PATH or in this venv, else install it into this venv first."""
    beside = Path(python).parent / ("uv.exe" if os.name == "nt" else "uv")
    if beside.is_file():
        return [str(beside)]
    if shutil.which("uv"):
        return [shutil.which("uv")]
    print(f"installing {UV_REQUIREMENT} (resolves each platform's wheels) into this environment", flush=True)
    _run([python, "-m", "pip", "install", "--quiet", UV_REQUIREMENT], "installing uv")
    return [str(beside)]


def resolve_platform(platform: Platform, requirements: Path, lock: Path, python_version: str = PYTHON_VERSION) -> list[str]:
    """Pin every package ``requirements`` needs on ``platform`` into ``lock``; returns the pins."""
    source = lock.with_suffix(".in")
    source.write_text(requirements.read_text(encoding="utf-8") + "\n" + "\n".join(BUILD_REQUIREMENTS) + "\n",
                      encoding="utf-8")
    command = [*uv_command(), "pip", "compile", str(source), "--python-platform", platform.uv_platform,
               "--python-version", python_version, "--no-header", "--no-annotate", "--quiet", "-o", str(lock)]
    index = os.environ.get("PIP_INDEX_URL")
    if index:
        command += ["--default-index", index]
    _run(command, f"resolving the wheels for {platform.name}")
    source.unlink()
    return [line.strip() for line in lock.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def download_wheels(platform: Platform, folder: Path, requirements: Path, python_version: str = PYTHON_VERSION) -> int:
    """Every wheel ``requirements`` needs on ``platform``, into ``folder``; returns the number of wheels."""
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / "requirements.lock"
    resolve_platform(platform, requirements, lock, python_version)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--prefer-binary",
               "--python-version", python_version, "--implementation", "cp", "-r", str(lock), "-d", str(folder)]
    for tag in platform.pip_platforms:
        command += ["--platform", tag]
    _run(command, f"downloading the wheels for {platform.name}")
    for sdist in sorted([*folder.glob("*.tar.gz"), *folder.glob("*.zip")]):
        wheel_sdist(sdist)
    return len(list(folder.glob("*.whl")))


def wheel_sdist(sdist: Path) -> None:
    """Replace a source-only package (fontmeta, which mplfonts needs, has no wheel) by the wheel built from it,
    so that learners' laptops need no build step. Only pure-Python packages can be built for every platform."""
    before = set(sdist.parent.glob("*.whl"))
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(sdist.parent), str(sdist)],
         f"building a wheel from {sdist.name}")
    built = set(sdist.parent.glob("*.whl")) - before
    if not built or not all(wheel.name.endswith("-none-any.whl") for wheel in built):
        raise KitError(f"{sdist.name} has no wheel and is not pure Python, so the kit cannot carry it for every "
                       "platform; fix: choose a version with wheels in requirements.txt")
    sdist.unlink()


def copy_data(target: Path) -> list[str]:
    """Every data set's files (found in the data folder or cache, else downloaded and verified) into ``target``,
    in the AIGC_COURSE_DATA layout, with ``SHA256SUMS``; returns what could not be had (optional files)."""
    from aigc_course.data.catalog import DATASETS
    from aigc_course.data.files import fetch, locate
    from aigc_course.errors import DataError

    sums, missing = [], []
    for dataset in DATASETS.values():
        for remote, required in [(remote, True) for remote in dataset.required] + \
                                [(remote, False) for remote in dataset.optional]:
            try:
                source = fetch(remote) if required else (locate(remote) or fetch(remote))
            except DataError as error:
                if required:
                    raise KitError(f"data set {dataset.name}: {error}") from error
                missing.append(f"{remote.relpath} (optional: {dataset.title} works without it)")
                continue
            destination = target / remote.relpath
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
            sums.append(f"{hashlib.sha256(destination.read_bytes()).hexdigest()}  {remote.relpath}")
    write_text_atomically(target / "SHA256SUMS", "\n".join(sums) + "\n")
    return missing


INSTRUCTIONS = """AIGC 从入门到实战 · 离线安装包
=================================

这个文件夹可以整个复制到 U 盘，再复制到每位学员的电脑上（保持里面的目录结构不变）：
  course/   课程（笔记本、Python 包、附带的模型权重）
  wheels/   各平台的安装包（wheel）：{platforms}
  data/     数据集（AIGC_COURSE_DATA 的目录结构，SHA256SUMS 是校验和）

学员电脑上需要先装好 Python {python}（python.org 的安装包；Windows 上安装时勾选 "py launcher"）。
然后只要一条命令，它会离线安装并检查这台电脑（不需要网络）：

  macOS / Linux:   bash course/run.sh doctor
  Windows:         py -{python} course\\run.py doctor

之后照常使用：bash course/run.sh lab（打开 JupyterLab）、bash course/run.sh test、bash course/run.sh demo。
run.py 发现旁边有 wheels/ 和 data/ 时，会用 pip install --no-index --find-links 安装，
并把 data/ 当作数据目录（AIGC_COURSE_DATA）；自己设置的 AIGC_COURSE_DATA 优先。

缺少的平台：在能上网的电脑上运行 bash run.sh kit 目标文件夹 --platforms 平台名（可选 {all_platforms}）。
{missing}"""


def build_kit(destination: Path, platforms: tuple[str, ...] = tuple(PLATFORMS), with_data: bool = True,
              python_version: str = PYTHON_VERSION) -> dict:
    """Write the kit into ``destination`` (created; an existing kit is updated in place). Returns a summary."""
    unknown = [name for name in platforms if name not in PLATFORMS]
    if unknown:
        raise KitError(f"unknown platform {', '.join(unknown)}; choose from {', '.join(PLATFORMS)}")
    destination = destination.resolve()
    if destination == REPO or REPO in destination.parents:
        raise KitError(f"the kit cannot go inside the course folder ({REPO}): choose a folder outside it")
    destination.mkdir(parents=True, exist_ok=True)
    course = destination / "course"
    if course.exists():
        shutil.rmtree(course)
    summary = {"course_files": copy_course(course), "wheels": {}, "missing_data": []}
    for name in platforms:
        folder = destination / "wheels" / wheel_folder_name(name, python_version)
        print(f"wheels for {name} -> {folder}", flush=True)
        summary["wheels"][name] = download_wheels(PLATFORMS[name], folder, REPO / "requirements.txt", python_version)
    if with_data:
        print(f"data sets -> {destination / 'data'}", flush=True)
        summary["missing_data"] = copy_data(destination / "data")
    missing = "".join(f"\n注意：没有 {line}\n" for line in summary["missing_data"])
    write_text_atomically(destination / "安装说明.txt", INSTRUCTIONS.format(
        platforms="、".join(platforms), python=python_version, all_platforms="、".join(PLATFORMS), missing=missing))
    summary["bytes"] = sum(path.stat().st_size for path in destination.rglob("*") if path.is_file())
    return summary
