"""Plausible wrong answers to chapter 02's implement exercises, each with (a substring of) the hint it must get.

Each function is otherwise correct and makes one mistake learners make. Used by tests/test_exercises.py.
"""

import keras
import numpy as np
from keras import ops


# ----------------------------------------------------------------------------------------------- 2.1
def d_loss_logits_as_probabilities(real_logits, fake_logits, real_label=1.0):
    real = real_label * ops.log(real_logits) + (1 - real_label) * ops.log(1 - real_logits)
    return -ops.mean(real) - ops.mean(ops.log(1 - fake_logits))


def d_loss_keras_bce_without_from_logits(real_logits, fake_logits, real_label=1.0):
    real = keras.losses.binary_crossentropy(real_label * ops.ones_like(real_logits), real_logits)
    fake = keras.losses.binary_crossentropy(ops.zeros_like(fake_logits), fake_logits)
    return ops.mean(real) + ops.mean(fake)


def d_loss_labels_swapped(real_logits, fake_logits, real_label=1.0):
    real = real_label * ops.softplus(real_logits) + (1 - real_label) * ops.softplus(-real_logits)
    return ops.mean(real) + ops.mean(ops.softplus(-fake_logits))


def d_loss_fake_term_missing(real_logits, fake_logits, real_label=1.0):
    return ops.mean(real_label * ops.softplus(-real_logits) + (1 - real_label) * ops.softplus(real_logits))


def d_loss_one_mean_over_both_batches(real_logits, fake_logits, real_label=1.0):
    real = real_label * ops.softplus(-real_logits) + (1 - real_label) * ops.softplus(real_logits)
    return ops.mean(ops.concatenate([real, ops.softplus(fake_logits)], axis=0))


def d_loss_sigmoid_then_log(real_logits, fake_logits, real_label=1.0):
    d_real, d_fake = ops.sigmoid(real_logits), ops.sigmoid(fake_logits)
    real = real_label * ops.log(d_real) + (1 - real_label) * ops.log(1 - d_real)
    return -ops.mean(real) - ops.mean(ops.log(1 - d_fake))


def d_loss_sigmoid_then_log_with_epsilon(real_logits, fake_logits, real_label=1.0):
    epsilon = 1e-7
    d_real, d_fake = ops.sigmoid(real_logits), ops.sigmoid(fake_logits)
    real = real_label * ops.log(d_real + epsilon) + (1 - real_label) * ops.log(1 - d_real + epsilon)
    return -ops.mean(real) - ops.mean(ops.log(1 - d_fake + epsilon))


def d_loss_real_label_ignored(real_logits, fake_logits, real_label=1.0):
    return ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def d_loss_smoothing_both_sides(real_logits, fake_logits, real_label=1.0):
    real = real_label * ops.softplus(-real_logits) + (1 - real_label) * ops.softplus(real_logits)
    fake_label = 1 - real_label
    fake = fake_label * ops.softplus(-fake_logits) + (1 - fake_label) * ops.softplus(fake_logits)
    return ops.mean(real) + ops.mean(fake)


def d_loss_smoothing_one_term_only(real_logits, fake_logits, real_label=1.0):
    return ops.mean(real_label * ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))


def d_loss_keras_label_smoothing(real_logits, fake_logits, real_label=1.0):
    bce = keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=1 - real_label)
    return bce(ops.ones_like(real_logits), real_logits) + \
        keras.losses.BinaryCrossentropy(from_logits=True)(ops.zeros_like(fake_logits), fake_logits)


# ----------------------------------------------------------------------------------------------- 2.2
def g_loss_minimax(fake_logits):
    return ops.mean(ops.log(1 - ops.sigmoid(fake_logits)))


def g_loss_fake_target_zero(fake_logits):
    return ops.mean(keras.losses.binary_crossentropy(ops.zeros_like(fake_logits), fake_logits, from_logits=True))


def g_loss_minimise_log_d(fake_logits):      # article 003: min E[log D(G(z))]
    return ops.mean(-ops.softplus(-fake_logits))


def g_loss_logits_as_probabilities(fake_logits):
    return -ops.mean(ops.log(fake_logits))


def g_loss_summed(fake_logits):
    return ops.sum(ops.softplus(-fake_logits))


# ----------------------------------------------------------------------------------------------- 2.5
def _angle(z0, z1):
    return np.arccos(np.clip(np.dot(z0 / np.linalg.norm(z0), z1 / np.linalg.norm(z1)), -1, 1))


def slerp_linear(z0, z1, t):
    t = np.asarray(t)[:, None]
    return (1 - t) * z0 + t * z1


def slerp_angle_not_normalised(z0, z1, t):
    t = np.asarray(t)[:, None]
    omega = np.arccos(np.clip(np.dot(z0, z1), -1, 1))
    if np.sin(omega) < 1e-6:
        return (1 - t) * z0 + t * z1
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def slerp_as_in_the_chapter(z0, z1, t):   # no fallback when the vectors point the same way
    t = np.asarray(t)[:, None]
    omega = _angle(z0, z1)
    with np.errstate(invalid="ignore", divide="ignore"):   # (only to keep the test log quiet)
        return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def slerp_coefficients_swapped(z0, z1, t):
    t = np.asarray(t)[:, None]
    omega = _angle(z0, z1)
    if np.sin(omega) < 1e-6:
        return (1 - t) * z0 + t * z1
    return (np.sin(t * omega) * z0 + np.sin((1 - t) * omega) * z1) / np.sin(omega)


def slerp_not_divided(z0, z1, t):
    t = np.asarray(t)[:, None]
    omega = _angle(z0, z1)
    if np.sin(omega) < 1e-6:
        return (1 - t) * z0 + t * z1
    return np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1


def slerp_of_unit_vectors(z0, z1, t):
    z0, z1 = z0 / np.linalg.norm(z0), z1 / np.linalg.norm(z1)
    t = np.asarray(t)[:, None]
    omega = _angle(z0, z1)
    if np.sin(omega) < 1e-6:
        return (1 - t) * z0 + t * z1
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def g_loss_sigmoid_then_log(fake_logits):
    """-mean(log sigmoid(l)) computed naively: fine at -40 in float32, inf once sigmoid underflows to 0."""
    probabilities = keras.ops.sigmoid(keras.ops.convert_to_tensor(fake_logits, "float32"))
    return -keras.ops.mean(keras.ops.log(probabilities))


WRONG_ANSWERS = {
    "discriminator_loss_from_logits": [
        (d_loss_logits_as_probabilities, "你把 logit 当成了概率"),
        (d_loss_keras_bce_without_from_logits, "你把 logit 当成了概率"),
        (d_loss_labels_swapped, "真实和生成的目标弄反了"),
        (d_loss_fake_term_missing, "生成样本的那一项"),
        (d_loss_one_mean_over_both_batches, "两批拼在一起求了一个平均"),
        (d_loss_sigmoid_then_log, "先算 σ(ℓ) 再取 log 会溢出"),
        (d_loss_sigmoid_then_log_with_epsilon, "大损失就被压小了"),
        (d_loss_real_label_ignored, "参数 real_label 用上了吗"),
        (d_loss_smoothing_both_sides, "单边标签平滑只软化真实样本的目标"),
        (d_loss_smoothing_one_term_only, "你只写了第一项"),
        (d_loss_keras_label_smoothing, "真实样本的目标成了 0.95"),
    ],
    "generator_loss_non_saturating": [
        (g_loss_minimax, "博弈式"),
        (g_loss_fake_target_zero, "你给生成样本的目标是 0"),
        (g_loss_minimise_log_d, "符号反了"),
        (g_loss_logits_as_probabilities, "你把 logit 当成了概率"),
        (g_loss_summed, "求的是和而不是平均"),
        (g_loss_sigmoid_then_log, "先算 σ(ℓ) 再取 log 会溢出"),
    ],
    "slerp": [
        (slerp_linear, "这是线性插值"),
        (slerp_angle_not_normalised, "归一化之后的点积"),
        (slerp_as_in_the_chapter, "同方向"),
        (slerp_coefficients_swapped, "两个系数是不是对调了"),
        (slerp_not_divided, "方向对了，长度不对"),
        (slerp_of_unit_vectors, "单位球面"),
    ],
}
