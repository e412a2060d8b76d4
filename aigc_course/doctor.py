"""``python -m aigc_course doctor``: check a learner's machine before a workshop.

One line per check: ✓ (fine), ! (works, with a caveat) or ✗ (blocks the course), and for each
problem a concrete fix. ``run_doctor`` returns 0 when nothing blocks the course, else 1. A missing
data set is a caveat, not a blocker: the demo and the shipped models work without data.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

OK, WARN, FAIL = "✓", "!", "✗"
MIN_PYTHON = (3, 10)
PINNED_PYTHON = (3, 11)  # what requirements.txt is pinned for
PROBE_TIMEOUT_SECONDS = 3.0  # HEAD request to a data set's download URL
LOW_DISK_BYTES = 1 << 30
SLOW_CHAPTER_MINUTES = 30
INSTALL_FIX = "pip install -r requirements.txt (或运行 python run.py doctor: 它会建好 .venv 并安装)"


@dataclass(frozen=True)
class Check:
    """One line of the report: a mark (OK/WARN/FAIL), what was checked, what was found, how to fix it."""

    mark: str
    label: str
    detail: str
    fix: str = ""

    def render(self) -> str:
        line = f"{self.mark} {self.label}: {self.detail}"
        return f"{line}\n    解决 (fix): {self.fix}" if self.fix else line


# Chapter 01's training in normal mode (notebooks/01_rnn_text_generation.ipynb): Tiny Shakespeare,
# CharLSTM(65 characters, EMBEDDING_DIM 64, UNITS 256), windows of 128 starting every 64 characters,
# batches of 128 (the last partial batch dropped), 4 epochs over the first 90% of the text.
@dataclass(frozen=True)
class ChapterOneTraining:
    text_chars: int = 1_115_394
    train_fraction: float = 0.9
    vocab_size: int = 65
    embedding_dim: int = 64
    units: int = 256
    sequence_length: int = 128
    batch_size: int = 128
    epochs: int = 4

    @property
    def steps_per_epoch(self) -> int:
        train_chars = int(self.text_chars * self.train_fraction)
        windows = len(range(0, train_chars - self.sequence_length - 1, self.sequence_length // 2))
        return windows // self.batch_size

    @property
    def chars_per_step(self) -> int:
        return self.batch_size * self.sequence_length

    @property
    def total_chars(self) -> int:
        return self.epochs * self.steps_per_epoch * self.chars_per_step


CHAPTER_01 = ChapterOneTraining()


# --- Python, TensorFlow, device -----------------------------------------------------------------

def check_python(version=sys.version_info, executable: str = sys.executable) -> Check:
    shown = ".".join(map(str, tuple(version)[:3]))
    if tuple(version)[:2] < MIN_PYTHON:
        return Check(FAIL, "Python", f"{shown} 太旧, 至少需要 3.10 (too old; {executable})",
                     "安装 Python 3.11, 删除 .venv 文件夹, 再用它运行: Windows: py -3.11 run.py doctor; "
                     "macOS/Linux: python3.11 run.py doctor")
    if tuple(version)[:2] != PINNED_PYTHON:
        return Check(WARN, "Python", f"{shown} ({executable}); requirements.txt 按 3.11 固定版本",
                     "若安装依赖失败, 改用 Python 3.11: 删除 .venv, 再用 python3.11 (Windows: py -3.11) 运行 run.py")
    return Check(OK, "Python", f"{shown} ({executable})")


def check_frameworks() -> tuple[list[Check], object | None]:
    """TensorFlow and Keras import, their versions and the Keras backend; returns the checks and ``tf`` (or None)."""
    try:
        import tensorflow as tf
    except Exception as error:  # ImportError, or a broken binary (DLL load failed, illegal instruction...)
        return [Check(FAIL, "TensorFlow", f"无法导入 (cannot import: {error})", INSTALL_FIX)], None
    try:
        import keras
    except Exception as error:
        return [Check(FAIL, "Keras", f"无法导入 (cannot import: {error})", INSTALL_FIX)], None
    backend = keras.backend.backend()
    if not keras.__version__.startswith("3.") or backend != "tensorflow":
        return [Check(FAIL, "TensorFlow / Keras", f"TensorFlow {tf.__version__}, Keras {keras.__version__}, "
                      f"后端 (backend) {backend}; 课程需要 Keras 3 + TensorFlow 后端",
                      f"{INSTALL_FIX}; 并取消环境变量 KERAS_BACKEND (unset KERAS_BACKEND)")], None
    return [Check(OK, "TensorFlow / Keras", f"TensorFlow {tf.__version__}, Keras {keras.__version__} "
                  f"(后端 backend: {backend})")], tf


def cpu_cores() -> int:
    """Cores this process may use (the affinity mask where the OS has one), else all cores."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def check_device(tf) -> Check:
    gpus = tf.config.list_physical_devices("GPU")
    cores = cpu_cores()
    if gpus:
        names = [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name) for gpu in gpus]
        return Check(OK, "计算设备 (device)", f"GPU: {', '.join(names)}; CPU {cores} 核 (cores)")
    detail = f"CPU, {cores} 核 (cores), 没有 GPU: 课程在 CPU 上可以完成, 训练慢一些"
    if shutil.which("nvidia-smi"):
        return Check(WARN, "计算设备 (device)", detail + "; 但本机有 NVIDIA 显卡 (nvidia-smi)",
                     "要用显卡训练, 按 README「使用 GPU」把 tensorflow-cpu 换成 tensorflow[and-cuda]")
    return Check(OK, "计算设备 (device)", detail)


# --- font ---------------------------------------------------------------------------------------

def check_font() -> Check:
    try:
        from aigc_course import plotting

        name = plotting.use_chinese_font()
    except (FileNotFoundError, ImportError, OSError, RuntimeError) as error:
        return Check(FAIL, "中文字体 (CJK font)", f"图中的中文会显示成方框 ({error})",
                     "pip install -r requirements.txt (它会安装 mplfonts 及其 Noto Sans CJK SC 字体)")
    return Check(OK, "中文字体 (CJK font)", f"{name}, 图中的中文可以正常显示")


# --- data sets ----------------------------------------------------------------------------------

def probe_urls(urls, timeout: float = PROBE_TIMEOUT_SECONDS) -> dict[str, str | None]:
    """HEAD each URL in parallel; ``{url: None}`` when it answers, else ``{url: reason}``.

    Each probe runs in a daemon thread joined with a deadline, so a slow DNS lookup (which
    ``urlopen``'s timeout does not cover) cannot hold the report up for longer than ``timeout``.
    """
    results: dict[str, str | None] = {}
    threads = []
    for url in dict.fromkeys(urls):
        thread = threading.Thread(target=_probe_into, args=(url, timeout, results), daemon=True)
        thread.start()
        threads.append((url, thread))
    deadline = time.monotonic() + timeout + 0.2
    for url, thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return {url: results.get(url, f"超时 (timeout {timeout:g} s)") for url, _ in threads}


def _probe_into(url: str, timeout: float, results: dict) -> None:
    request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "aigc-course"})
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            results[url] = None
    except urllib.error.HTTPError as error:
        # 405/501: the server is up but does not answer HEAD, the download (GET) can still work
        results[url] = None if error.code in (405, 501) else f"HTTP {error.code}"
    except urllib.error.URLError as error:
        results[url] = str(error.reason)
    except Exception as error:  # OSError, a malformed URL, an HTTP protocol error...
        results[url] = f"{type(error).__name__}: {error}"


def check_datasets(timeout: float = PROBE_TIMEOUT_SECONDS) -> list[Check]:
    """One check per data set of ``catalog.DATASETS``; the download URLs of absent ones are probed."""
    from aigc_course.data import catalog
    from aigc_course.errors import DataError

    statuses: dict[str, str] = {}
    for name in catalog.DATASETS:
        try:
            statuses[name] = catalog.dataset_status(name)
        except DataError as error:  # a file in the data folder with a wrong checksum
            statuses[name] = f"error: {error}"
    to_probe = {name: catalog.first_url(name) for name, status in statuses.items() if status == "downloadable"}
    reachable = probe_urls(to_probe.values(), timeout) if to_probe else {}
    return [_dataset_check(catalog, name, status, reachable.get(to_probe.get(name)))
            for name, status in statuses.items()]


def _dataset_check(catalog, name: str, status: str, probe_failure: str | None) -> Check:
    dataset = catalog.DATASETS[name]
    label = f"数据集 {name} ({dataset.title})"
    if status == "present":
        return Check(OK, label, f"已在本机 (present): {_where(dataset)}{_optional_note(dataset)}")
    if status == "downloadable" and probe_failure is None:
        return Check(OK, label, f"不在本机, 第一次使用时自动下载 (will be downloaded): {catalog.first_url(name)} 可以连接")
    if status == "downloadable":
        return Check(WARN, label, f"不在本机, 现在也无法下载: 连不上 {catalog.first_url(name)} (not reachable: "
                     f"{probe_failure})", catalog.how_to_get(name))
    if status == "missing":
        return Check(WARN, label, "不在本机, 且下载已关闭 (missing; AIGC_COURSE_OFFLINE=1)",
                     f"{catalog.how_to_get(name)}; 或取消 AIGC_COURSE_OFFLINE 以联网下载")
    return Check(WARN, label, f"数据文件有问题 ({status.removeprefix('error: ')})",
                 "按上面的提示替换或删除该文件 (replace or delete the file)")


def _where(dataset) -> str:
    from aigc_course.data.files import locate

    found = locate(dataset.required[0])
    return str(found.parent) if found else "?"


def _optional_note(dataset) -> str:
    from aigc_course.data.files import locate

    absent = [remote.name for remote in dataset.optional if locate(remote) is None]
    return f" (可选文件不在: {', '.join(absent)}; 没有它们也能学习)" if absent else ""


# --- disk ---------------------------------------------------------------------------------------

def check_disk(folder: Path | None = None) -> Check:
    """Free space on the disk that holds the download cache (the folder need not exist yet)."""
    from aigc_course.data.files import CACHE_ENV, cache_dir

    folder = Path(folder or cache_dir()).expanduser().absolute()
    existing = next((path for path in (folder, *folder.parents) if path.exists()), folder.anchor or ".")
    free = shutil.disk_usage(existing).free
    detail = f"缓存目录 (cache) {folder} 所在磁盘剩余 {free / (1 << 30):.1f} GB"
    if free < LOW_DISK_BYTES:
        return Check(WARN, "磁盘 (disk)", detail + ", 不足 1 GB (low on space)",
                     f"清理磁盘, 或设置 {CACHE_ENV}=空间更大的磁盘上的文件夹")
    return Check(OK, "磁盘 (disk)", detail)


# --- speed --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SpeedResult:
    steps: int
    seconds: float
    compile_seconds: float
    chars_per_second: float


def measure_char_lstm_speed(probe_seconds: float, setup: ChapterOneTraining = CHAPTER_01) -> SpeedResult:
    """Train chapter 01's character LSTM on random ids for about ``probe_seconds`` (after one untimed,
    compiling step) and measure the training throughput in characters per second."""
    import numpy as np

    from aigc_course.models.char_lstm import CharLSTM, compile_char_model

    model = compile_char_model(CharLSTM(setup.vocab_size, setup.embedding_dim, setup.units, name="doctor_probe"))
    rng = np.random.default_rng(0)
    shape = (setup.batch_size, setup.sequence_length)
    inputs = rng.integers(0, setup.vocab_size, shape, dtype=np.int32)
    targets = rng.integers(0, setup.vocab_size, shape, dtype=np.int32)
    started = time.perf_counter()
    model.train_on_batch(inputs, targets)  # traces and compiles: not timed
    compile_seconds = time.perf_counter() - started
    steps, started = 0, time.perf_counter()
    while True:
        model.train_on_batch(inputs, targets)  # returns the loss as a number: the step has finished
        steps += 1
        elapsed = time.perf_counter() - started
        if elapsed >= probe_seconds:
            return SpeedResult(steps, elapsed, compile_seconds, steps * setup.chars_per_step / elapsed)


def format_minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"约 {minutes} 分钟" + (f" (约 {seconds / 3600:.1f} 小时)" if minutes >= 90 else "")


def check_speed(probe_seconds: float, setup: ChapterOneTraining = CHAPTER_01) -> Check:
    label = "速度 (speed)"
    try:
        result = measure_char_lstm_speed(probe_seconds, setup)
    except Exception as error:  # a broken install shows up here as anything; report it, do not crash
        return Check(WARN, label, f"速度测试失败 (probe failed: {type(error).__name__}: {error})", INSTALL_FIX)
    estimate = setup.total_chars / result.chars_per_second
    detail = (f"第 01 章的字符 LSTM ({setup.units} 单元, 窗口 {setup.sequence_length}, 批量 {setup.batch_size}) "
              f"每秒训练约 {result.chars_per_second:,.0f} 字符 (chars/s; 测了 {result.steps} 步 "
              f"{result.seconds:.1f} 秒, 另有编译 {result.compile_seconds:.1f} 秒); 第 01 章正常模式训练 "
              f"({setup.epochs} 轮 × {setup.steps_per_epoch} 步, {setup.total_chars / 1e6:.1f} 百万字符) "
              f"{format_minutes(estimate)}")
    if estimate > SLOW_CHAPTER_MINUTES * 60:
        return Check(WARN, label, detail + ", 较慢 (slow)",
                     "课上使用附带的检查点 (shipped weights), 或用快速模式 AIGC_QUICK=1 先跑通笔记本, "
                     "完整训练留到课后; 关掉其他占用 CPU 的程序")
    return Check(OK, label, detail)


# --- the report ---------------------------------------------------------------------------------

def run_doctor(probe_seconds: float = 10.0, out=None) -> int:
    """Print the report to ``out`` (default stdout); return 0 when nothing blocks the course, else 1.

    ``probe_seconds <= 0`` skips the speed probe.
    """
    out = out or sys.stdout
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported
    checks: list[Check] = []

    def report(*new: Check) -> None:
        for check in new:
            checks.append(check)
            print(check.render(), file=out, flush=True)

    print(f"AIGC 课程环境检查 (doctor) — {platform.platform()}", file=out, flush=True)
    report(check_python())
    framework_checks, tf = check_frameworks()
    report(*framework_checks)
    if tf is not None:
        report(check_device(tf))
    report(check_font())
    report(*_safely("数据集 (datasets)", check_datasets))
    report(*_safely("磁盘 (disk)", lambda: [check_disk()]))
    if tf is None:
        report(Check(WARN, "速度 (speed)", "跳过: TensorFlow 不可用 (skipped)"))
    elif probe_seconds > 0:
        print(f"  … 测速中, 约 {probe_seconds:g} 秒 (measuring speed)", file=out, flush=True)
        report(check_speed(probe_seconds))
    return _conclude(checks, out)


def _safely(label: str, make_checks) -> list[Check]:
    """Run a check; an unexpected error becomes a failed line instead of a traceback."""
    try:
        return make_checks()
    except Exception as error:
        return [Check(FAIL, label, f"检查出错 ({type(error).__name__}: {error})", INSTALL_FIX)]


def _conclude(checks: list[Check], out) -> int:
    failures = sum(check.mark == FAIL for check in checks)
    warnings = sum(check.mark == WARN for check in checks)
    if failures:
        print(f"结论 (result): {failures} 个问题必须先解决 (✗), 见上面的「解决」", file=out, flush=True)
        return 1
    note = f", {warnings} 个提醒 (!)" if warnings else ""
    print(f"结论 (result): 可以上课 (ready){note}", file=out, flush=True)
    return 0
