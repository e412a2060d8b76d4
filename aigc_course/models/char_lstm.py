"""A character-level LSTM language model: p(x_t | x_<t) one character at a time.

The same model serves training (whole windows, ``model.fit``) and generation (one character per call,
carrying the LSTM state forward, so a sample of n characters costs n steps, not n^2).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from aigc_course.generation import IncrementalGenerator
from aigc_course.metrics import nats_per_char  # noqa: F401  (its home is metrics; notebooks import it here)


@keras.saving.register_keras_serializable(package="aigc_course")
class CharLSTM(keras.Model):
    """Embedding -> LSTM layers -> logits over the vocabulary."""

    def __init__(self, vocab_size: int, embedding_dim: int = 64, units: int = 384, num_layers: int = 1,
                 dropout: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.embedding_dim, self.units = vocab_size, embedding_dim, units
        self.num_layers, self.dropout_rate = num_layers, dropout
        self.embedding = layers.Embedding(vocab_size, embedding_dim, name="embedding")
        self.lstms = [layers.LSTM(units, return_sequences=True, return_state=True, name=f"lstm_{i}")
                      for i in range(num_layers)]
        self.dropout = layers.Dropout(dropout)
        self.head = layers.Dense(vocab_size, name="logits")

    def call(self, ids, states=None, return_state=False, training=False):
        """ids: (batch, time) int -> logits (batch, time, vocab); with ``return_state`` also the new states."""
        x = self.embedding(ids)
        new_states = []
        for index, lstm in enumerate(self.lstms):
            x, hidden, cell = lstm(x, initial_state=None if states is None else states[index],
                                   training=training)
            new_states.append([hidden, cell])
            x = self.dropout(x, training=training)
        logits = self.head(x)
        return (logits, new_states) if return_state else logits

    def step(self, ids, states):
        """One character per sequence: ids (batch,) and states -> logits (batch, vocab), new states.

        Calls each LSTM's cell directly: the same arithmetic as ``call`` on a length-1 sequence,
        without the loop machinery of the layer (several times faster per character).
        """
        x = self.embedding(ids)
        new_states = []
        for index, lstm in enumerate(self.lstms):
            x, (hidden, cell) = lstm.cell(x, states[index], training=False)
            new_states.append([hidden, cell])
        return self.head(x), new_states

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "embedding_dim": self.embedding_dim,
                "units": self.units, "num_layers": self.num_layers, "dropout": self.dropout_rate}


def compile_char_model(model: keras.Model, learning_rate=2e-3, optimizer=None) -> keras.Model:
    """Cross-entropy on logits: the loss is directly the validation figure in nats per character."""
    model.compile(optimizer=optimizer or keras.optimizers.Adam(learning_rate, clipnorm=1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def train_char_lm(model: keras.Model, corpus, epochs: int, run_dir, name: str, sequence_length: int = 128,
                  batch_size: int = 128, learning_rate: float = 2e-3, seed: int = 0, verbose="auto",
                  steps_per_epoch: int | None = None, val_chars: int | None = None, align_to: str | None = None,
                  callbacks=()):
    """Train on windows of ``sequence_length`` starting every half window, with cosine learning-rate decay.

    ``align_to`` (a character, e.g. the poem separator) starts every window at that character instead.

    ``steps_per_epoch`` and ``val_chars`` shorten an epoch and the per-epoch validation (quick runs).
    Returns the ``fit_resumable`` result (history and training seconds).
    """
    from aigc_course.data.chars import char_windows
    from aigc_course.training import fit_resumable, warmup_cosine

    start_id = None if align_to is None else int(corpus.vocab.encode(align_to)[0])
    train = char_windows(corpus.train_ids, sequence_length, batch_size, shuffle=True, seed=seed,
                         stride=sequence_length // 2, start_id=start_id)
    if steps_per_epoch:
        train = train.take(steps_per_epoch)
    val = char_windows(corpus.val_ids[:val_chars], 256, 32, shuffle=False)
    schedule = warmup_cosine(learning_rate, epochs * len(train), final_ratio=0.05)
    compile_char_model(model, schedule)
    model(np.zeros((1, 1), dtype="int32"))  # build the weights before a resume loads them
    return fit_resumable(model, train, epochs, run_dir, name, validation_data=val, verbose=verbose,
                         callbacks=callbacks)


class CharLSTMGenerator(IncrementalGenerator):
    """Text from a trained ``CharLSTM``, carrying the LSTM state forward (see ``generation.IncrementalGenerator``).

    ``generate_uncached`` re-reads the whole prefix at every step (what a model without state would
    have to do) and exists to measure the difference.
    """

    def __init__(self, model: CharLSTM, vocab):
        import tensorflow as tf

        super().__init__(vocab)
        self.model = model
        self._step = tf.function(model.step, jit_compile=True)  # XLA: ~1 ms per character on a CPU
        # Compiled once for any length, so the slow path is slow only because of the work it repeats.
        self._last_logits = tf.function(lambda ids: model(ids)[:, -1, :],
                                        input_signature=[tf.TensorSpec([None, None], tf.int32)])

    def _prime(self, prompt_ids: np.ndarray, batch: int):
        logits, states = self.model(np.repeat(prompt_ids[None, :], batch, axis=0), return_state=True)
        return np.asarray(logits[:, -1, :]), states

    def _advance(self, tokens, states):
        logits, states = self._step(tokens, states)
        return np.asarray(logits), states

    def _reorder(self, states, indices):
        import tensorflow as tf

        return [[tf.gather(h, indices), tf.gather(c, indices)] for h, c in states]

    def _prefix_logits(self, ids):
        return np.asarray(self._last_logits(ids))
