"""A small decoder-only Transformer (GPT) over characters, with a key/value cache for generation.

Pieces, each usable on its own (chapter 04 builds them from scratch first, then checks these):
``scaled_dot_product_attention``, ``causal_mask``, ``sinusoidal_positions``, ``rotary_embedding``,
``CausalSelfAttention``, ``TransformerBlock`` and ``GPT`` (pre-LayerNorm blocks as in GPT-2 and nanoGPT).
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

from aigc_course.generation import IncrementalGenerator
from aigc_course.metrics import nats_per_char  # noqa: F401  (its home is metrics; notebooks import it here)
from aigc_course.runtime import keras_xla_allowed

POSITION_KINDS = ("learned", "sinusoidal", "rotary")
MASKED = -1e9  # a score that softmax turns into (float32) zero weight


def scaled_dot_product_attention(query, key, value, mask=None):
    """softmax(Q K^T / sqrt(d_k)) V over the last two axes; returns (output, attention weights).

    ``mask`` (broadcastable to (..., queries, keys)) is True where a query may look at a key.
    """
    depth = ops.cast(ops.shape(query)[-1], query.dtype)
    scores = ops.matmul(query, ops.swapaxes(key, -1, -2)) / ops.sqrt(depth)
    if mask is not None:
        scores = ops.where(mask, scores, ops.cast(MASKED, scores.dtype))
    # softmax written out (max subtracted for stability): ops.softmax warns when there is one key only
    weights = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True))
    weights = weights / ops.sum(weights, axis=-1, keepdims=True)
    return ops.matmul(weights, value), weights


def causal_mask(length: int, offset=0, total: int | None = None):
    """(length, total) booleans: query i (at absolute position offset + i) may see keys 0..offset + i."""
    total = length if total is None else total
    queries = ops.arange(length)[:, None] + offset
    keys = ops.arange(total)[None, :]
    return keys <= queries


def sinusoidal_positions(length: int, dim: int) -> np.ndarray:
    """The fixed encodings of "Attention is all you need": sin/cos at geometric wavelengths, (length, dim)."""
    positions = np.arange(length)[:, None]
    rates = 1.0 / (10000 ** (np.arange(0, dim, 2) / dim))
    table = np.zeros((length, dim), dtype="float32")
    table[:, 0::2] = np.sin(positions * rates)
    table[:, 1::2] = np.cos(positions * rates)[:, : dim // 2]
    return table


def rotary_embedding(x, positions, base: float = 10000.0):
    """Rotate each (first-half, second-half) pair of features of ``x`` (..., time, dim) by the angle
    position x rate (rates geometric, as in ``sinusoidal_positions``): RoPE (Su et al. 2021). Applied to
    queries and keys, their dot product then depends only on the distance between the two positions."""
    half = ops.shape(x)[-1] // 2
    rates = 1.0 / (base ** (ops.cast(ops.arange(half), "float32") / ops.cast(half, "float32")))
    angles = ops.cast(positions, "float32")[:, None] * rates[None, :]  # (time, half)
    cos, sin = ops.cast(ops.cos(angles), x.dtype), ops.cast(ops.sin(angles), x.dtype)
    first, second = x[..., :half], x[..., half:]
    return ops.concatenate([first * cos - second * sin, second * cos + first * sin], axis=-1)


def _dense(units, name, std=0.02, activation=None, bias=False):
    return layers.Dense(units, activation=activation, name=name, use_bias=bias,
                        kernel_initializer=keras.initializers.RandomNormal(stddev=std))


def _layer_norm(name, bias):
    return layers.LayerNormalization(epsilon=1e-5, center=bias, name=name)


@keras.saving.register_keras_serializable(package="aigc_course")
class CausalSelfAttention(layers.Layer):
    """Multi-head self-attention in which no position sees a later one.

    One Dense projects to queries, keys and values at once; heads are split by reshaping. Called with a
    cache ``(keys, values)`` of shape (batch, heads, context, head_dim) and the absolute ``position`` of
    the first new token, it writes the new keys/values there and attends over the cache instead.
    ``rotary``: queries and keys are rotated by their absolute positions (``rotary_embedding``); the cache
    then holds rotated keys.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, output_std: float = 0.02,
                 bias: bool = False, rotary: bool = False, **kwargs):
        super().__init__(**kwargs)
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.bias, self.output_std, self.rotary = bias, output_std, rotary
        self.qkv = _dense(3 * embed_dim, "qkv", bias=bias)
        self.out = _dense(embed_dim, "out", std=output_std, bias=bias)
        self.dropout = layers.Dropout(dropout)

    def build(self, input_shape):
        self.qkv.build(input_shape)
        self.out.build(input_shape)
        self.built = True

    def _heads(self, x):  # (batch, time, embed) -> (batch, heads, time, head_dim)
        batch, time = ops.shape(x)[0], ops.shape(x)[1]
        return ops.transpose(ops.reshape(x, (batch, time, self.num_heads, self.head_dim)), (0, 2, 1, 3))

    def call(self, x, training=False, cache=None, position=0, return_weights=False):
        query, key, value = ops.split(self.qkv(x), 3, axis=-1)
        query, key, value = self._heads(query), self._heads(key), self._heads(value)
        length = ops.shape(x)[1]
        if self.rotary:
            positions = ops.arange(length) + position
            query, key = rotary_embedding(query, positions), rotary_embedding(key, positions)
        if cache is None:
            mask = causal_mask(length)
        else:
            start = (0, 0, position, 0)
            key = ops.slice_update(cache[0], start, ops.cast(key, cache[0].dtype))
            value = ops.slice_update(cache[1], start, ops.cast(value, cache[1].dtype))
            cache = (key, value)
            mask = causal_mask(length, position, ops.shape(key)[2])
        attended, weights = scaled_dot_product_attention(query, key, value, mask)
        attended = ops.transpose(attended, (0, 2, 1, 3))
        merged = ops.reshape(attended, (ops.shape(x)[0], length, self.embed_dim))
        output = self.dropout(self.out(merged), training=training)
        result = (output, cache) if cache is not None else output
        return (result, weights) if return_weights else result

    def get_config(self):
        return {**super().get_config(), "embed_dim": self.embed_dim, "num_heads": self.num_heads,
                "dropout": self.dropout.rate, "output_std": self.output_std, "bias": self.bias,
                "rotary": self.rotary}


@keras.saving.register_keras_serializable(package="aigc_course")
class TransformerBlock(layers.Layer):
    """x + attention(LayerNorm(x)), then x + MLP(LayerNorm(x)) with a 4x wide GELU hidden layer."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, num_layers: int = 1,
                 bias: bool = False, rotary: bool = False, **kwargs):
        super().__init__(**kwargs)
        residual_std = 0.02 / math.sqrt(2 * num_layers)  # GPT-2: residual branches start small
        self.embed_dim, self.num_heads, self.num_layers, self.bias = embed_dim, num_heads, num_layers, bias
        self.rotary = rotary
        self.norm_attention = _layer_norm("norm_attention", bias)
        self.attention = CausalSelfAttention(embed_dim, num_heads, dropout, residual_std, bias, rotary,
                                             name="attention")
        self.norm_mlp = _layer_norm("norm_mlp", bias)
        self.hidden = _dense(4 * embed_dim, "mlp_hidden", activation="gelu", bias=bias)
        self.project = _dense(embed_dim, "mlp_out", std=residual_std, bias=bias)
        self.dropout = layers.Dropout(dropout)

    def build(self, input_shape):
        for layer in (self.norm_attention, self.attention, self.norm_mlp, self.hidden):
            layer.build(input_shape)
        self.project.build((*input_shape[:-1], 4 * self.embed_dim))
        self.built = True

    def call(self, x, training=False, cache=None, position=0):
        attended = self.attention(self.norm_attention(x), training=training, cache=cache, position=position)
        if cache is not None:
            attended, cache = attended
        x = x + attended
        x = x + self.dropout(self.project(self.hidden(self.norm_mlp(x))), training=training)
        return (x, cache) if cache is not None else x

    def get_config(self):
        return {**super().get_config(), "embed_dim": self.embed_dim, "num_heads": self.num_heads,
                "dropout": self.dropout.rate, "num_layers": self.num_layers, "bias": self.bias,
                "rotary": self.rotary}


@keras.saving.register_keras_serializable(package="aigc_course")
class GPT(keras.Model):
    """Token + position embeddings -> ``num_layers`` Transformer blocks -> LayerNorm -> logits.

    ``positions``: "learned" (a trained table, as GPT-2), "sinusoidal" (fixed, added to the tokens) or
    "rotary" (RoPE: queries and keys rotated by position inside each attention layer, as LLaMA).
    ``bias=False`` leaves the additive biases out of the Dense and LayerNorm layers, as nanoGPT does by
    default (a little faster, no worse). ``tie_embeddings``: the output layer reuses the token embedding
    table (logits = h E^T), as GPT-2 and nanoGPT do. The model reads at most ``context_length`` tokens;
    ``call`` gives the logits at every position (training), ``call_cached``
    advances a key/value cache by a few tokens (generation, see ``GPTGenerator``).
    """

    compiles_with_xla = True  # XLA makes its forward pass about twice as fast on a CPU (metrics.nats_per_char)

    def __init__(self, vocab_size: int, context_length: int = 64, embed_dim: int = 128, num_heads: int = 4,
                 num_layers: int = 4, dropout: float = 0.0, positions: str = "learned", bias: bool = False,
                 tie_embeddings: bool = True, **kwargs):
        super().__init__(**kwargs)
        if positions not in POSITION_KINDS:
            raise ValueError(f"positions must be one of {POSITION_KINDS}, got {positions!r}")
        self.vocab_size, self.context_length, self.embed_dim = vocab_size, context_length, embed_dim
        self.num_heads, self.num_layers, self.dropout_rate = num_heads, num_layers, dropout
        self.positions, self.bias = positions, bias
        init = keras.initializers.RandomNormal(stddev=0.02)
        self.token_embedding = layers.Embedding(vocab_size, embed_dim, embeddings_initializer=init,
                                                name="token_embedding")
        if positions == "learned":
            self.position_embedding = layers.Embedding(context_length, embed_dim, embeddings_initializer=init,
                                                       name="position_embedding")
        elif positions == "sinusoidal":
            self.position_table = ops.convert_to_tensor(sinusoidal_positions(context_length, embed_dim))
        self.dropout = layers.Dropout(dropout)
        self.blocks = [TransformerBlock(embed_dim, num_heads, dropout, num_layers, bias, positions == "rotary",
                                        name=f"block_{i}") for i in range(num_layers)]
        self.final_norm = _layer_norm("final_norm", bias)
        self.tie_embeddings = tie_embeddings
        self.head = None if tie_embeddings else _dense(vocab_size, "logits", bias=bias)

    def _embed(self, ids, start, training):
        tokens = self.token_embedding(ids)
        if self.positions == "rotary":  # positions enter inside attention instead
            return self.dropout(tokens, training=training)
        positions = ops.arange(ops.shape(ids)[1]) + start
        if self.positions == "learned":
            position_vectors = self.position_embedding(positions)
        else:
            position_vectors = ops.take(self.position_table, positions, axis=0)
        return self.dropout(tokens + position_vectors[None], training=training)

    def call(self, ids, training=False):
        """ids (batch, time <= context_length) -> logits (batch, time, vocab)."""
        x = self._embed(ids, 0, training)
        for block in self.blocks:
            x = block(x, training=training)
        return self._logits(self.final_norm(x))

    def _logits(self, hidden):
        if self.head is not None:
            return self.head(hidden)
        return ops.matmul(hidden, ops.transpose(self.token_embedding.embeddings))

    def cache_shape(self, batch):
        """The key/value cache of every layer as one tensor: (layers, 2, batch, heads, context, head_dim)."""
        return (self.num_layers, 2, batch, self.num_heads, self.context_length, self.embed_dim // self.num_heads)

    def empty_cache(self, batch: int, dtype="float32"):
        """Zeroed keys and values (``cache_shape``): one tensor in and out of each generation step instead of
        two per layer."""
        return ops.zeros(self.cache_shape(batch), dtype)

    def call_cached(self, ids, cache, position):
        """Read ``ids`` (batch, new) placed at absolute positions ``position``...; return logits of the
        last one (batch, vocab) and the updated cache. Each block attends over its cached keys/values."""
        x = self._embed(ids, position, False)
        updated = []
        for index, block in enumerate(self.blocks):
            x, (keys, values) = block(x, cache=(cache[index, 0], cache[index, 1]), position=position)
            updated.append(ops.stack([keys, values]))
        return self._logits(self.final_norm(x[:, -1, :])), ops.stack(updated)

    def attention_maps(self, ids):
        """The attention weights of every layer for ``ids`` (batch, time): a list of (batch, heads, time, time)."""
        x = self._embed(ids, 0, False)
        maps = []
        for block in self.blocks:
            _, weights = block.attention(block.norm_attention(x), return_weights=True)
            maps.append(weights)
            x = block(x)
        return maps

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "context_length": self.context_length,
                "embed_dim": self.embed_dim, "num_heads": self.num_heads, "num_layers": self.num_layers,
                "dropout": self.dropout_rate, "positions": self.positions, "bias": self.bias,
                "tie_embeddings": self.tie_embeddings}


def gpt_learning_rate(peak: float, total_steps: int, warmup_steps: int = 100, final_ratio: float = 0.1):
    """Linear warm-up to ``peak`` over ``warmup_steps``, then cosine decay to ``final_ratio * peak``
    at ``total_steps`` (nanoGPT's schedule)."""
    from aigc_course.training import warmup_cosine

    return warmup_cosine(peak, total_steps, min(warmup_steps, max(total_steps // 10, 1)), final_ratio)


def compile_gpt(model: GPT, learning_rate, weight_decay: float = 0.1, beta_2: float = 0.99,
                jit_compile: bool = True, steps_per_execution: int = 1, optimizer=None) -> GPT:
    """AdamW (no decay on biases or LayerNorm scales), the global gradient norm clipped to 1,
    cross-entropy on logits (so the loss is in nats per character), XLA-compiled train step."""
    if optimizer is None:
        optimizer = keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay, beta_2=beta_2,
                                           epsilon=1e-8, global_clipnorm=1.0)
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    import tensorflow as tf

    if tf.distribute.get_strategy().num_replicas_in_sync > 1:
        jit_compile = False  # XLA cannot reach variables mirrored on other devices (TF known issue)
    with keras_xla_allowed():
        model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      jit_compile=jit_compile, steps_per_execution=steps_per_execution)
    return model


def random_windows(ids: np.ndarray, length: int, count: int, seed: int = 0):
    """``count`` (input, target) windows at uniformly random offsets, as nanoGPT's ``get_batch`` draws them."""
    ids = np.asarray(ids, dtype=np.int32)
    starts = np.random.default_rng(seed).integers(0, len(ids) - length - 1, size=count)
    windows = np.lib.stride_tricks.sliding_window_view(ids, length + 1)[starts]
    return windows[:, :-1], windows[:, 1:]


def train_gpt(model: GPT, corpus, epochs: int, run_dir, name: str, batch_size: int = 64,
              learning_rate: float = 1e-3, stride: int | None = None, align_to: str | None = None,
              steps_per_epoch: int | None = None, val_chars: int | None = None, seed: int = 0,
              verbose="auto", callbacks=()):
    """Train on ``context_length`` windows (every ``stride`` characters, or each starting at ``align_to``)
    with AdamW and nanoGPT's schedule, resumably (``training.fit_resumable``)."""
    from aigc_course.data.chars import char_windows
    from aigc_course.training import fit_resumable

    length = model.context_length
    start_id = None if align_to is None else int(corpus.vocab.encode(align_to)[0])
    train = char_windows(corpus.train_ids, length, batch_size, shuffle=True, seed=seed,
                         stride=stride or length // 2, start_id=start_id)
    if steps_per_epoch:
        train = train.take(steps_per_epoch)
    val = char_windows(corpus.val_ids[:val_chars], length, 64, shuffle=False)
    compile_gpt(model, gpt_learning_rate(learning_rate, epochs * len(train)))
    model(np.zeros((1, 1), dtype="int32"))  # build the weights before a resume loads them
    return fit_resumable(model, train, epochs, run_dir, name, validation_data=val, verbose=verbose,
                         callbacks=callbacks)


class GPTGenerator(IncrementalGenerator):
    """Text from a trained ``GPT`` with a key/value cache: each new token attends over the stored keys and
    values of the tokens before it instead of recomputing them (see ``generation.IncrementalGenerator``).

    When the context is full, the cache is rebuilt from the last half-context of tokens (one full pass),
    so generation can go on past ``context_length``; up to that point cached and uncached decoding agree.
    """

    def __init__(self, model: GPT, vocab):
        import tensorflow as tf

        super().__init__(vocab)
        self.model = model
        self.context = model.context_length
        cache = tf.TensorSpec(model.cache_shape(None), tf.float32)
        self._step_function = tf.function(model.call_cached, jit_compile=True)
        self._steps = {}  # batch size -> the step compiled for it
        # One trace for any prompt length, so rebuilding a full cache mid-generation costs a pass, not a trace
        self._read = tf.function(model.call_cached, input_signature=[tf.TensorSpec([None, None], tf.int32), cache,
                                                                     tf.TensorSpec([], tf.int32)])
        self._last_logits = tf.function(lambda ids: model(ids)[:, -1, :],
                                        input_signature=[tf.TensorSpec([None, None], tf.int32)])

    def _step(self, batch: int):
        """The XLA-compiled one-token step for ``batch`` sequences, as a concrete function: calling it directly
        skips tf.function's argument matching, which costs more than the step itself for a small model."""
        import tensorflow as tf

        if batch not in self._steps:
            cache = tf.TensorSpec(self.model.cache_shape(batch), tf.float32)
            self._steps[batch] = self._step_function.get_concrete_function(
                tf.TensorSpec([batch, 1], tf.int32), cache, tf.TensorSpec([], tf.int32))
        return self._steps[batch]

    def _fill(self, ids: np.ndarray):
        """A fresh cache holding ``ids`` (batch, time <= context): (next logits, state)."""
        import tensorflow as tf

        ids = np.asarray(ids, dtype=np.int32)
        logits, cache = self._read(ids, self.model.empty_cache(len(ids)), tf.constant(0, tf.int32))
        return np.asarray(logits), {"cache": cache, "tokens": ids}

    def _prime(self, prompt_ids, batch):
        return self._fill(np.repeat(prompt_ids[None, -self.context:], batch, axis=0))

    def _advance(self, tokens, state):
        import tensorflow as tf

        held = state["tokens"]
        tokens = np.asarray(tokens, dtype=np.int32)[:, None]
        if held.shape[1] >= self.context:  # full: rebuild from the most recent half of the context
            return self._fill(np.concatenate([held[:, -(self.context // 2 - 1):], tokens], axis=1))
        logits, cache = self._step(len(tokens))(tf.constant(tokens), state["cache"],
                                                 tf.constant(held.shape[1], tf.int32))
        return np.asarray(logits), {"cache": cache, "tokens": np.concatenate([held, tokens], axis=1)}

    def _reorder(self, state, indices):
        import tensorflow as tf

        return {"cache": tf.gather(state["cache"], indices, axis=2),
                "tokens": state["tokens"][np.asarray(indices)]}

    def _prefix_logits(self, ids):
        return np.asarray(self._last_logits(ids[:, -self.context:]))
