"""The offline workshop kit: run.py installs from its wheels and uses its data; the builder's rules.

The real thing (build a kit, install it into a fresh venv with no index, run the machine check) downloads
about 0.5 GB and takes minutes, so it is marked ``offline_kit`` and left out of the default run;
CI runs it as its own step (``.ci/run``): ``bash run.sh test -m offline_kit``.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import run  # noqa: E402  (the launcher, standard library only)


def make_kit_layout(root: Path, wheels_for: str | None = None, data: bool = True) -> Path:
    (root / "course").mkdir(parents=True)
    if wheels_for:
        folder = root / "wheels" / wheels_for
        folder.mkdir(parents=True)
        (folder / "requirements.lock").write_text("numpy==2.0.0\n")
    if data:
        (root / "data").mkdir()
        (root / "data" / "SHA256SUMS").write_text("")
    return root


def this_machine_wheels() -> str:
    return f"{run.kit_platform()}-py{sys.version_info[0]}{sys.version_info[1]}"


def test_platform_names_match_the_builders_folders():
    from aigc_course.workshop_kit import PLATFORMS, wheel_folder_name

    assert run.kit_platform("linux", "x86_64") == "linux-x86_64"
    assert run.kit_platform("win32", "AMD64") == "windows-x86_64"
    assert run.kit_platform("darwin", "arm64") == "macos-arm64"
    assert {run.kit_platform("linux", "x86_64"), run.kit_platform("win32", "AMD64"),
            run.kit_platform("darwin", "arm64")} == set(PLATFORMS)
    assert wheel_folder_name("windows-x86_64", "3.11") == "windows-x86_64-py311"


def test_a_kit_beside_the_course_means_an_offline_install_and_its_data_folder(tmp_path):
    kit = make_kit_layout(tmp_path, wheels_for=this_machine_wheels())
    wheels = run.kit_wheels(kit)
    assert wheels == kit / "wheels" / this_machine_wheels()
    steps = run.install_steps("py", REPO / "requirements.txt", wheels)
    pip_steps = [step for step in steps if "pip" in step]
    assert pip_steps and all("--no-index" in step and str(wheels) in step for step in pip_steps)
    assert not any("--upgrade" in step for step in steps)          # no pip upgrade without a network
    assert run.child_env({}, kit)["AIGC_COURSE_DATA"] == str(kit / "data")
    assert run.child_env({"AIGC_COURSE_DATA": "/mine"}, kit)["AIGC_COURSE_DATA"] == "/mine"


def test_without_a_kit_the_install_uses_the_index_and_no_data_folder_is_set(tmp_path):
    assert run.kit_wheels(tmp_path) is None
    assert "AIGC_COURSE_DATA" not in run.child_env({}, tmp_path)
    assert not any("--no-index" in step for step in run.install_steps("py", REPO / "requirements.txt"))


def test_a_kit_for_another_platform_is_reported_and_the_network_install_is_used(tmp_path, monkeypatch, capsys):
    kit = make_kit_layout(tmp_path, wheels_for="plan9-mips-py27")
    venv = tmp_path / "course" / ".venv"
    python = run.venv_python(venv)
    python.parent.mkdir(parents=True)
    python.touch()
    calls = []
    monkeypatch.setattr(run.subprocess, "call", lambda argv, **kwargs: calls.append(argv) or 0)
    assert run.ensure_venv(venv, REPO / "requirements.txt", kit) == 0
    assert "没有本机" in capsys.readouterr().out
    assert calls == run.install_steps(python, REPO / "requirements.txt")


def test_the_builder_refuses_a_folder_inside_the_course_and_unknown_platforms(tmp_path):
    from aigc_course.workshop_kit import KitError, build_kit

    with pytest.raises(KitError, match="outside"):
        build_kit(REPO / "kit", ("linux-x86_64",))
    with pytest.raises(KitError, match="unknown platform plan9"):
        build_kit(tmp_path / "kit", ("plan9",))
    assert not (REPO / "kit").exists() and not (tmp_path / "kit").exists()


def test_the_course_copy_is_the_tracked_files_with_the_shipped_weights():
    from aigc_course.workshop_kit import tracked_files

    files = {path.as_posix() for path in tracked_files(REPO)}
    assert {"run.py", "requirements.txt", "README.md"} <= files
    assert any(name.startswith("aigc_course/weights/") and name.endswith(".weights.h5") for name in files)
    assert not any(name.startswith((".venv/", "gallery/", "runs/")) for name in files)


@pytest.mark.offline_kit
def test_the_kit_installs_into_a_fresh_venv_with_no_index_and_the_machine_check_passes(tmp_path):
    """Build the kit for this platform (wheels, data, course), then install and check as a learner would:
    `python course/run.py doctor` with no pip configuration (no index, no extra wheel folders), no data folder
    set, an empty download cache and downloads switched off."""
    from aigc_course.workshop_kit import build_kit

    kit = tmp_path / "kit"
    summary = build_kit(kit, (run.kit_platform(),))
    assert summary["wheels"][run.kit_platform()] > 50
    assert (kit / "data" / "SHA256SUMS").is_file() and (kit / "安装说明.txt").is_file()

    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("AIGC_", "PIP_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(PIP_CONFIG_FILE=os.devnull, AIGC_COURSE_CACHE=str(tmp_path / "empty-cache"), AIGC_COURSE_OFFLINE="1")
    result = subprocess.run([sys.executable, "run.py", "doctor", "--probe-seconds", "2"], cwd=kit / "course",
                            env=env, capture_output=True, text=True, timeout=1800)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "offline" in output and str(kit / "wheels") in output
    assert str(kit / "data") in output                       # the doctor found the kit's data folder


@pytest.mark.offline_kit
def test_the_windows_wheels_are_resolved_for_windows(tmp_path):
    """pip alone would resolve Windows' wheels with this machine's markers; the kit resolves them for Windows."""
    from aigc_course.workshop_kit import PLATFORMS, resolve_platform

    pins = resolve_platform(PLATFORMS["windows-x86_64"], REPO / "requirements.txt", tmp_path / "windows.lock")
    names = {pin.split("==")[0].lower() for pin in pins}
    assert "tensorflow" in names and "tensorflow-cpu" not in names and "colorama" in names
