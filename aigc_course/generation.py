"""Token-by-token text generation shared by the language models (LSTM state or Transformer key/value cache).

A subclass says how to read a prompt (``_prime``), how to advance by one token (``_advance``), how to pick
the states of surviving beams (``_reorder``) and how to score a whole prefix from scratch
(``_prefix_logits``, the slow path kept to measure what the state or cache saves). Everything else —
the decoding strategies, stopping, beam search — is here, once.
"""

from __future__ import annotations

import numpy as np

from aigc_course.errors import SettingsError


class IncrementalGenerator:
    """Text from a trained character model: the prompt is read once, then each new character costs one step."""

    def __init__(self, vocab):
        self.vocab = vocab

    # --- what a model family provides ----------------------------------------------------------------
    def _prime(self, prompt_ids: np.ndarray, batch: int):
        """Read the prompt for ``batch`` copies: (logits of the next token (batch, vocab), state)."""
        raise NotImplementedError

    def _advance(self, tokens: np.ndarray, state):
        """Feed one token per sequence (batch,): (next logits (batch, vocab), new state)."""
        raise NotImplementedError

    def _reorder(self, state, indices):
        """The states of the sequences ``indices`` (beam search)."""
        raise NotImplementedError

    def _prefix_logits(self, ids: np.ndarray) -> np.ndarray:
        """Next-token logits (1, vocab) computed from the whole prefix ``ids`` (1, time), with no state."""
        raise NotImplementedError

    # --- shared ---------------------------------------------------------------------------------------
    def _encode_prompt(self, prompt: str) -> np.ndarray:
        if not prompt:
            raise SettingsError("the prompt is empty: give at least one character to start from "
                             "(for poems, '\\n' means 'start a new poem').")
        return self.vocab.encode(prompt)

    def generate(self, prompt: str, length: int, settings=None, batch: int = 1, seed: int = 0,
                 stop_at: str | None = None) -> list[str]:
        """``batch`` continuations of ``prompt`` (prompt excluded), each up to ``length`` characters,
        cut before ``stop_at`` when it appears."""
        from aigc_course.sampling import DecodingSettings, next_token_distribution, sample_from

        settings = settings or DecodingSettings()
        prompt_ids = self._encode_prompt(prompt)
        stop_id = self.vocab.index[stop_at] if stop_at is not None else None
        if settings.strategy == "beam":
            return [self._beam(prompt_ids, length, settings, stop_id) for _ in range(batch)]
        rng = np.random.default_rng(seed)
        logits, state = self._prime(prompt_ids, batch)
        history = np.repeat(prompt_ids[None, :], batch, axis=0)  # prompt + what was generated so far
        finished = np.zeros(batch, dtype=bool)
        for index in range(length):
            probs = next_token_distribution(logits, settings, previous_ids=history)
            tokens = sample_from(probs, rng).astype(np.int32)
            history = np.concatenate([history, tokens[:, None]], axis=1)
            if stop_id is not None:
                finished |= tokens == stop_id
                if finished.all():
                    break
            if index + 1 < length:
                logits, state = self._advance(tokens, state)
        return [self._cut(row, stop_id) for row in history[:, len(prompt_ids):]]

    def _cut(self, ids, stop_id) -> str:
        ids = list(ids)
        if stop_id is not None and stop_id in ids:
            ids = ids[:ids.index(stop_id)]
        return self.vocab.decode(ids)

    def _beam(self, prompt_ids, length, settings, stop_id) -> str:
        from aigc_course.sampling import beam_search

        logits, state = self._prime(prompt_ids, 1)
        tokens, _ = beam_search(lambda ids, s: self._advance(ids.astype(np.int32), s), logits, state, length,
                                settings.beam_width, self._reorder, stop_id, settings.repetition_penalty)
        return self._cut(tokens, stop_id)

    def generate_uncached(self, prompt: str, length: int, settings=None, seed: int = 0) -> str:
        """The slow way: run the model over the whole text so far for every new character."""
        from aigc_course.sampling import DecodingSettings, next_token_distribution, sample_from

        settings = settings or DecodingSettings()
        ids = list(self._encode_prompt(prompt))
        rng = np.random.default_rng(seed)
        start = len(ids)
        for _ in range(length):
            logits = self._prefix_logits(np.array([ids], dtype=np.int32))
            probs = next_token_distribution(logits, settings, previous_ids=np.array([ids]))
            ids.append(int(sample_from(probs, rng)[0]))
        return self.vocab.decode(ids[start:])
