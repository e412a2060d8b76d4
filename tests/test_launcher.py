"""The cross-platform launcher run.py (and run.sh, which delegates to it), and the Windows-portability
helpers: atomic replacement of a file held open elsewhere, data paths under a Windows data folder."""

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path, PureWindowsPath

import pytest

from aigc_course import atomic
from aigc_course.data import catalog
from aigc_course.data.files import RemoteFile
from aigc_course.errors import CourseError

REPO = Path(__file__).resolve().parents[1]


def load_launcher():
    spec = importlib.util.spec_from_file_location("aigc_run_launcher", REPO / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run = load_launcher()


# --- run.py -------------------------------------------------------------------------------------

@pytest.mark.parametrize("platform, tail", [("win32", ("Scripts", "python.exe")), ("linux", ("bin", "python")),
                                            ("darwin", ("bin", "python"))])
def test_venv_python_per_platform(platform, tail):
    path = run.venv_python(Path("venv-root"), platform)
    assert path.parts == ("venv-root", *tail)


def test_command_mapping():
    py = "/v/bin/python"
    assert run.command_argv(py, "test", ["-q", "tests/test_cli.py"]) == [py, "-m", "pytest", "-q", "tests/test_cli.py"]
    assert run.command_argv(py, "lab", ["--port", "9999"]) == [py, "-m", "jupyterlab", "notebooks", "--port", "9999"]
    assert run.command_argv(py, "train", ["judge-mnist", "--epochs", "1"]) == [
        py, "-m", "aigc_course", "train", "judge-mnist", "--epochs", "1"]
    assert run.command_argv(Path(py), "doctor", []) == [str(Path(py)), "-m", "aigc_course", "doctor"]


def test_requirements_changed(tmp_path):
    requirements, stamp = tmp_path / "requirements.txt", tmp_path / ".installed-requirements"
    requirements.write_text("keras==3.15.1\n")
    assert run.requirements_changed(requirements, stamp)          # never installed
    stamp.write_text("keras==3.15.1\n")
    assert not run.requirements_changed(requirements, stamp)
    requirements.write_text("keras==3.15.2\n")
    assert run.requirements_changed(requirements, stamp)


def test_child_env_defaults_do_not_override_the_user():
    env = run.child_env({"PATH": "/bin"})
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "2" and env["PYTHONUTF8"] == "1" and env["PATH"] == "/bin"
    assert "TF_ENABLE_ONEDNN_OPTS" not in env  # it would change numerics
    assert run.child_env({"TF_CPP_MIN_LOG_LEVEL": "0"})["TF_CPP_MIN_LOG_LEVEL"] == "0"


def test_python_version_check():
    assert run.check_python((3, 11, 7)) is None and run.check_python((3, 10, 0)) is None
    problem = run.check_python((3, 9, 18))
    assert "3.9" in problem and "py -3.11 run.py" in problem


def test_ensure_venv_installs_once_per_requirements_change(tmp_path, monkeypatch):
    venv, requirements = tmp_path / ".venv", tmp_path / "requirements.txt"
    requirements.write_text("keras==3.15.1\n")
    python = run.venv_python(venv)
    python.parent.mkdir(parents=True)
    python.write_text("")  # the venv exists: only the install steps run
    calls = []
    monkeypatch.setattr(run.subprocess, "call", lambda argv, **kwargs: calls.append(argv) or 0)

    assert run.ensure_venv(venv, requirements) == 0
    assert calls == run.install_steps(python, requirements)
    assert any(step[-3:] == ["--no-deps", "-e", str(REPO)] for step in calls)
    assert (venv / run.STAMP_NAME).read_bytes() == requirements.read_bytes()
    calls.clear()
    assert run.ensure_venv(venv, requirements) == 0 and calls == []     # unchanged: nothing to do
    requirements.write_text("keras==3.15.2\n")
    monkeypatch.setattr(run.subprocess, "call", lambda argv, **kwargs: calls.append(argv) or 3)
    assert run.ensure_venv(venv, requirements) == 3                      # a failed step: its exit code,
    assert len(calls) == 1 and run.requirements_changed(requirements, venv / run.STAMP_NAME)  # retried next time


def test_ensure_venv_refuses_an_old_python_before_creating_anything(tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(run.subprocess, "call", lambda argv, **kwargs: calls.append(argv) or 0)
    too_old = run.check_python((3, 8, 18))
    monkeypatch.setattr(run, "check_python", lambda: too_old)
    assert run.ensure_venv(tmp_path / ".venv", REPO / "requirements.txt") == 1
    assert calls == [] and not (tmp_path / ".venv").exists()
    assert "3.8" in capsys.readouterr().err


def test_main_dispatches_and_returns_the_child_exit_code(monkeypatch):
    started = []
    monkeypatch.setattr(run, "ensure_venv", lambda: 0)
    monkeypatch.setattr(run, "run_child", lambda argv, env: started.append((argv, env)) or 7)
    monkeypatch.setattr(run.os, "chdir", lambda path: None)
    assert run.main(["evaluate", "judge-mnist"]) == 7
    argv, env = started[-1]
    assert argv == [str(run.venv_python(run.VENV)), "-m", "aigc_course", "evaluate", "judge-mnist"]
    assert env["TF_CPP_MIN_LOG_LEVEL"] in {os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    run.main([])
    assert started[-1][0][-2:] == ["aigc_course", "demo"]
    monkeypatch.setattr(run, "ensure_venv", lambda: 5)
    count = len(started)
    assert run.main(["list"]) == 5 and len(started) == count  # a failed install runs nothing


@pytest.mark.parametrize("replace_process", [False, True])
def test_run_child_passes_the_exit_code_through(replace_process):
    if replace_process and os.name != "posix":
        pytest.skip("exec replaces the process only on POSIX")
    code = ("import sys, importlib.util; spec = importlib.util.spec_from_file_location('r', sys.argv[1]); "
            "r = importlib.util.module_from_spec(spec); spec.loader.exec_module(r); "
            "child = [sys.executable, '-c', 'raise SystemExit(5)']; "
            f"sys.exit(r.run_child(child, dict(r.os.environ), replace_process={replace_process}))")
    result = subprocess.run([sys.executable, "-c", code, str(REPO / "run.py")], timeout=60)
    assert result.returncode == 5


@pytest.mark.skipif(os.name != "posix", reason="run.sh is the macOS/Linux shortcut")
def test_run_sh_delegates_to_run_py():
    assert 'exec "$python_bin" run.py "$@"' in (REPO / "run.sh").read_text()
    result = subprocess.run(["bash", str(REPO / "run.sh"), "list"], capture_output=True, text=True, timeout=300,
                            cwd=REPO / "tests")  # run.sh moves to the repository itself
    assert result.returncode == 0, result.stderr
    assert "judge-mnist" in result.stdout
    assert "[run.py] installing" not in result.stdout  # requirements.txt unchanged: no reinstall


# --- Windows: data paths ------------------------------------------------------------------------

def test_relpaths_join_under_a_windows_data_folder():
    root = PureWindowsPath(r"C:\data")
    assert (root / "mnist/t10k-images-idx3-ubyte.gz").parts == ("C:\\", "data", "mnist", "t10k-images-idx3-ubyte.gz")
    remotes = [remote for dataset in catalog.DATASETS.values() for remote in (*dataset.required, *dataset.optional)]
    assert len(remotes) > 4
    for remote in remotes:
        assert "\\" not in remote.relpath and not remote.relpath.startswith("/")
        joined = root / remote.relpath          # what files.locate does on Windows (Path is WindowsPath there)
        assert joined.parts == (*root.parts, *remote.relpath.split("/"))
        assert str(joined) == "C:\\data\\" + remote.relpath.replace("/", "\\")
        assert PureWindowsPath(remote.relpath).name == remote.name


def test_remote_file_name_ignores_the_platform():
    remote = RemoteFile("fashion-mnist/t10k-labels-idx1-ubyte.gz", "https://example.org/x.gz", ())
    assert remote.name == "t10k-labels-idx1-ubyte.gz"


# --- Windows: replacing a file that another program holds open ----------------------------------

def flaky_replace(failures: int, calls: list):
    """An ``os.replace`` that raises PermissionError ``failures`` times (as Windows does while the
    target is open elsewhere), then renames."""
    real_replace = os.replace

    def replace(source, target):
        calls.append((source, target))
        if len(calls) <= failures:
            raise PermissionError(13, "The process cannot access the file because it is being used "
                                      "by another process", str(target))
        real_replace(source, target)

    return replace


def make_files(tmp_path):
    target, partial = tmp_path / "model.weights.h5", tmp_path / "model.part-1.weights.h5"
    target.write_bytes(b"old")
    partial.write_bytes(b"new")
    return partial, target


def test_replace_retries_until_the_file_is_released(tmp_path, monkeypatch):
    partial, target = make_files(tmp_path)
    calls = []
    monkeypatch.setattr(atomic.os, "replace", flaky_replace(2, calls))
    assert atomic.replace_atomically(partial, target, attempts=4, delay=0.01) == target
    assert len(calls) == 3 and target.read_bytes() == b"new" and not partial.exists()


def test_replace_gives_up_with_a_clear_error(tmp_path, monkeypatch):
    partial, target = make_files(tmp_path)
    calls = []
    monkeypatch.setattr(atomic.os, "replace", flaky_replace(10 ** 6, calls))
    started = time.perf_counter()
    with pytest.raises(CourseError) as raised:
        atomic.replace_atomically(partial, target, attempts=3, delay=0.01)
    assert time.perf_counter() - started < 2
    message = str(raised.value)
    assert str(target) in message and "关闭" in message and "占用" in message
    assert isinstance(raised.value.__cause__, PermissionError)
    assert len(calls) == 3
    assert target.read_bytes() == b"old"   # untouched
    assert not partial.exists()            # nothing left behind


def test_other_errors_are_not_retried(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic.replace_atomically(tmp_path / "absent.part", tmp_path / "target", attempts=3, delay=0.01)


def test_checkpoints_and_downloads_use_the_retrying_replace(tmp_path, monkeypatch):
    from aigc_course import checkpoints

    calls = []
    monkeypatch.setattr(atomic.os, "replace", flaky_replace(1, calls))
    card = tmp_path / "x.json"
    card.write_text("{}")
    checkpoints.write_json_atomic(card, {"model": "x"})   # one PermissionError, then it works
    assert len(calls) == 2 and '"model": "x"' in card.read_text(encoding="utf-8")
    assert list(tmp_path.iterdir()) == [card]
    files_source = (REPO / "aigc_course" / "data" / "files.py").read_text(encoding="utf-8")
    assert "replace_atomically(partial, target)" in files_source and "os.replace(" not in files_source
