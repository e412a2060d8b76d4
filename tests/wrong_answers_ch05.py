"""Plausible wrong answers to chapter 05's implement exercises, each with the hint its check must give.

Imported by tests/test_exercises.py (not collected itself). Each function is a correct answer with one typical
mistake.
"""

import math

import numpy as np
from keras import ops


# ---------------------------------------------------------------------------------------- 5.1 add_noise
def single_step_alpha(x0, t, noise, betas):
    alphas = 1.0 - betas
    a = alphas[t].reshape(-1, 1, 1, 1)
    return np.sqrt(a) * x0 + np.sqrt(1 - a) * noise


def square_roots_missing(x0, t, noise, betas):
    abar = np.cumprod(1.0 - betas)[t].reshape(-1, 1, 1, 1)
    return abar * x0 + (1 - abar) * noise


def variance_on_the_noise(x0, t, noise, betas):
    abar = np.cumprod(1.0 - betas)[t].reshape(-1, 1, 1, 1)
    return np.sqrt(abar) * x0 + (1 - abar) * noise


def zero_based_index(x0, t, noise, betas):
    abar = np.cumprod(1.0 - betas)[t - 1].reshape(-1, 1, 1, 1)
    return np.sqrt(abar) * x0 + np.sqrt(1 - abar) * noise


def cumprod_without_beta_zero(x0, t, noise, betas):
    abar = np.cumprod(1.0 - betas[1:])[t].reshape(-1, 1, 1, 1)   # ᾱ_{t+1}; t = T is out of range
    return np.sqrt(abar) * x0 + np.sqrt(1 - abar) * noise


def no_reshape(x0, t, noise, betas):
    abar = np.cumprod(1.0 - betas)[t]
    return np.sqrt(abar) * x0 + np.sqrt(1 - abar) * noise


def coefficients_swapped(x0, t, noise, betas):
    abar = ops.reshape(ops.take(ops.cumprod(1.0 - betas), t), (-1, 1, 1, 1))
    return ops.sqrt(1 - abar) * x0 + ops.sqrt(abar) * noise


def own_linear_betas(x0, t, noise, betas):
    own = np.concatenate([[0.0], np.linspace(1e-4, 0.02, 1000)])     # ignores the schedule passed in
    abar = np.cumprod(1.0 - own)[t].reshape(-1, 1, 1, 1)
    return np.sqrt(abar) * x0 + np.sqrt(1 - abar) * noise


# ---------------------------------------------------------------------------------------- 5.2 cosine_alpha_bars
def not_normalised(steps, offset=0.008):
    t = np.arange(steps + 1)
    return np.cos((t / steps + offset) / (1 + offset) * np.pi / 2) ** 2


def offset_forgotten(steps, offset=0.008):
    t = np.arange(steps + 1)
    f = np.cos(t / steps * np.pi / 2) ** 2
    return f / f[0]


def offset_not_divided(steps, offset=0.008):
    t = np.arange(steps + 1)
    f = np.cos((t / steps + offset) * np.pi / 2) ** 2
    return f / f[0]


def cosine_not_squared(steps, offset=0.008):
    t = np.arange(steps + 1)
    f = np.cos((t / steps + offset) / (1 + offset) * np.pi / 2)
    return f / f[0]


def without_t_zero(steps, offset=0.008):
    t = np.arange(1, steps + 1)
    f0 = np.cos(offset / (1 + offset) * np.pi / 2) ** 2
    return np.cos((t / steps + offset) / (1 + offset) * np.pi / 2) ** 2 / f0


def offset_hard_coded(steps, offset=0.008):
    t = np.arange(steps + 1)
    f = np.cos((t / steps + 0.008) / 1.008 * np.pi / 2) ** 2
    return f / f[0]


# ---------------------------------------------------------------------------------------- 5.4 ddim_step
def x0_not_divided(x_t, eps, abar_t, abar_prev):
    x0 = x_t - math.sqrt(1 - abar_t) * eps
    return math.sqrt(abar_prev) * x0 + math.sqrt(1 - abar_prev) * eps


def x0_divided_by_abar(x_t, eps, abar_t, abar_prev):
    x0 = (x_t - math.sqrt(1 - abar_t) * eps) / abar_t
    return math.sqrt(abar_prev) * x0 + math.sqrt(1 - abar_prev) * eps


def direction_at_the_current_level(x_t, eps, abar_t, abar_prev):
    x0 = (x_t - math.sqrt(1 - abar_t) * eps) / math.sqrt(abar_t)
    return math.sqrt(abar_prev) * x0 + math.sqrt(1 - abar_t) * eps


def direction_without_square_root(x_t, eps, abar_t, abar_prev):
    x0 = (x_t - ops.sqrt(1 - abar_t) * eps) / ops.sqrt(abar_t)
    return ops.sqrt(abar_prev) * x0 + (1 - abar_prev) * eps


def abar_t_and_prev_swapped(x_t, eps, abar_t, abar_prev):
    x0 = (x_t - math.sqrt(1 - abar_prev) * eps) / math.sqrt(abar_prev)
    return math.sqrt(abar_t) * x0 + math.sqrt(1 - abar_t) * eps


def ddpm_mean_with_alpha(x_t, eps, abar_t, abar_prev):
    alpha = abar_t / abar_prev
    return (x_t - (1 - alpha) / math.sqrt(1 - abar_t) * eps) / math.sqrt(alpha)


def returns_the_x0_estimate(x_t, eps, abar_t, abar_prev):
    return (x_t - math.sqrt(1 - abar_t) * eps) / math.sqrt(abar_t)


def clips_the_x0_estimate(x_t, eps, abar_t, abar_prev):
    x0 = np.clip((x_t - math.sqrt(1 - abar_t) * eps) / math.sqrt(abar_t), -1, 1)
    return math.sqrt(abar_prev) * x0 + math.sqrt(1 - abar_prev) * eps


# ---------------------------------------------------------------------------------------- 5.5 guided_noise
def w_instead_of_one_plus_w(eps_label, eps_none, w):
    return eps_none + w * (eps_label - eps_none)


def guidance_sign_swapped(eps_label, eps_none, w):
    return eps_label + (1 + w) * (eps_none - eps_label)


def expanded_with_a_plus(eps_label, eps_none, w):
    return (1 + w) * eps_label + w * eps_none


def difference_only(eps_label, eps_none, w):
    return (1 + w) * (eps_label - eps_none)


def interpolates(eps_label, eps_none, w):
    return eps_none + w / (1 + w) * (eps_label - eps_none)


WRONG_ANSWERS = {
    "add_noise": [
        (single_step_alpha, "单步的 α_t"),
        (square_roots_missing, "两个系数都少了平方根"),
        (variance_on_the_noise, "ε 前面的系数少了平方根"),
        (zero_based_index, "用的是 ᾱ_{t−1}"),
        (cumprod_without_beta_zero, "用的是 ᾱ_{t+1}"),
        (no_reshape, "对齐到了最后一个轴"),
        (coefficients_swapped, "两个系数对调了"),
        (own_linear_betas, "没用传进来的 betas"),
    ],
    "cosine_alpha_bars": [
        (not_normalised, "少了归一化"),
        (offset_forgotten, "偏移 s 是不是没用上"),
        (offset_not_divided, "忘了除以 1 + s"),
        (cosine_not_squared, "没有平方"),
        (without_t_zero, "少了 t = 0"),
        (offset_hard_coded, "参数 offset 是不是没用上"),
    ],
    "ddim_step": [
        (x0_not_divided, "忘了除以 √ᾱ_t"),
        (x0_divided_by_abar, "除以的是 ᾱ_t 本身还是它的平方根"),
        (direction_at_the_current_level, "当前时刻的噪声水平"),
        (direction_without_square_root, "指向噪声的那一项，系数少了平方根"),
        (abar_t_and_prev_swapped, "用反了"),
        (ddpm_mean_with_alpha, "DDPM 的后验均值"),
        (returns_the_x0_estimate, "返回的像是 x̂_0"),
        (clips_the_x0_estimate, "裁剪"),
    ],
    "guided_noise": [
        (w_instead_of_one_plus_w, "外推倍数像是 w 而不是 1 + w"),
        (guidance_sign_swapped, "方向反了"),
        (expanded_with_a_plus, "ε_∅ 前面的符号错了"),
        (difference_only, "少了出发点"),
        (interpolates, "内插"),
    ],
}
