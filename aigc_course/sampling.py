"""Decoding strategies for language models, on logits of shape (batch, vocab) (or (vocab,)).

Greedy, temperature, top-k, top-p (nucleus), repetition penalty and beam search. Temperature divides
the *logits* (not the probabilities): softmax(z / T). Each filter returns logits with the removed
tokens set to -inf, so filters compose: repetition penalty -> temperature -> top-k -> top-p -> sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from aigc_course.errors import SettingsError

STRATEGIES = ("greedy", "temperature", "top_k", "top_p", "beam")


def _as_2d(logits) -> np.ndarray:
    array = np.array(logits, dtype="float64")
    return array[None, :] if array.ndim == 1 else array


def softmax(logits) -> np.ndarray:
    """Row-wise softmax that treats -inf as probability 0."""
    array = _as_2d(logits)
    shifted = array - array.max(axis=-1, keepdims=True)
    probs = np.exp(shifted)
    probs = probs / probs.sum(axis=-1, keepdims=True)
    return probs[0] if np.ndim(logits) == 1 else probs


def check_settings(temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                   beam_width: int | None = None, repetition_penalty: float = 1.0) -> None:
    """Raise one clear error for a setting outside its range."""
    if not temperature > 0:
        raise SettingsError(f"temperature must be > 0, got {temperature}: T -> 0 is greedy decoding, so use "
                         "strategy 'greedy' instead of temperature 0")
    if top_k is not None and (int(top_k) != top_k or top_k < 1):
        raise SettingsError(f"top_k must be an integer >= 1, got {top_k} (top_k=1 is greedy decoding)")
    if top_p is not None and not 0 < top_p <= 1:
        raise SettingsError(f"top_p must be in (0, 1], got {top_p} (1 keeps every token)")
    if beam_width is not None and (int(beam_width) != beam_width or beam_width < 1):
        raise SettingsError(f"beam_width must be an integer >= 1, got {beam_width}")
    if not repetition_penalty >= 1.0:
        raise SettingsError(f"repetition_penalty must be >= 1 (1 = off), got {repetition_penalty}")


def apply_temperature(logits, temperature: float) -> np.ndarray:
    """z / T: T < 1 sharpens the distribution, T > 1 flattens it."""
    check_settings(temperature=temperature)
    return np.array(logits, dtype="float64") / temperature


def top_k_filter(logits, k: int) -> np.ndarray:
    """Keep the k largest logits of each row (ties at the k-th value are kept too)."""
    check_settings(top_k=k)
    array = _as_2d(logits)
    k = min(int(k), array.shape[-1])
    kth = np.sort(array, axis=-1)[:, -k][:, None]
    filtered = np.where(array >= kth, array, -np.inf)
    return filtered[0] if np.ndim(logits) == 1 else filtered


def top_p_filter(logits, p: float) -> np.ndarray:
    """Nucleus: keep the smallest set of most likely tokens whose probabilities sum to at least p."""
    check_settings(top_p=p)
    array = _as_2d(logits)
    order = np.argsort(-array, axis=-1)
    sorted_probs = np.take_along_axis(softmax(array), order, axis=-1)
    mass_before = np.cumsum(sorted_probs, axis=-1) - sorted_probs  # mass of the tokens ranked above
    keep_sorted = mass_before < p - 1e-12                            # the top token is always kept
    keep = np.zeros_like(keep_sorted)
    np.put_along_axis(keep, order, keep_sorted, axis=-1)
    filtered = np.where(keep, array, -np.inf)
    return filtered[0] if np.ndim(logits) == 1 else filtered


def apply_repetition_penalty(logits, previous_ids, penalty: float) -> np.ndarray:
    """CTRL-style penalty for tokens already generated: positive logits / penalty, negative * penalty."""
    check_settings(repetition_penalty=penalty)
    array = _as_2d(logits).copy()
    previous = np.asarray(previous_ids)
    previous = previous[None, :] if previous.ndim == 1 else previous
    for row, ids in enumerate(previous):
        seen = np.unique(ids[ids >= 0]).astype(int)
        values = array[row, seen]
        array[row, seen] = np.where(values > 0, values / penalty, values * penalty)
    return array[0] if np.ndim(logits) == 1 else array


@dataclass(frozen=True)
class DecodingSettings:
    """How to pick the next token. ``strategy`` is one of ``STRATEGIES``."""

    strategy: str = "top_p"
    temperature: float = 1.0
    top_k: int = 40
    top_p: float = 0.9
    repetition_penalty: float = 1.0
    beam_width: int = 4

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise SettingsError(f"unknown strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}")
        check_settings(self.temperature, self.top_k, self.top_p, self.beam_width, self.repetition_penalty)


def next_token_distribution(logits, settings: DecodingSettings, previous_ids=None) -> np.ndarray:
    """The probabilities the chosen strategy samples from (one-hot for greedy)."""
    array = _as_2d(logits)
    if previous_ids is not None and settings.repetition_penalty != 1.0:
        array = apply_repetition_penalty(array, previous_ids, settings.repetition_penalty)
    if settings.strategy == "greedy":
        probs = np.zeros_like(array)
        probs[np.arange(len(array)), array.argmax(axis=-1)] = 1.0
    else:
        array = apply_temperature(array, settings.temperature)
        if settings.strategy == "top_k":
            array = top_k_filter(array, settings.top_k)
        elif settings.strategy == "top_p":
            array = top_p_filter(array, settings.top_p)
        probs = softmax(array)
    return probs[0] if np.ndim(logits) == 1 else probs


def sample_from(probs, rng: np.random.Generator) -> np.ndarray:
    """One token id per row of ``probs`` (inverse-CDF sampling)."""
    probs = _as_2d(probs)
    cumulative = np.cumsum(probs, axis=-1)
    draws = rng.random((len(probs), 1)) * cumulative[:, -1:]
    return (cumulative < draws).sum(axis=-1).clip(max=probs.shape[-1] - 1)


def beam_search(step: Callable, initial_logits: np.ndarray, initial_state, length: int, beam_width: int,
                reorder_state: Callable, stop_id: int | None = None,
                repetition_penalty: float = 1.0) -> tuple[list[int], float]:
    """Keep the ``beam_width`` most likely continuations; return the best one and its log-probability.

    ``step(ids, state) -> (logits, state)`` advances a batch of beams by one token (ids: (beams,));
    ``reorder_state(state, indices)`` picks the states of the surviving beams. Finished beams (that
    produced ``stop_id``) are set aside; the best finished or unfinished beam wins.
    """
    check_settings(beam_width=beam_width, repetition_penalty=repetition_penalty)
    log_probs = np.log(softmax(_as_2d(initial_logits))[0] + 1e-30)
    first = np.argsort(-log_probs)[:beam_width]
    beams = [[int(token)] for token in first]
    scores = log_probs[first]
    state = reorder_state(initial_state, np.zeros(len(first), dtype=int))
    finished: list[tuple[list[int], float]] = []
    for _ in range(length - 1):
        alive = [i for i, beam in enumerate(beams) if stop_id is None or beam[-1] != stop_id]
        for i in set(range(len(beams))) - set(alive):
            finished.append((beams[i], float(scores[i])))
        if not alive:
            break
        beams, scores = [beams[i] for i in alive], scores[alive]
        state = reorder_state(state, np.array(alive))
        logits, state = step(np.array([beam[-1] for beam in beams]), state)
        logits = _as_2d(logits)
        if repetition_penalty != 1.0:
            width = max(len(beam) for beam in beams)
            history = np.full((len(beams), width), -1)
            for row, beam in enumerate(beams):
                history[row, :len(beam)] = beam
            logits = apply_repetition_penalty(logits, history, repetition_penalty)
        candidates = scores[:, None] + np.log(softmax(logits) + 1e-30)  # (beams, vocab)
        best = np.argsort(-candidates, axis=None)[:beam_width]
        parents, tokens = np.unravel_index(best, candidates.shape)
        beams = [beams[parent] + [int(token)] for parent, token in zip(parents, tokens)]
        scores = candidates[parents, tokens]
        state = reorder_state(state, parents)
    finished.extend((beam, float(score)) for beam, score in zip(beams, scores))
    return max(finished, key=lambda pair: pair[1])
