"""Test set-up: quick mode, the offline data folder, a private download cache, no network downloads."""

import os
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

os.environ["AIGC_QUICK"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if not os.environ.get("AIGC_COURSE_DATA") and (REPO.parent / "shared" / "data").is_dir():
    os.environ["AIGC_COURSE_DATA"] = str(REPO.parent / "shared" / "data")
os.environ["AIGC_COURSE_CACHE"] = tempfile.mkdtemp(prefix="aigc-test-cache-")
os.environ["AIGC_COURSE_OFFLINE"] = "1"


def run_cli(*args, env=None, cwd=None):
    """Run ``python -m aigc_course ARGS`` in a fresh process; return the CompletedProcess."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "aigc_course", *map(str, args)], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, cwd=cwd or REPO, timeout=900)


@pytest.fixture
def data_root():
    root = os.environ.get("AIGC_COURSE_DATA")
    if not root or not Path(root).is_dir():
        pytest.fail("AIGC_COURSE_DATA must name the offline data folder (e.g. ../shared/data)")
    return Path(root)
