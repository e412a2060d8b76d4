"""Helpers shared by the tests (environment set-up is in the root conftest.py)."""

import json
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args, env=None, cwd=None):
    """Run ``python -m aigc_course ARGS`` in a fresh process; return the CompletedProcess."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "aigc_course", *map(str, args)], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, cwd=cwd or REPO, timeout=900)


def last_json(stdout: str) -> dict:
    """The CLI's result: the last line of its output, one JSON object."""
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture
def data_root():
    root = os.environ.get("AIGC_COURSE_DATA")
    if not root or not Path(root).is_dir():
        pytest.fail("AIGC_COURSE_DATA must name the offline data folder (e.g. ../shared/data)")
    return Path(root)
