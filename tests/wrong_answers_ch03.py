"""Plausible wrong answers to chapter 03's implement exercises, each with the hint its check must give.

Imported by tests/test_exercises.py (not collected itself). Each function is a correct answer with one typical
mistake.
"""

import numpy as np
from keras import ops


# ---------------------------------------------------------------------------------------- 3.1 reparameterized_sample
def log_var_used_as_sigma(mean, log_var, eps):
    return mean + log_var * eps


def variance_instead_of_sigma(mean, log_var, eps):
    return mean + ops.exp(log_var) * eps


def square_root_of_log_var(mean, log_var, eps):
    return mean + ops.sqrt(log_var) * eps


def draws_its_own_noise(mean, log_var, eps):
    return mean + ops.exp(0.5 * log_var) * np.random.standard_normal(np.shape(mean)).astype("float32")


def numpy_breaks_the_gradient(mean, log_var, eps):
    return mean + np.exp(0.5 * np.asarray(log_var)) * eps


def forgets_the_mean(mean, log_var, eps):
    return ops.exp(0.5 * log_var) * eps


# ---------------------------------------------------------------------------------------- 3.2 kl_to_standard_normal
def variance_where_log_variance_belongs(mean, log_var):
    return 0.5 * ops.sum(mean ** 2 + ops.exp(log_var) - ops.exp(log_var) - 1.0, axis=-1)


def log_var_taken_as_the_variance(mean, log_var):
    return 0.5 * ops.sum(mean ** 2 + log_var - ops.log(log_var) - 1.0, axis=-1)


def kl_without_the_half(mean, log_var):
    return ops.sum(mean ** 2 + ops.exp(log_var) - log_var - 1.0, axis=-1)


def kl_with_the_sign_flipped(mean, log_var):
    return -0.5 * ops.sum(mean ** 2 + ops.exp(log_var) - log_var - 1.0, axis=-1)


def kl_without_minus_one(mean, log_var):
    return 0.5 * ops.sum(mean ** 2 + ops.exp(log_var) - log_var, axis=-1)


def kl_summed_over_the_batch(mean, log_var):
    return 0.5 * ops.sum(mean ** 2 + ops.exp(log_var) - log_var - 1.0, axis=0)


def kl_averaged_over_dimensions(mean, log_var):
    return 0.5 * ops.mean(mean ** 2 + ops.exp(log_var) - log_var - 1.0, axis=-1)


# ---------------------------------------------------------------------------------------- 3.3 bernoulli_log_likelihood
def sigmoid_then_log(binary_images, logits):
    probabilities = ops.sigmoid(logits)
    per_pixel = binary_images * ops.log(probabilities) + (1.0 - binary_images) * ops.log(1.0 - probabilities)
    return ops.sum(per_pixel, axis=(1, 2, 3))


def sigmoid_then_clipped_log(binary_images, logits):
    probabilities = ops.clip(ops.sigmoid(logits), 1e-7, 1.0 - 1e-7)
    per_pixel = binary_images * ops.log(probabilities) + (1.0 - binary_images) * ops.log(1.0 - probabilities)
    return ops.sum(per_pixel, axis=(1, 2, 3))


def summed_over_the_batch_axis(binary_images, logits):
    per_pixel = -(binary_images * ops.softplus(-logits) + (1.0 - binary_images) * ops.softplus(logits))
    return ops.sum(per_pixel, axis=0)


def negative_log_likelihood_returned(binary_images, logits):
    per_pixel = binary_images * ops.softplus(-logits) + (1.0 - binary_images) * ops.softplus(logits)
    return ops.sum(per_pixel, axis=(1, 2, 3))


def averaged_over_pixels(binary_images, logits):
    per_pixel = -(binary_images * ops.softplus(-logits) + (1.0 - binary_images) * ops.softplus(logits))
    return ops.mean(per_pixel, axis=(1, 2, 3))


def pixel_values_swapped(binary_images, logits):
    per_pixel = -(binary_images * ops.softplus(logits) + (1.0 - binary_images) * ops.softplus(-logits))
    return ops.sum(per_pixel, axis=(1, 2, 3))


# ---------------------------------------------------------------------------------------- 3.5 importance_weighted_bound
def mean_of_log_weights(log_weights):
    return ops.mean(log_weights, axis=0)


def forgets_minus_log_k(log_weights):
    return ops.logsumexp(log_weights, axis=0)


def exp_without_log_sum_exp(log_weights):
    return np.log(np.mean(np.exp(log_weights), axis=0))


def max_not_added_back(log_weights):
    peak = np.max(log_weights, axis=0)
    return np.log(np.mean(np.exp(log_weights - peak), axis=0))


def subtracts_a_float32_log_k(log_weights):
    return ops.logsumexp(log_weights, axis=0) - ops.log(log_weights.shape[0])


def averaged_over_images(log_weights):
    k = log_weights.shape[0]
    return ops.logsumexp(log_weights, axis=1) - np.log(k)


WRONG_ANSWERS = {
    "reparameterized_sample": [
        (log_var_used_as_sigma, "log_var 本身"),
        (variance_instead_of_sigma, "方差 σ² 而不是标准差 σ"),
        (square_root_of_log_var, "开了平方根"),
        (draws_its_own_noise, "自己抽了随机数"),
        (numpy_breaks_the_gradient, "梯度传不回 log_var"),
        (forgets_the_mean, "忘了加上均值"),
    ],
    "kl_to_standard_normal": [
        (variance_where_log_variance_belongs, "结果和 log_var 无关了"),
        (log_var_taken_as_the_variance, "把它当成了方差"),
        (kl_without_the_half, "漏了前面的 1/2"),
        (kl_with_the_sign_flipped, "符号反了"),
        (kl_without_minus_one, "漏了 −1"),
        (kl_summed_over_the_batch, "对批量那一轴（第 0 轴）求了和"),
        (kl_averaged_over_dimensions, "取了平均"),
    ],
    "bernoulli_log_likelihood": [
        (sigmoid_then_log, "−inf 或 NaN"),
        (sigmoid_then_clipped_log, "截断"),
        (summed_over_the_batch_axis, "对批量那一轴（第 0 轴）求了和"),
        (negative_log_likelihood_returned, "不是负对数似然"),
        (averaged_over_pixels, "对像素取了平均"),
        (pixel_values_swapped, "对调了"),
    ],
    "importance_weighted_bound": [
        (mean_of_log_weights, "ELBO 的估计"),
        (forgets_minus_log_k, "忘了除以 k"),
        (exp_without_log_sum_exp, "下溢"),
        (max_not_added_back, "加回来"),
        (averaged_over_images, "沿第 0 轴"),
        (subtracts_a_float32_log_k, "两种精度的张量不能直接相减"),
    ],
}
