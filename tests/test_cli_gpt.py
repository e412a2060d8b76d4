"""The shipped GPTs through the command line: their targets, generation with every strategy, bad input."""

import pytest

from conftest import call_cli


def test_gpt_shakespeare_meets_its_target(shipped_metrics):
    metrics = shipped_metrics("gpt-shakespeare")
    assert metrics["val_nats_per_char"] <= 1.60 and metrics["val_chars"] == 111540


@pytest.mark.parametrize("arguments", [  # every strategy is unit-tested on a GPT in test_gpt.py
    ["--strategy", "greedy"],
    ["--strategy", "top_p", "--top-p", "0.9", "--repetition-penalty", "1.3"],
    ["--strategy", "beam", "--beam-width", "3"],
])
def test_gpt_shakespeare_continues_the_prompt_with_every_strategy(arguments):
    result = call_cli("generate", "gpt-shakespeare", "--prompt", "ROMEO:", "--n", "1", "--length", "60", *arguments)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ROMEO:") and len(result.stdout.split("-" * 40)[0]) > 20


def test_gpt_shakespeare_generates_past_its_context_and_rejects_unknown_characters():
    result = call_cli("generate", "gpt-shakespeare", "--prompt", "ROMEO:", "--n", "1", "--length", "300")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split("-" * 40)[0]) > 300
    bad = call_cli("generate", "gpt-shakespeare", "--prompt", "ROMEO ♥", "--length", "5")
    assert bad.returncode == 2 and "characters not in the vocabulary: '♥'" in bad.stderr


def test_gpt_tang_beats_the_lstm_on_validation_loss_and_form_rate(shipped_metrics):
    gpt, lstm = shipped_metrics("gpt-tang"), shipped_metrics("charlstm-tang")
    assert gpt["val_chars"] == lstm["val_chars"] and gpt["form_rate_poems"] == lstm["form_rate_poems"] == 500
    assert gpt["val_nats_per_char"] < lstm["val_nats_per_char"]
    assert gpt["form_rate"] > lstm["form_rate"]
