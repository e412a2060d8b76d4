"""A learner's machine: no data folder beside the clone. Downloads through a mirror (the real download path,
served on 127.0.0.1), and the suite's behaviour with and without data, online and offline, in CI and not."""

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from aigc_course.errors import DataError
from conftest import REPO

SHARED_DATA = Path(os.environ.get("AIGC_COURSE_DATA") or REPO.parent / "shared" / "data")
pytestmark = pytest.mark.skipif(not (SHARED_DATA / "MANIFEST.tsv").is_file() and not (SHARED_DATA / "mnist").is_dir(),
                                reason="needs a data folder to serve as the mirror (AIGC_COURSE_DATA=...)")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """``serve(folder)`` -> the URL of a web server on 127.0.0.1 serving ``folder`` (as ``python -m http.server``)."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fresh_machine(tmp_path, monkeypatch):
    """No data folder, an empty cache, downloads allowed: what a new clone on a learner's laptop has."""
    monkeypatch.setenv("AIGC_COURSE_DATA", "")
    monkeypatch.setenv("AIGC_COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("AIGC_COURSE_OFFLINE", "0")
    from aigc_course.data.poems import load_tang_poems

    load_tang_poems.cache_clear()  # parsed poems are kept per process: read them afresh from the new cache
    yield tmp_path / "cache"
    load_tang_poems.cache_clear()


def test_every_loader_downloads_through_the_mirror_and_verifies(fresh_machine, serve, monkeypatch, capsys):
    from aigc_course.data import load_fashion_mnist, load_mnist, load_shakespeare, load_tang_poems

    monkeypatch.setenv("AIGC_COURSE_MIRROR", serve(SHARED_DATA) + "/")
    mnist = load_mnist()  # the mirror, like the data folder, holds only MNIST's test split
    printed = capsys.readouterr()
    assert "镜像" in printed.out and "8,000 张训练 / 2,000 张验证" in printed.out
    assert mnist.x_val.shape == (2000, 28, 28)
    assert "下载 mnist/t10k-images-idx3-ubyte.gz" in printed.err and "100%" in printed.err  # a progress bar
    assert load_fashion_mnist(verbose=False).x_train.shape == (60000, 28, 28)
    assert len(load_shakespeare().train) == 1003854
    assert len(load_tang_poems()) == 57607
    cached = {path.relative_to(fresh_machine).as_posix() for path in fresh_machine.rglob("*") if path.is_file()}
    assert {"mnist/t10k-images-idx3-ubyte.gz", "shakespeare/shakespeare.txt",
            "fashion-mnist/train-images-idx3-ubyte.gz", "chinese-poetry/quan_tang_shi/poet.tang.0.json"} <= cached
    assert not any(".part" in name for name in cached)
    # served again from the cache: the mirror may go away
    monkeypatch.setenv("AIGC_COURSE_MIRROR", "http://127.0.0.1:9")
    assert np.array_equal(load_mnist(verbose=False).x_val, mnist.x_val)


def test_a_wrong_file_on_the_mirror_is_refused_and_not_cached(fresh_machine, serve, tmp_path, monkeypatch):
    from aigc_course.data import load_shakespeare

    mirror = tmp_path / "mirror"
    (mirror / "shakespeare").mkdir(parents=True)
    text = (SHARED_DATA / "shakespeare" / "shakespeare.txt").read_bytes()
    (mirror / "shakespeare" / "shakespeare.txt").write_bytes(text.replace(b"ROMEO", b"ROMEA", 1))
    monkeypatch.setenv("AIGC_COURSE_MIRROR", serve(mirror))
    with pytest.raises(DataError, match=r"download of http://127\.0\.0\.1:\d+/shakespeare/shakespeare\.txt has the "
                                        r"wrong checksum.*nothing was saved"):
        load_shakespeare()
    assert not fresh_machine.exists() or not any(path.is_file() for path in fresh_machine.rglob("*"))


def test_an_unreachable_mirror_is_one_clear_error(fresh_machine, monkeypatch):
    from aigc_course.data import load_shakespeare

    monkeypatch.setenv("AIGC_COURSE_MIRROR", "http://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(DataError) as raised:
        load_shakespeare()
    message = str(raised.value)
    assert "http://127.0.0.1:9/shakespeare/shakespeare.txt" in message and "AIGC_COURSE_DATA" in message
    assert "\n" not in message


def run_suite_part(env: dict, *tests: str) -> subprocess.CompletedProcess:
    """Run a few test files in a fresh pytest process with ``env`` laid over this one (no notebooks)."""
    environment = dict(os.environ)
    environment.pop("CI", None)
    environment.update(env)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *tests],
                          cwd=REPO, env=environment, capture_output=True, text=True, timeout=600)


OFFLINE_PART = ("tests/test_datasets.py",)


def test_no_data_and_no_network_skips_what_needs_data_with_the_fix(tmp_path):
    """Every download fails (the only server named is one where nothing listens): data tests skip, with the fix."""
    result = run_suite_part({"AIGC_COURSE_DATA": "", "AIGC_COURSE_CACHE": str(tmp_path / "cache"),
                             "AIGC_COURSE_OFFLINE": "0", "AIGC_COURSE_MIRROR": "http://127.0.0.1:9"}, *OFFLINE_PART)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 passed" in result.stdout and "skipped" in result.stdout  # the tests that need no data still run
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) >= 4
    for name in ("mnist", "fashion_mnist", "shakespeare", "tang_poems"):
        assert any(f"数据集 {name} " in line and "AIGC_COURSE_DATA" in line for line in skipped), name


def test_in_ci_a_missing_dataset_is_a_failure_not_a_skip(tmp_path):
    result = run_suite_part({"AIGC_COURSE_DATA": "", "AIGC_COURSE_CACHE": str(tmp_path / "cache"),
                             "AIGC_COURSE_OFFLINE": "1", "CI": "true"}, *OFFLINE_PART)
    assert result.returncode == 1
    summary = result.stdout.splitlines()[-1]
    assert "skipped" not in summary and "8 errors" in summary  # each data test fails in its set-up
    assert "CI needs every data set" in result.stdout


def test_no_data_folder_but_a_network_downloads_and_passes(tmp_path, serve):
    """Online, with no data folder: the loaders fill the cache (here from a mirror on 127.0.0.1) and pass."""
    result = run_suite_part({"AIGC_COURSE_DATA": "", "AIGC_COURSE_CACHE": str(tmp_path / "cache"),
                             "AIGC_COURSE_OFFLINE": "0", "AIGC_COURSE_MIRROR": serve(SHARED_DATA)}, *OFFLINE_PART)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "skipped" not in result.stdout.splitlines()[-1]
    assert (tmp_path / "cache" / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()
