"""The character LSTM: generation that carries the state equals re-reading the prefix; bad prompts."""

import numpy as np
import pytest

from aigc_course.data import CharVocabulary
from aigc_course.data.poems import form_rate
from aigc_course.sampling import DecodingSettings

TEXT = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。\n"


@pytest.fixture(scope="module")
def generator():
    from aigc_course.models.char_lstm import CharLSTM, CharLSTMGenerator
    from aigc_course.runtime import set_seed

    set_seed(0)
    vocab = CharVocabulary.from_text(TEXT)
    model = CharLSTM(len(vocab), embedding_dim=8, units=16, dropout=0.0)
    model(np.zeros((1, 1), dtype="int32"))
    return CharLSTMGenerator(model, vocab)


@pytest.mark.parametrize("strategy", ["greedy", "temperature", "top_k", "top_p"])
def test_carried_state_gives_the_same_text_as_rereading_the_prefix(generator, strategy):
    settings = DecodingSettings(strategy, temperature=0.8, top_k=5, top_p=0.9, repetition_penalty=1.3)
    cached = generator.generate("白日", 30, settings, seed=3)[0]
    uncached = generator.generate_uncached("白日", 30, settings, seed=3)
    assert cached == uncached and len(cached) == 30


def test_batches_are_reproducible_and_stop_at_the_separator(generator):
    first = generator.generate("\n", 40, DecodingSettings("temperature", temperature=2.0), batch=8, seed=1,
                               stop_at="\n")
    again = generator.generate("\n", 40, DecodingSettings("temperature", temperature=2.0), batch=8, seed=1,
                               stop_at="\n")
    assert first == again and len(first) == 8
    assert all("\n" not in text and len(text) <= 40 for text in first)


def test_beam_search_runs_and_respects_length(generator):
    text = generator.generate("黄", 12, DecodingSettings("beam", beam_width=3))[0]
    assert 1 <= len(text) <= 12 and set(text) <= set(TEXT)


def test_bad_prompts_are_clear_errors(generator):
    with pytest.raises(ValueError, match="the prompt is empty"):
        generator.generate("", 10)
    with pytest.raises(ValueError, match="characters not in the vocabulary: '春'"):
        generator.generate("春", 10)


def test_form_rate_counts_regular_quatrains():
    good = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。"
    assert form_rate([good, good[:-1], "春眠不觉晓，处处闻啼鸟。"]) == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        form_rate([])
