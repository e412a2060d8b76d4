"""Plausible wrong answers to chapter 0's implement exercises, each with (a part of) the hint it must get.

Imported by tests/test_exercises.py; every function is a correct answer but for the one mistake it is named after.
"""

import numpy as np


# ---------------------------------------------------------------- 0.1 log_bernoulli

def log_bernoulli_bright_pixels_only(pixels, means):
    return pixels @ np.log(means).T  # the (1 - x) log(1 - mu) term forgotten


def log_bernoulli_product_then_log(pixels, means):
    probabilities = np.where(pixels[:, None, :] == 1, means[None], 1 - means[None])  # (N, K, D)
    return np.log(probabilities.prod(axis=-1))  # underflows to 0 on 784 pixels


def log_bernoulli_mean_over_pixels(pixels, means):
    terms = pixels[:, None, :] * np.log(means[None]) + (1 - pixels[:, None, :]) * np.log(1 - means[None])
    return terms.mean(axis=-1)


def log_bernoulli_summed_over_components(pixels, means):
    terms = pixels[:, None, :] * np.log(means[None]) + (1 - pixels[:, None, :]) * np.log(1 - means[None])
    return terms.sum(axis=1)  # the wrong axis: (N, D)


def log_bernoulli_in_bits(pixels, means):
    return pixels @ np.log2(means).T + (1 - pixels) @ np.log2(1 - means).T


# ---------------------------------------------------------------- 0.3 e_step

def e_step_normalised_over_images(log_weights, log_likelihoods):
    log_joint = log_likelihoods + log_weights
    joint = np.exp(log_joint - log_joint.max(axis=0, keepdims=True))
    return joint / joint.sum(axis=0, keepdims=True)


def e_step_exponentiated_first(log_weights, log_likelihoods):
    joint = np.exp(log_weights) * np.exp(log_likelihoods)  # underflows to 0 / 0 on 784-pixel likelihoods
    return joint / joint.sum(axis=1, keepdims=True)


def e_step_with_epsilon(log_weights, log_likelihoods):
    joint = np.exp(log_likelihoods + log_weights)
    return joint / (joint.sum(axis=1, keepdims=True) + 1e-12)  # "no more NaN", but every row is now 0


def e_step_prior_forgotten(log_weights, log_likelihoods):
    joint = np.exp(log_likelihoods - log_likelihoods.max(axis=1, keepdims=True))
    return joint / joint.sum(axis=1, keepdims=True)


def e_step_weights_not_logs(log_weights, log_likelihoods):
    log_joint = log_likelihoods + np.exp(log_weights)
    joint = np.exp(log_joint - log_joint.max(axis=1, keepdims=True))
    return joint / joint.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------- 0.4 m_step

def m_step_unsmoothed(pixels, responsibilities, smoothing):
    counts = responsibilities.sum(axis=0)
    return counts / len(pixels), (responsibilities.T @ pixels) / counts[:, None]


def m_step_means_over_all_images(pixels, responsibilities, smoothing):
    counts = responsibilities.sum(axis=0)
    weights = (counts + smoothing) / (len(pixels) + smoothing * len(counts))
    return weights, (responsibilities.T @ pixels + smoothing) / (len(pixels) + 2 * smoothing)


def m_step_half_smoothed_denominator(pixels, responsibilities, smoothing):
    counts = responsibilities.sum(axis=0)
    weights = (counts + smoothing) / (len(pixels) + smoothing * len(counts))
    return weights, (responsibilities.T @ pixels + smoothing) / (counts[:, None] + smoothing)


def m_step_weights_not_normalised(pixels, responsibilities, smoothing):
    counts = responsibilities.sum(axis=0)
    weights = (counts + smoothing) / (len(pixels) + smoothing)
    return weights, (responsibilities.T @ pixels + smoothing) / (counts[:, None] + 2 * smoothing)


def m_step_smoothing_fixed_at_one(pixels, responsibilities, smoothing):
    counts = responsibilities.sum(axis=0)
    weights = (counts + 1) / (len(pixels) + len(counts))
    return weights, (responsibilities.T @ pixels + 1) / (counts[:, None] + 2)


# ---------------------------------------------------------------- 0.5 bigram_transition

def bigram_fancy_index_increment(sequences, vocab_size, alpha):
    counts = np.zeros((vocab_size, vocab_size))
    for ids in sequences:
        ids = np.asarray(ids)
        counts[ids[:-1], ids[1:]] += 1  # a pair repeated inside a sequence is counted once
    counts += alpha
    return counts / counts.sum(axis=1, keepdims=True)


def bigram_across_sequences(sequences, vocab_size, alpha):
    ids = np.concatenate([np.asarray(sequence) for sequence in sequences])
    counts = np.zeros((vocab_size, vocab_size))
    np.add.at(counts, (ids[:-1], ids[1:]), 1)  # also counts (end of one poem, start of the next)
    counts += alpha
    return counts / counts.sum(axis=1, keepdims=True)


def bigram_transposed(sequences, vocab_size, alpha):
    counts = np.zeros((vocab_size, vocab_size))
    for ids in sequences:
        ids = np.asarray(ids)
        np.add.at(counts, (ids[1:], ids[:-1]), 1)  # counts[next, previous]
    counts += alpha
    return counts / counts.sum(axis=1, keepdims=True)


def bigram_unsmoothed(sequences, vocab_size, alpha):
    counts = np.zeros((vocab_size, vocab_size))
    for ids in sequences:
        ids = np.asarray(ids)
        np.add.at(counts, (ids[:-1], ids[1:]), 1)
    return counts / counts.sum(axis=1, keepdims=True)  # the end mark's row is 0 / 0


def bigram_normalised_over_columns(sequences, vocab_size, alpha):
    counts = np.zeros((vocab_size, vocab_size))
    for ids in sequences:
        ids = np.asarray(ids)
        np.add.at(counts, (ids[:-1], ids[1:]), 1)
    counts += alpha
    return counts / counts.sum(axis=0, keepdims=True)


def bigram_alpha_once_in_denominator(sequences, vocab_size, alpha):
    counts = np.zeros((vocab_size, vocab_size))
    for ids in sequences:
        ids = np.asarray(ids)
        np.add.at(counts, (ids[:-1], ids[1:]), 1)
    return (counts + alpha) / (counts.sum(axis=1, keepdims=True) + alpha)


WRONG_ANSWERS = {
    "log_bernoulli": [
        (log_bernoulli_bright_pixels_only, "暗像素（x=0）出现的概率 1−μ"),
        (log_bernoulli_product_then_log, "下溢成了 0"),
        (log_bernoulli_mean_over_pixels, "是不是对像素求了平均"),
        (log_bernoulli_summed_over_components, "是不是在错误的轴上求和了"),
        (log_bernoulli_in_bits, "以 2 为底"),
    ],
    "e_step": [
        (e_step_normalised_over_images, "你的每一列之和为 1"),
        (e_step_exponentiated_first, "直接取指数会下溢成 0，归一化时就成了 0/0"),
        (e_step_with_epsilon, "每一行都几乎是 0"),
        (e_step_prior_forgotten, "log π_k 加进去了吗"),
        (e_step_weights_not_logs, "加进去的像是 π_k 本身"),
    ],
    "m_step": [
        (m_step_unsmoothed, "π 和 μ 都没有做拉普拉斯平滑"),
        (m_step_means_over_all_images, "而不是全部图像数 N"),
        (m_step_half_smoothed_denominator, "平滑相当于给每个像素多记了一次“亮”和一次“暗”"),
        (m_step_weights_not_normalised, "π 的和应为 1"),
        (m_step_smoothing_fixed_at_one, "把 1 写死了"),
    ],
    "bigram_transition": [
        (bigram_fancy_index_increment, "遇到重复的下标只加一次"),
        (bigram_across_sequences, "字对只应在同一个序列内部数"),
        (bigram_transposed, "把字对的前后颠倒了"),
        (bigram_unsmoothed, "平滑加上去了吗"),
        (bigram_normalised_over_columns, "归一化的轴对吗"),
        (bigram_alpha_once_in_denominator, "分母一共该加多少"),
    ],
}
