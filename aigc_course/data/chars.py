"""Character vocabularies and tf.data pipelines of (input, next-character target) windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aigc_course.errors import SettingsError

POEM_SEPARATOR = "\n"  # one poem per line when poems are joined into a training text


@dataclass(frozen=True)
class CharVocabulary:
    """A sorted character set with ``encode``/``decode``; unknown characters are a clear error."""

    chars: tuple[str, ...]

    @classmethod
    def from_text(cls, text: str) -> "CharVocabulary":
        return cls(tuple(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    @property
    def index(self) -> dict[str, int]:
        return {char: position for position, char in enumerate(self.chars)}

    def encode(self, text: str) -> np.ndarray:
        index = self.index
        unknown = sorted({char for char in text if char not in index})
        if unknown:
            shown = "".join(unknown[:20])
            raise SettingsError(f"characters not in the vocabulary: {shown!r} ({len(unknown)} in all). "
                             f"Fix: use only characters seen in training (vocabulary of {len(self)}), "
                             "e.g. check full-width vs half-width punctuation and Simplified vs Traditional.")
        return np.fromiter((index[char] for char in text), dtype=np.int32, count=len(text))

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in np.asarray(ids).reshape(-1))


def join_poems(poems) -> str:
    """Poems as one training text, one poem per line (the separator also marks where a poem ends)."""
    return "".join(poem.text + POEM_SEPARATOR for poem in poems)


def char_windows(ids: np.ndarray, sequence_length: int, batch_size: int, shuffle: bool = True,
                 seed: int = 0, stride: int | None = None, start_id: int | None = None):
    """A ``tf.data.Dataset`` of (ids[t:t+L], ids[t+1:t+L+1]) windows: the model predicts the next character.

    Windows start every ``stride`` characters (default: ``sequence_length``, non-overlapping), or, with
    ``start_id``, at every occurrence of that id (e.g. the separator before each poem), so that every
    window begins where generation begins: at the start of a poem, with nothing before it.
    """
    import tensorflow as tf

    stride = stride or sequence_length
    ids = np.asarray(ids, dtype=np.int32)
    if start_id is None:
        starts = np.arange(0, len(ids) - sequence_length - 1, stride)
    else:
        starts = np.flatnonzero(ids[: len(ids) - sequence_length - 1] == start_id)
    if len(starts) == 0:
        raise ValueError(f"text of {len(ids)} characters is too short for windows of {sequence_length}")
    windows = np.lib.stride_tricks.sliding_window_view(ids, sequence_length + 1)[starts]
    dataset = tf.data.Dataset.from_tensor_slices((windows[:, :-1], windows[:, 1:]))
    if shuffle:
        dataset = dataset.shuffle(len(windows), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size, drop_remainder=shuffle).prefetch(tf.data.AUTOTUNE)
