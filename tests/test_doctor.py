"""``doctor``: the pre-workshop check of a learner's machine (run in-process, with a short speed probe)."""

import functools
import http.server
import re
import socket
import sys
import threading
import time

import pytest

from aigc_course import doctor, plotting
from aigc_course.data import catalog
from aigc_course.data.files import locate

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@pytest.fixture
def empty_data(tmp_path, monkeypatch):
    """An empty data folder and cache; downloads allowed unless a test turns them off."""
    for name in ("data", "cache"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("AIGC_COURSE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("AIGC_COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AIGC_COURSE_OFFLINE", raising=False)
    monkeypatch.delenv("AIGC_COURSE_MIRROR", raising=False)
    for variable in PROXY_VARIABLES:  # probes of 127.0.0.1 must not go through a proxy
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


@pytest.fixture
def offline_empty(empty_data, monkeypatch):
    """No data and no downloads: the data set checks are quick warnings, nothing else depends on this machine."""
    monkeypatch.setenv("AIGC_COURSE_OFFLINE", "1")
    return empty_data


def lines_for(report: str, prefix: str) -> list[str]:
    return [line for line in report.splitlines() if line.startswith(prefix)]


def fix_after(report: str, first_line: str) -> str:
    lines = report.splitlines()
    following = lines[lines.index(first_line) + 1]
    assert following.startswith("    解决 (fix): ")
    return following


# --- data sets ----------------------------------------------------------------------------------

def test_offline_and_empty_names_each_missing_dataset_and_its_fix(offline_empty, capsys):
    code = doctor.run_doctor(probe_seconds=0)
    report = capsys.readouterr().out
    assert code == 0, report  # missing data is a warning: the demo works without it
    for name, dataset in catalog.DATASETS.items():
        [line] = lines_for(report, f"! 数据集 {name} ({dataset.title})")
        assert "不在本机" in line and "AIGC_COURSE_OFFLINE=1" in line
        fix = fix_after(report, line)
        assert catalog.how_to_get(name) in fix and "AIGC_COURSE_MIRROR" in fix
    assert "可以上课" in report and f"{len(catalog.DATASETS)} 个提醒" in report
    assert not lines_for(report, "✓ 数据集")


@pytest.mark.needs_data(*catalog.DATASETS)
def test_real_data_folder_reports_every_dataset_present(capsys):
    code = doctor.run_doctor(probe_seconds=0)
    report = capsys.readouterr().out
    assert code == 0, report
    for name, dataset in catalog.DATASETS.items():
        [line] = lines_for(report, f"✓ 数据集 {name} ({dataset.title})")
        folder = locate(dataset.required[0]).parent  # in the data folder (AIGC_COURSE_DATA) or the cache
        assert f"已在本机 (present): {folder}" in line and folder.name in dataset.required[0].relpath
    assert not lines_for(report, "! 数据集") and not lines_for(report, "✗")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_download_fails_fast_with_the_fix(empty_data, monkeypatch):
    mirror = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("AIGC_COURSE_MIRROR", mirror)
    started = time.perf_counter()
    checks = doctor.check_datasets()
    assert time.perf_counter() - started < doctor.PROBE_TIMEOUT_SECONDS + 1
    assert [check.mark for check in checks] == [doctor.WARN] * len(catalog.DATASETS)
    for check, name in zip(checks, catalog.DATASETS):
        assert f"连不上 {mirror}/" in check.detail and "not reachable" in check.detail
        assert check.fix == catalog.how_to_get(name)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_reachable_mirror_is_reported_per_file(empty_data, monkeypatch):
    served = empty_data / "mirror"
    (served / "shakespeare").mkdir(parents=True)
    (served / "shakespeare" / "shakespeare.txt").write_text("First Citizen:\n")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("AIGC_COURSE_MIRROR", f"http://127.0.0.1:{server.server_address[1]}")
        checks = {check.label.split()[1]: check for check in doctor.check_datasets()}
    finally:
        server.shutdown()
        server.server_close()
    assert checks["shakespeare"].mark == doctor.OK and "可以连接" in checks["shakespeare"].detail
    assert checks["mnist"].mark == doctor.WARN and "HTTP 404" in checks["mnist"].detail  # not on this mirror


def test_a_hanging_probe_is_cut_off(monkeypatch):
    monkeypatch.setattr(doctor.urllib.request, "urlopen", lambda *args, **kwargs: time.sleep(5))
    started = time.perf_counter()
    results = doctor.probe_urls(["http://a.invalid/x", "http://b.invalid/y"], timeout=0.3)
    assert time.perf_counter() - started < 1.5
    assert all("超时" in reason for reason in results.values()) and len(results) == 2


# --- speed --------------------------------------------------------------------------------------

@pytest.mark.needs_data("shakespeare")
def test_chapter_01_sizes_match_the_notebook_data():
    from aigc_course.data.chars import char_windows
    from aigc_course.data.corpora import load_char_corpus

    corpus = load_char_corpus("shakespeare")
    setup = doctor.CHAPTER_01
    assert len(corpus.vocab) == setup.vocab_size
    assert len(corpus.train_ids) + len(corpus.val_ids) == setup.text_chars
    windows = char_windows(corpus.train_ids, setup.sequence_length, setup.batch_size, shuffle=True,
                           stride=setup.sequence_length // 2)
    assert len(windows) == setup.steps_per_epoch == 122
    assert setup.total_chars == 4 * 122 * 128 * 128


def test_speed_probe_measures_and_estimates(capsys):
    result = doctor.measure_char_lstm_speed(1.0)
    assert result.steps >= 1 and result.seconds >= 1.0 and result.compile_seconds > 0
    assert result.chars_per_second == pytest.approx(result.steps * 128 * 128 / result.seconds)
    assert result.chars_per_second > 0

    code = doctor.run_doctor(probe_seconds=0.5)
    report = capsys.readouterr().out
    [line] = lines_for(report, "✓ 速度") or lines_for(report, "! 速度")
    rate = int(re.search(r"每秒训练约 ([\d,]+) 字符", line).group(1).replace(",", ""))
    minutes = int(re.search(r"约 (\d+) 分钟", line).group(1))
    assert rate > 0 and minutes >= 1
    expected = doctor.CHAPTER_01.total_chars / rate / 60
    assert abs(minutes - max(1, round(expected))) <= 1
    assert code == 0, report


@pytest.mark.parametrize("seconds, mark, shown", [(600, doctor.OK, "约 10 分钟"), (20, doctor.OK, "约 1 分钟"),
                                                  (3 * 3600, doctor.WARN, "约 180 分钟 (约 3.0 小时)")])
def test_speed_estimate_wording(monkeypatch, seconds, mark, shown):
    rate = doctor.CHAPTER_01.total_chars / seconds
    monkeypatch.setattr(doctor, "measure_char_lstm_speed",
                        lambda probe_seconds, setup: doctor.SpeedResult(10, 1.0, 2.0, rate))
    check = doctor.check_speed(1.0)
    assert check.mark == mark and check.detail.endswith(shown + (", 较慢 (slow)" if mark == doctor.WARN else ""))
    assert bool(check.fix) == (mark == doctor.WARN)


# --- blockers -----------------------------------------------------------------------------------

def test_missing_font_blocks_with_its_fix(offline_empty, monkeypatch, capsys):
    def no_font():
        raise FileNotFoundError("NotoSansCJKsc-Regular.otf is missing: Chinese text would render as boxes.")

    monkeypatch.setattr(plotting, "use_chinese_font", no_font)
    code = doctor.run_doctor(probe_seconds=0)
    report = capsys.readouterr().out
    assert code == 1
    [line] = lines_for(report, "✗ 中文字体")
    assert "NotoSansCJKsc-Regular.otf is missing" in line
    assert "pip install -r requirements.txt" in fix_after(report, line)
    assert "1 个问题必须先解决" in report


def test_missing_tensorflow_blocks_and_skips_the_probe(offline_empty, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` now raises ImportError
    code = doctor.run_doctor(probe_seconds=5)
    report = capsys.readouterr().out
    assert code == 1
    [line] = lines_for(report, "✗ TensorFlow")
    assert "requirements.txt" in fix_after(report, line)
    assert lines_for(report, "! 速度 (speed): 跳过")


def test_python_version_check():
    assert doctor.check_python((3, 11, 7), "/p").mark == doctor.OK
    newer = doctor.check_python((3, 12, 1), "/p")
    assert newer.mark == doctor.WARN and "3.11" in newer.fix
    old = doctor.check_python((3, 9, 18), "/p")
    assert old.mark == doctor.FAIL and "3.9.18" in old.detail and "py -3.11" in old.fix


def test_low_disk_space_is_a_warning(tmp_path, monkeypatch):
    folder = tmp_path / "not" / "created" / "yet"
    check = doctor.check_disk(folder)
    assert check.mark == doctor.OK and str(folder) in check.detail and "GB" in check.detail
    monkeypatch.setattr(doctor.shutil, "disk_usage", lambda path: type("Usage", (), {"free": 200 << 20})())
    low = doctor.check_disk(folder)
    assert low.mark == doctor.WARN and "0.2 GB" in low.detail and "AIGC_COURSE_CACHE" in low.fix
