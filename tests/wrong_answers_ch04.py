"""Plausible wrong answers to the implement exercises of chapter 04, each with the hint its check must give.

Each function is a correct answer but for one typical mistake (imported by tests/test_exercises.py).
"""

import numpy as np
from keras import ops


def _softmax(scores, axis=-1):
    weights = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return weights / weights.sum(axis=axis, keepdims=True)


# ------------------------------------------------------------------ 4.1 make_causal_mask(length)

def mask_sees_the_next_position(length):
    return np.tril(np.ones((length, length), dtype=bool), k=1)


def mask_transposed(length):
    positions = np.arange(length)
    return positions[None, :] >= positions[:, None]  # keys j >= query i: the future


def mask_without_the_diagonal(length):
    positions = np.arange(length)
    return positions[None, :] < positions[:, None]


def mask_true_where_hidden(length):
    return np.triu(np.ones((length, length), dtype=bool), k=1)


def mask_additive(length):
    return np.where(np.tril(np.ones((length, length), dtype=bool)), 0.0, -np.inf)


# ------------------------------------------------------------------ 4.2 attention(q, k, v, mask=None)

def attention_without_scaling(q, k, v, mask=None):
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2))
    if mask is not None:
        scores = ops.where(mask, scores, -1e9)
    weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, v), weights


def attention_divided_by_d_k(q, k, v, mask=None):
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / q.shape[-1]
    if mask is not None:
        scores = ops.where(mask, scores, -1e9)
    weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, v), weights


def attention_softmax_over_queries(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -1e9)
    weights = _softmax(scores, axis=-2)
    return weights @ v, weights


def attention_masked_after_softmax(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    weights = _softmax(scores)
    if mask is not None:
        weights = np.where(mask, weights, 0.0)
    return weights @ v, weights


def attention_mask_inverted(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, -1e9, scores)
    weights = _softmax(scores)
    return weights @ v, weights


def attention_mask_added_with_the_wrong_sign(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores + (1 - np.asarray(mask, dtype=scores.dtype)) * 1e9
    weights = _softmax(scores)
    return weights @ v, weights


def attention_scores_times_mask(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores * mask
    weights = _softmax(scores)
    return weights @ v, weights


def attention_ignoring_the_mask(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    weights = _softmax(scores)
    return weights @ v, weights


def attention_transposing_every_axis(q, k, v, mask=None):
    scores = q @ k.T / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -1e9)
    weights = _softmax(scores)
    return weights @ v, weights


# ------------------------------------------------------------------ 4.3 positional_encoding(length, dim)

def _interleave(even, odd):
    table = np.zeros((even.shape[0], 2 * even.shape[1]))
    table[:, 0::2], table[:, 1::2] = even, odd
    return table


def encoding_sin_and_cos_swapped(length, dim):
    angles = np.arange(length)[:, None] / 10000 ** (2 * np.arange(dim // 2)[None, :] / dim)
    return _interleave(np.cos(angles), np.sin(angles))


def encoding_exponent_i_over_d(length, dim):
    angles = np.arange(length)[:, None] / 10000 ** (np.arange(dim // 2)[None, :] / dim)
    return _interleave(np.sin(angles), np.cos(angles))


def encoding_exponent_per_column(length, dim):
    columns = np.arange(dim)[None, :]
    angles = np.arange(length)[:, None] / 10000 ** (columns / dim)
    return np.where(columns % 2 == 0, np.sin(angles), np.cos(angles))


def encoding_sin_half_then_cos_half(length, dim):
    angles = np.arange(length)[:, None] / 10000 ** (2 * np.arange(dim // 2)[None, :] / dim)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)


def encoding_positions_from_one(length, dim):
    angles = np.arange(1, length + 1)[:, None] / 10000 ** (2 * np.arange(dim // 2)[None, :] / dim)
    return _interleave(np.sin(angles), np.cos(angles))


def encoding_transposed(length, dim):
    angles = np.arange(length)[:, None] / 10000 ** (2 * np.arange(dim // 2)[None, :] / dim)
    return _interleave(np.sin(angles), np.cos(angles)).T


# ------------------------------------------------------------------ 4.4 cached_attention_step(q, k, v, keys, values)

def _attend(q, keys, values, scale=True):
    scores = q @ keys.T / (np.sqrt(q.shape[-1]) if scale else 1.0)
    return _softmax(scores) @ values


def step_attending_before_appending(q, k, v, cache_keys, cache_values):
    output = _attend(q, cache_keys, cache_values)  # the new token does not see itself
    return output, np.concatenate([cache_keys, k]), np.concatenate([cache_values, v])


def step_attending_to_the_new_token_only(q, k, v, cache_keys, cache_values):
    output = _attend(q, k, v)
    return output, np.concatenate([cache_keys, k]), np.concatenate([cache_values, v])


def step_with_the_first_row_of_a_causal_mask(q, k, v, cache_keys, cache_values):
    keys, values = np.concatenate([cache_keys, k]), np.concatenate([cache_values, v])
    mask = np.tril(np.ones((len(q), len(keys)), dtype=bool))  # the query is row 0, not row t
    scores = np.where(mask, q @ keys.T / np.sqrt(q.shape[-1]), -1e9)
    return _softmax(scores) @ values, keys, values


def step_returning_the_old_cache(q, k, v, cache_keys, cache_values):
    keys, values = np.concatenate([cache_keys, k]), np.concatenate([cache_values, v])
    return _attend(q, keys, values), cache_keys, cache_values


def step_prepending_to_the_cache(q, k, v, cache_keys, cache_values):
    keys, values = np.concatenate([k, cache_keys]), np.concatenate([v, cache_values])
    return _attend(q, keys, values), keys, values


def step_without_scaling(q, k, v, cache_keys, cache_values):
    keys, values = np.concatenate([cache_keys, k]), np.concatenate([cache_values, v])
    return _attend(q, keys, values, scale=False), keys, values


WRONG_ANSWERS = {
    "make_causal_mask": [
        (mask_sees_the_next_position, "对角线上方多了一条"),
        (mask_transposed, "上三角"),
        (mask_without_the_diagonal, "对角线是 False"),
        (mask_true_where_hidden, "恰好相反"),
        (mask_additive, "0/−∞"),
    ],
    "attention": [
        (attention_without_scaling, "忘了除以 √d_k"),
        (attention_divided_by_d_k, "除以了 d_k"),
        (attention_softmax_over_queries, "softmax 沿错了轴"),
        (attention_masked_after_softmax, "每一行之和不再是 1"),
        (attention_mask_inverted, "掩码的意思反了"),
        (attention_mask_added_with_the_wrong_sign, "掩码的意思反了"),
        (attention_scores_times_mask, "exp(0) = 1"),
        (attention_ignoring_the_mask, "掩码没有起作用"),
        (attention_transposing_every_axis, "只应交换最后两个轴"),
    ],
    "positional_encoding": [
        (encoding_sin_and_cos_swapped, "sin 和 cos 放反了"),
        (encoding_exponent_i_over_d, "你的像是 i/d"),
        (encoding_exponent_per_column, "同一对共用"),
        (encoding_sin_half_then_cos_half, "前一半列"),
        (encoding_positions_from_one, "从 1 开始"),
        (encoding_transposed, "行和列反了"),
    ],
    "cached_attention_step": [
        (step_attending_before_appending, "没有看新字符自己"),
        (step_attending_to_the_new_token_only, "查询只看了它自己"),
        (step_with_the_first_row_of_a_causal_mask, "掩码的最后一行"),
        (step_returning_the_old_cache, "还是原来的 3 行"),
        (step_prepending_to_the_cache, "接在了缓存的开头"),
        (step_without_scaling, "忘了除以 √d_k"),
    ],
}
