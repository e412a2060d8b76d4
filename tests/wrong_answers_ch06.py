"""Plausible wrong answers to chapter 06's implement exercises, each with the hint its check must give.

Imported by tests/test_exercises.py (not collected itself). Each function is a correct answer with one typical
mistake.
"""

import numpy as np


# ---------------------------------------------------------------------------------------- 6.1 conv_mask
def _before_centre(kernel_size):
    rows, columns = np.indices((kernel_size, kernel_size))
    centre = kernel_size // 2
    return rows, columns, centre, (rows < centre) | ((rows == centre) & (columns < centre))


def masks_a_and_b_swapped(kernel_size, mask_type):
    rows, columns, centre, before = _before_centre(kernel_size)
    at_centre = (rows == centre) & (columns == centre)
    return (before | (at_centre & (mask_type == "A"))).astype("float32")


def whole_centre_row_kept(kernel_size, mask_type):
    rows, columns, centre, before = _before_centre(kernel_size)
    mask = before | (rows == centre)
    if mask_type == "A":
        mask = mask & ~((rows == centre) & (columns == centre))
    return mask.astype("float32")


def column_order(kernel_size, mask_type):
    rows, columns = np.indices((kernel_size, kernel_size))
    order, centre = columns * kernel_size + rows, (kernel_size // 2) * (kernel_size + 1)
    return (order < centre if mask_type == "A" else order <= centre).astype("float32")


def up_and_left_only(kernel_size, mask_type):
    rows, columns = np.indices((kernel_size, kernel_size))
    centre = kernel_size // 2
    mask = (rows <= centre) & (columns <= centre)
    if mask_type == "A":
        mask = mask & ~((rows == centre) & (columns == centre))
    return mask.astype("float32")


# ---------------------------------------------------------------------------------------- 6.3 sample_raster
def _sigmoid(logits):
    return 1.0 / (1.0 + np.exp(-logits))


def one_forward_pass_for_all_pixels(logit_fn, n, height, width, rng):
    probabilities = _sigmoid(np.asarray(logit_fn(np.zeros((n, height, width)))))
    return (rng.random((n, height, width)) < probabilities).astype("float32")


def one_forward_pass_per_row(logit_fn, n, height, width, rng):
    images = np.zeros((n, height, width), dtype="float32")
    for row in range(height):
        probabilities = _sigmoid(np.asarray(logit_fn(images))[:, row])
        images[:, row] = rng.random((n, width)) < probabilities
    return images


def column_by_column(logit_fn, n, height, width, rng):
    images = np.zeros((n, height, width), dtype="float32")
    for column in range(width):
        for row in range(height):
            probabilities = _sigmoid(np.asarray(logit_fn(images))[:, row, column])
            images[:, row, column] = rng.random(n) < probabilities
    return images


def logits_used_as_probabilities(logit_fn, n, height, width, rng):
    images = np.zeros((n, height, width), dtype="float32")
    for row in range(height):
        for column in range(width):
            images[:, row, column] = rng.random(n) < np.asarray(logit_fn(images))[:, row, column]
    return images


def one_random_number_for_all_images(logit_fn, n, height, width, rng):
    images = np.zeros((n, height, width), dtype="float32")
    for row in range(height):
        for column in range(width):
            probabilities = _sigmoid(np.asarray(logit_fn(images))[:, row, column])
            images[:, row, column] = rng.random() < probabilities
    return images


def rounded_instead_of_sampled(logit_fn, n, height, width, rng):
    images = np.zeros((n, height, width), dtype="float32")
    for row in range(height):
        for column in range(width):
            images[:, row, column] = _sigmoid(np.asarray(logit_fn(images))[:, row, column]) > 0.5
    return images


def global_numpy_random(logit_fn, n, height, width, rng):
    images = np.zeros((n, height, width), dtype="float32")
    for row in range(height):
        for column in range(width):
            probabilities = _sigmoid(np.asarray(logit_fn(images))[:, row, column])
            images[:, row, column] = np.random.random(n) < probabilities
    return images


def probabilities_filled_in(logit_fn, n, height, width, rng):
    images = np.zeros((n, height, width), dtype="float32")
    for row in range(height):
        for column in range(width):
            images[:, row, column] = _sigmoid(np.asarray(logit_fn(images))[:, row, column])
    return images


# ---------------------------------------------------------------------------------------- 6.4 coupling_forward
def log_det_sums_exp_of_scale(x, mask, conditioner):
    kept = x * mask
    scale, shift = conditioner(kept)
    changed = 1.0 - mask
    y = kept + changed * (x * np.exp(scale) + shift)
    return y, np.sum((changed * np.exp(scale)).reshape(len(x), -1), axis=1)


def log_det_counts_the_kept_half(x, mask, conditioner):
    kept = x * mask
    scale, shift = conditioner(kept)
    y = kept + (1.0 - mask) * (x * np.exp(scale) + shift)
    return y, np.sum(scale.reshape(len(x), -1), axis=1)


def kept_half_also_transformed(x, mask, conditioner):
    scale, shift = conditioner(x * mask)
    return x * np.exp(scale) + shift, np.sum(scale.reshape(len(x), -1), axis=1)


def conditioner_sees_the_whole_input(x, mask, conditioner):
    scale, shift = conditioner(x)
    changed = 1.0 - mask
    y = x * mask + changed * (x * np.exp(scale) + shift)
    return y, np.sum((changed * scale).reshape(len(x), -1), axis=1)


def log_det_over_the_last_axis_only(x, mask, conditioner):
    kept = x * mask
    scale, shift = conditioner(kept)
    changed = 1.0 - mask
    y = kept + changed * (x * np.exp(scale) + shift)
    return y, np.sum(changed * scale, axis=-1)


# ---------------------------------------------------------------------------------------- 6.5 bits_per_dim_8bit
def _logit_log_det(u, alpha, with_scale=True):
    v = alpha + (1 - 2 * alpha) * u
    per_dimension = -np.log(v) - np.log1p(-v) + (np.log(1 - 2 * alpha) if with_scale else 0.0)
    return per_dimension.reshape(len(u), -1).sum(axis=1)


def forgets_the_logit_log_det(u, log_density_y, alpha=0.05):
    dimensions = np.prod(u.shape[1:])
    return (dimensions * np.log(256) - log_density_y) / (dimensions * np.log(2))


def forgets_log_one_minus_two_alpha(u, log_density_y, alpha=0.05):
    dimensions = np.prod(u.shape[1:])
    log_density_u = log_density_y + _logit_log_det(u, alpha, with_scale=False)
    return (dimensions * np.log(256) - log_density_u) / (dimensions * np.log(2))


def forgets_d_log_256(u, log_density_y, alpha=0.05):
    dimensions = np.prod(u.shape[1:])
    return -(log_density_y + _logit_log_det(u, alpha)) / (dimensions * np.log(2))


def nats_not_bits(u, log_density_y, alpha=0.05):
    dimensions = np.prod(u.shape[1:])
    return (dimensions * np.log(256) - log_density_y - _logit_log_det(u, alpha)) / dimensions


def dimensions_hard_coded(u, log_density_y, alpha=0.05):
    return (784 * np.log(256) - log_density_y - _logit_log_det(u, alpha)) / (784 * np.log(2))


def alpha_hard_coded(u, log_density_y, alpha=0.05):
    dimensions = np.prod(u.shape[1:])
    return (dimensions * np.log(256) - log_density_y - _logit_log_det(u, 0.05)) / (dimensions * np.log(2))


def averaged_over_images(u, log_density_y, alpha=0.05):
    dimensions = np.prod(u.shape[1:])
    return np.mean(dimensions * np.log(256) - log_density_y - _logit_log_det(u, alpha)) / (dimensions * np.log(2))


WRONG_ANSWERS = {
    "conv_mask": [
        (masks_a_and_b_swapped, "掩码 A 和 B 弄反了"),
        (whole_centre_row_kept, "中心右边的位置也是 1"),
        (column_order, "按“列”排的顺序"),
        (up_and_left_only, "右上方的位置被遮住了"),
    ],
    "sample_raster": [
        (one_forward_pass_for_all_pixels, "只做了一次前向"),
        (one_forward_pass_per_row, "每行只算了一次 logit"),
        (column_by_column, "按列的顺序"),
        (logits_used_as_probabilities, "把 logit 直接当成了概率"),
        (one_random_number_for_all_images, "所有图像共用"),
        (rounded_instead_of_sampled, "四舍五入"),
        (global_numpy_random, "不要用 np.random 的全局函数"),
        (probabilities_filled_in, "把概率 σ(ℓ) 本身填进了图像"),
    ],
    "coupling_forward": [
        (log_det_sums_exp_of_scale, "对角元 e^s 本身加了起来"),
        (log_det_counts_the_kept_half, "原样保留）的位置上的 s 也加进去了"),
        (kept_half_also_transformed, "mask = 1 的位置也被缩放、平移了"),
        (conditioner_sees_the_whole_input, "用整个 x 算的"),
        (log_det_over_the_last_axis_only, "只对最后一个轴求了和"),
    ],
    "bits_per_dim_8bit": [
        (forgets_the_logit_log_det, "少算了 logit 变换这一步的 log|det|"),
        (forgets_log_one_minus_two_alpha, "少了一项"),
        (forgets_d_log_256, "漏了 D·log 256"),
        (nats_not_bits, "nats/维"),
        (dimensions_hard_coded, "写死成了 784"),
        (alpha_hard_coded, "不要写死 0.05"),
        (averaged_over_images, "不要对图像取平均"),
    ],
}
