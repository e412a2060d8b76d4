"""Decoding strategies: exact distributions on small known logits, and clear errors for bad settings."""

import numpy as np
import pytest

from aigc_course.sampling import (DecodingSettings, apply_repetition_penalty, apply_temperature,
                                  beam_search, next_token_distribution, sample_from, softmax,
                                  top_k_filter, top_p_filter)

LOGITS = np.log(np.array([0.5, 0.25, 0.15, 0.1]))  # probabilities 0.5, 0.25, 0.15, 0.1


def test_temperature_scales_logits_not_probabilities():
    assert np.allclose(softmax(apply_temperature(LOGITS, 1.0)), [0.5, 0.25, 0.15, 0.1])
    sharpened = softmax(apply_temperature(LOGITS, 0.5))       # p^2 / sum p^2
    squares = np.array([0.25, 0.0625, 0.0225, 0.01])
    assert np.allclose(sharpened, squares / squares.sum())
    flattened = softmax(apply_temperature(LOGITS, 1e6))
    assert np.allclose(flattened, 0.25, atol=1e-5)


def test_top_k_keeps_the_k_largest_and_renormalises():
    assert np.allclose(softmax(top_k_filter(LOGITS, 2)), [2 / 3, 1 / 3, 0, 0])
    assert np.allclose(softmax(top_k_filter(LOGITS, 1)), [1, 0, 0, 0])
    assert np.allclose(softmax(top_k_filter(LOGITS, 10)), [0.5, 0.25, 0.15, 0.1])


def test_top_p_keeps_the_smallest_nucleus_reaching_p():
    assert np.allclose(softmax(top_p_filter(LOGITS, 0.5)), [1, 0, 0, 0])       # 0.5 already reaches 0.5
    assert np.allclose(softmax(top_p_filter(LOGITS, 0.7)), [2 / 3, 1 / 3, 0, 0])  # 0.75 >= 0.7
    assert np.allclose(softmax(top_p_filter(LOGITS, 0.9)), np.array([0.5, 0.25, 0.15, 0]) / 0.9)
    assert np.allclose(softmax(top_p_filter(LOGITS, 1.0)), [0.5, 0.25, 0.15, 0.1])
    assert np.allclose(softmax(top_p_filter(LOGITS, 0.01)), [1, 0, 0, 0])       # the top token stays


def test_filters_work_row_by_row():
    batch = np.stack([LOGITS, LOGITS[::-1]])
    probs = softmax(top_k_filter(batch, 1))
    assert np.allclose(probs, [[1, 0, 0, 0], [0, 0, 0, 1]])


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits():
    logits = np.array([2.0, -1.0, 0.5, 3.0])
    penalised = apply_repetition_penalty(logits, np.array([0, 1, 1]), 2.0)
    assert np.allclose(penalised, [1.0, -2.0, 0.5, 3.0])


def test_greedy_and_combined_settings():
    assert np.allclose(next_token_distribution(LOGITS, DecodingSettings("greedy")), [1, 0, 0, 0])
    settings = DecodingSettings("top_k", temperature=0.5, top_k=2)
    assert np.allclose(next_token_distribution(LOGITS, settings), [0.8, 0.2, 0, 0])  # 0.25:0.0625


def test_sampling_frequencies_match_the_distribution():
    rng = np.random.default_rng(0)
    probs = np.tile([0.5, 0.25, 0.15, 0.1], (200_000, 1))
    counts = np.bincount(sample_from(probs, rng), minlength=4) / 200_000
    assert np.allclose(counts, [0.5, 0.25, 0.15, 0.1], atol=0.005)


def test_beam_search_finds_the_best_sequence_that_greedy_misses():
    # Two steps over tokens {0, 1, 2}; token 2 ends. Greedy takes 0 (p=0.6) then a flat 1/3;
    # the beam finds 1 (p=0.4) followed by a certain 2: 0.4 > 0.6 * 1/3.
    first = np.log([0.6, 0.4, 1e-9])
    table = {0: np.log([1 / 3, 1 / 3, 1 / 3]), 1: np.log([1e-9, 1e-9, 1.0]), 2: np.log([1 / 3] * 3)}

    def step(ids, state):
        return np.stack([table[int(i)] for i in ids]), state

    tokens, score = beam_search(step, first, None, length=2, beam_width=2,
                                reorder_state=lambda state, idx: state, stop_id=2)
    assert tokens == [1, 2] and np.isclose(score, np.log(0.4))
    greedy, _ = beam_search(step, first, None, length=2, beam_width=1,
                            reorder_state=lambda state, idx: state, stop_id=2)
    assert greedy[0] == 0


@pytest.mark.parametrize("settings, message", [
    (dict(strategy="temperature", temperature=0), "temperature must be > 0"),
    (dict(strategy="temperature", temperature=-1.0), "temperature must be > 0"),
    (dict(strategy="top_k", top_k=0), "top_k must be an integer >= 1"),
    (dict(strategy="top_p", top_p=0.0), r"top_p must be in \(0, 1\]"),
    (dict(strategy="top_p", top_p=1.5), r"top_p must be in \(0, 1\]"),
    (dict(strategy="beam", beam_width=0), "beam_width must be an integer >= 1"),
    (dict(strategy="nucleus"), "unknown strategy 'nucleus'"),
    (dict(repetition_penalty=0.5), "repetition_penalty must be >= 1"),
])
def test_bad_settings_are_clear_errors(settings, message):
    with pytest.raises(ValueError, match=message):
        DecodingSettings(**settings)
