"""The text models through the command line: evaluate, generate with each strategy, bad settings."""

import pytest

from conftest import call_cli


def test_evaluate_shakespeare_meets_its_target(shipped_metrics):
    metrics = shipped_metrics("charlstm-shakespeare")
    assert metrics["val_nats_per_char"] <= 1.55 and metrics["val_chars"] == 111540


@pytest.mark.parametrize("arguments, message", [
    (["--prompt", "ROMEO ♥"], "characters not in the vocabulary: '♥'"),
    (["--strategy", "nucleus"], "invalid choice: 'nucleus'"),
])
def test_bad_generation_settings_are_clear_errors(arguments, message):
    result = call_cli("generate", "charlstm-shakespeare", "--length", "20", *arguments)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_evaluate_tang_meets_its_form_target(shipped_metrics):
    metrics = shipped_metrics("charlstm-tang")
    assert metrics["form_rate"] >= 0.9 and metrics["form_rate_poems"] == 500
    assert 2.0 < metrics["val_nats_per_char"] < 8.0


@pytest.mark.parametrize("arguments", [
    ["--strategy", "greedy"],
    ["--strategy", "temperature", "--temperature", "0.8"],
    ["--strategy", "top_k", "--top-k", "20"],
    ["--strategy", "top_p", "--top-p", "0.9"],
    ["--strategy", "beam", "--beam-width", "3"],
    ["--strategy", "top_p", "--repetition-penalty", "1.3"],
])
@pytest.mark.parametrize("name", ["charlstm-tang", "gpt-tang"])
def test_tang_poems_start_with_the_prompt_for_every_strategy(name, arguments):
    result = call_cli("generate", name, "--prompt", "春", "--n", "1", "--length", "40", *arguments)
    assert result.returncode == 0, result.stderr
    poem = result.stdout.strip().splitlines()[-1]
    assert poem.startswith("春") and len(poem) > 5
