"""Helpers shared by the tests (environment set-up and the data markers are in the root conftest.py)."""

import contextlib
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def call_cli(*args) -> CliResult:
    """Run the CLI in this process (``cli.main``), as ``python -m aigc_course ARGS`` would; capture its output."""
    from aigc_course import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(arg) for arg in args])
    return CliResult(code, out.getvalue(), err.getvalue())


def run_cli(*args, env=None, cwd=None):
    """Run ``python -m aigc_course ARGS`` in a fresh process (for the few real smoke tests)."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "aigc_course", *map(str, args)], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, cwd=cwd or REPO, timeout=900)


def last_json(stdout: str) -> dict:
    """The CLI's result: the last line of its output, one JSON object."""
    return json.loads(stdout.strip().splitlines()[-1])


def requires_model_data(name: str) -> None:
    """Skip (fail in CI) unless the data sets that model ``name`` is trained and evaluated on are here."""
    from aigc_course.testing import require_datasets
    from aigc_course.zoo import get_entry

    require_datasets(*get_entry(name).datasets)


@pytest.fixture(scope="session")
def shipped_metrics():
    """``shipped_metrics(name)``: the JSON line of ``evaluate NAME`` for a shipped checkpoint, computed once per
    session however many tests read it (an evaluation takes seconds to minutes)."""
    results: dict[str, dict] = {}

    def metrics(name: str) -> dict:
        requires_model_data(name)
        if name not in results:
            result = call_cli("evaluate", name)
            assert result.returncode == 0, result.stderr
            results[name] = last_json(result.stdout)
        return results[name]

    return metrics
