"""The text models through the command line: evaluate, generate with each strategy, bad settings."""

import json

import pytest

from conftest import run_cli


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def test_evaluate_shakespeare_meets_its_target():
    metrics = last_json(run_cli("evaluate", "charlstm-shakespeare").stdout)
    assert metrics["val_nats_per_char"] <= 1.55 and metrics["val_chars"] == 111540


@pytest.mark.parametrize("arguments, message", [
    (["--strategy", "temperature", "--temperature", "0"], "temperature must be > 0"),
    (["--strategy", "top_k", "--top-k", "0"], "top_k must be an integer >= 1"),
    (["--strategy", "top_p", "--top-p", "1.5"], r"top_p must be in (0, 1]"),
    (["--strategy", "beam", "--beam-width", "0"], "beam_width must be an integer >= 1"),
    (["--prompt", "ROMEO ♥"], "characters not in the vocabulary: '♥'"),
])
def test_bad_generation_settings_are_clear_errors(arguments, message):
    result = run_cli("generate", "charlstm-shakespeare", "--length", "20", *arguments)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
