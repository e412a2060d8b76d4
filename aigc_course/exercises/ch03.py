"""Chapter 03 (VAE) exercises: reparameterisation, the KL term, the Bernoulli likelihood, the importance-weighted
bound, two predictions (an untrained VAE's -ELBO, a blank image's -ELBO) and a held-out -ELBO goal within a
training-step budget.

Conventions are the package's (:mod:`aigc_course.models.vae`): ``log_var`` is log sigma^2, the prior is
N(0, I), likelihoods are in nats per image, log-weights have shape (k, N).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from aigc_course.exercises import Exercise
from aigc_course.exercises.checking import Check, CheckFailed, check_prediction, first_match, same_values
from aigc_course.runtime import by_mode, is_quick

EXERCISES = (
    Exercise("3.1", "重参数化采样", 1, "implement", "check_reparameterization", function="reparameterized_sample"),
    Exercise("3.2", "KL 项的闭式解", 2, "implement", "check_kl_to_standard_normal",
             function="kl_to_standard_normal"),
    Exercise("3.3", "数值稳定的伯努利对数似然", 2, "implement", "check_bernoulli_log_likelihood",
             function="bernoulli_log_likelihood"),
    Exercise("3.4", "没训练的 VAE 的负 ELBO", 1, "predict", "check_untrained_elbo"),
    Exercise("3.5", "重要性加权估计", 2, "implement", "check_importance_weighted_bound",
             function="importance_weighted_bound"),
    Exercise("3.6", "全黑图像的负 ELBO", 1, "predict", "check_blank_image"),
    Exercise("3.7", "在步数预算内压低留出集负 ELBO", 3, "experiment", "check_heldout_elbo"),
)

PIXELS = 28 * 28
BLANK_CHOICES = ("更高", "差不多", "更低")

# Exercise 3.7: the training budget (optimizer steps, batches of 128) and the goal on the 2,000 held-out images
# (normal, quick), as by_mode takes them. Measured with seed 0: the chapter's settings (peak learning rate 1e-3,
# latent 16, width 32) reach 129.4 / 510.2; a peak learning rate of 3e-3 reaches 123.5 / 344.2.
TRAIN_STEPS = (600, 8)
ELBO_GOAL = (125.0, 450.0)
BASELINE_ELBO = (129.4, 510.2)


def _values(check: Check, value, name: str = "返回值") -> np.ndarray:
    """``value`` as float64, NaN and infinities kept (the caller says what they mean); else the usual failure."""
    try:
        return np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
    except (TypeError, ValueError):
        return check.array(value, name)  # fails with "应该是数组"


def _first_difference(actual: np.ndarray, expected: np.ndarray) -> tuple:
    """The index where ``actual`` is furthest from ``expected``."""
    return np.unravel_index(np.argmax(np.abs(actual - expected)), expected.shape)


def _fail_on_known_mistake(check, actual, wrong: dict, rtol: float = 1e-4, atol: float = 1e-4) -> None:
    """Fail with the hint of the first typical mistake in ``wrong`` ({name: (what it returns, hint)}) that
    ``actual`` equals."""
    hint = first_match(actual, wrong.values(),
                       same=functools.partial(same_values, rtol=rtol, atol=atol, finite_only=True))
    if hint is not None:
        check.fail(hint)


def _require_shape(check: Check, actual: np.ndarray, expected_shape: tuple, hints: dict) -> None:
    """Fail when the shape is wrong, with the hint for that wrong shape if there is one."""
    if actual.shape != expected_shape:
        hint = hints.get(actual.shape)
        check.fail(hint or f"返回值的形状应该是 {expected_shape}，你的是 {actual.shape}。")


# ------------------------------------------------------------------------------------ 3.1 reparameterisation
def check_reparameterization(function) -> None:
    """Exercise 3.1: ``function(mean, log_var, eps)`` -> z = mean + sigma * eps, written with ``keras.ops``."""
    import tensorflow as tf

    with Check("练习 3.1", "重参数化采样") as check:
        rng = np.random.default_rng(31)
        mean = rng.normal(0.0, 1.0, (3, 4)).astype("float32")
        log_var = rng.uniform(-2.5, 2.5, (3, 4)).astype("float32")
        log_var[0, :2] = (-1.5, 1.2)                     # both signs, whatever the draw
        eps = rng.standard_normal((3, 4)).astype("float32")
        m, v, e = (array.astype("float64") for array in (mean, log_var, eps))
        expected = m + np.exp(0.5 * v) * e

        with np.errstate(all="ignore"):
            first = _values(check, check.call(function, mean, log_var, eps))
        if first.shape == expected.shape and np.isnan(first).any():
            negative = log_var < 0
            if np.isnan(first[negative]).any() and not np.isnan(first[~negative]).any():
                check.fail("log_var 为负的位置得到了 NaN：是不是对 log_var 开了平方根（或取了对数）？log_var 是 "
                           "log σ²，可以是任意实数；想想 σ 和 log σ² 的关系。")
        first = check.array(first, "z", shape=expected.shape)
        second = check.array(check.call(function, mean, log_var, eps), "z")
        check.require(np.array_equal(first, second),
                      "同样的 mean、log_var、eps 调用两次，得到的 z 不一样：你的函数自己抽了随机数？"
                      "随机性全部在传进来的 eps 里，函数里不要再抽。")
        at_zero = check.array(check.call(function, mean, log_var, np.zeros_like(eps)), "z", shape=expected.shape)
        if not np.allclose(at_zero, m, atol=1e-5):
            if np.allclose(at_zero, 0.0, atol=1e-5):
                check.fail("eps 全为 0 时 z 应该等于 mean，你的 z 全是 0：是不是忘了加上均值 μ？")
            check.fail("eps 全为 0 时 z 应该正好等于 mean，你的不是：你的函数用到传进来的 eps 了吗？"
                       "（不要自己再抽随机数，也不要漏乘 eps。）")
        check.checked("eps=0 时 z 等于 mean，同样的输入给出同样的 z")

        wrong = {
            "log_var_as_sigma": (m + v * e, "ε 乘上的是 log_var 本身吗？log_var 是 log σ²（对数方差），不是标准差 σ："
                                             "想想怎样从 log σ² 得到 σ。"),
            "variance": (m + np.exp(v) * e, "ε 乘上的像是方差 σ² 而不是标准差 σ：z = μ + σ·ε 里要的是 σ。"),
            "inverse": (m + np.exp(-0.5 * v) * e, "ε 乘上的像是 1/σ：检查指数里的符号。"),
            "log_sigma": (m + 0.5 * v * e, "ε 乘上的像是 log σ（= log_var / 2）：还差一步才是 σ。"),
            "sigma_squared_twice": (m + np.exp(2 * v) * e, "ε 乘上的像是 σ⁴：检查指数里的系数。"),
        }
        _fail_on_known_mistake(check, first, wrong, rtol=1e-4, atol=1e-5)
        if not np.allclose(first, expected, rtol=1e-4, atol=1e-5):
            i, j = _first_difference(first, expected)
            check.fail(f"位置 ({i}, {j})：mean={mean[i, j]:.3f}、log_var={log_var[i, j]:.3f}、eps={eps[i, j]:.3f} "
                       f"时 z 应为 {expected[i, j]:.4f}，你的是 {first[i, j]:.4f}。")
        check.checked("3×4 个位置的 z（log_var 有正有负）")

        mean_t, log_var_t, eps_t = (tf.constant(array) for array in (mean, log_var, eps))
        with tf.GradientTape() as tape:
            tape.watch([mean_t, log_var_t])
            z = check.call(function, mean_t, log_var_t, eps_t)
            total = tf.reduce_sum(tf.cast(z, tf.float32)) if tf.is_tensor(z) else None
        gradients = tape.gradient(total, [mean_t, log_var_t]) if total is not None else [None, None]
        broken = [name for name, gradient in zip(("mean", "log_var"), gradients) if gradient is None]
        if broken:
            check.fail(f"梯度传不回 {'、'.join(broken)}（求导得到 None）：是不是用了 NumPy 的函数（np.exp 之类）或把张量转成了"
                       "数组？NumPy 会切断梯度，重参数化就白做了；换成 keras.ops 里对应的函数。")
        check.close(gradients[0], np.ones_like(m), "z 对 mean 的梯度应该处处是 1。", rtol=1e-4, atol=1e-5)
        check.close(gradients[1], 0.5 * np.exp(0.5 * v) * e, "z 对 log_var 的梯度不对：应为 σ·ε/2。",
                    rtol=1e-4, atol=1e-5)
        check.checked("梯度能传回 mean 和 log_var（∂z/∂μ = 1，∂z/∂log σ² = σε/2）")


# ------------------------------------------------------------------------------------ 3.2 KL to the prior
def check_kl_to_standard_normal(function) -> None:
    """Exercise 3.2: ``function(mean, log_var)`` -> KL(N(mean, e^log_var) || N(0, I)) per row, shape (batch,)."""
    with Check("练习 3.2", "KL 项的闭式解") as check:
        rng = np.random.default_rng(32)
        mean = rng.normal(0.0, 1.0, (3, 5)).astype("float32")
        log_var = rng.uniform(-2.0, 2.0, (3, 5)).astype("float32")
        log_var[:, 0] = (-1.0, 0.8, -0.4)               # every row has a negative log_var somewhere
        m, v = mean.astype("float64"), log_var.astype("float64")
        d = m.shape[-1]
        expected = 0.5 * np.sum(m ** 2 + np.exp(v) - v - 1.0, axis=-1)

        with np.errstate(all="ignore"):
            actual = _values(check, check.call(function, mean, log_var))
        if actual.shape == expected.shape and np.isnan(actual).any():
            check.fail("有 NaN：log_var 是 log σ²，可以是负数；是不是又对 log_var 取了对数（把它当成了方差 σ² 本身）？")
        _require_shape(check, actual, expected.shape, {
            (): "返回的是一个数：要的是每行（每张图像）一个 KL，形状 (批量大小,)；只对最后一个轴（潜变量的各维）求和。",
            (1,): "返回的是一个数：要的是每行（每张图像）一个 KL，形状 (批量大小,)；只对最后一个轴（潜变量的各维）求和。",
            (d,): f"形状是 ({d},)：你对批量那一轴（第 0 轴）求了和；应该对最后一个轴（潜变量的各维）求和。",
            m.shape: f"形状是 {m.shape}：还没有对潜变量的各维求和（KL 对各维独立，总 KL 是各维之和）。",
        })
        actual = check.array(actual, "KL", shape=expected.shape)
        wrong = {
            "no_half": (2 * expected, "是正确值的 2 倍：是不是漏了前面的 1/2？"),
            "negated": (-expected, "符号反了：KL 散度总是 ≥ 0。"),
            "negated_no_half": (-2 * expected, "符号反了（KL 总是 ≥ 0），而且是正确值的 2 倍（漏了 1/2？）。"),
            "no_log_var": (0.5 * np.sum(m ** 2 - 1.0, axis=-1),
                           "结果和 log_var 无关了：σ² 和 log σ² 那两项是不是写成了同一个量，互相抵消了？"
                           "一项是方差 σ²，另一项是对数方差 log σ²（就是 log_var 本身）。"),
            "sigma": (0.5 * np.sum(m ** 2 + np.exp(0.5 * v) - v - 1.0, axis=-1),
                      "方差那一项用成了标准差 σ？公式里要的是 σ²。"),
            "log_sigma": (0.5 * np.sum(m ** 2 + np.exp(v) - 0.5 * v - 1.0, axis=-1),
                          "对数那一项用成了 log σ？公式里是 log σ²，也就是 log_var 本身。"),
            "log_var_sign": (0.5 * np.sum(m ** 2 + np.exp(v) + v - 1.0, axis=-1), "log σ² 那一项的符号反了。"),
            "no_minus_one": (expected + d / 2,
                             "每行都比正确值大 d/2（d 是潜变量维数）：是不是漏了 −1 这一项？"
                             "（μ=0、σ=1 时 q 就是先验，KL 应该正好是 0。）"),
            "mean_over_dims": (expected / d, f"是正确值的 1/{d}：对潜变量各维取了平均？KL 应该是各维之和。"),
            "mean_not_squared": (0.5 * np.sum(m + np.exp(v) - v - 1.0, axis=-1), "均值那一项是不是忘了平方？"),
        }
        _fail_on_known_mistake(check, actual, wrong)
        if not np.allclose(actual, expected, rtol=1e-4, atol=1e-4):
            row = int(np.argmax(np.abs(actual - expected)))
            check.fail(f"第 {row} 行（mean={np.round(mean[row], 2).tolist()}，log_var={np.round(log_var[row], 2).tolist()}）"
                       f"的 KL 应为 {expected[row]:.4f}，你的是 {actual[row]:.4f}。")
        check.checked("3 行 5 维的 KL（log_var 有正有负）")

        at_prior = check.array(check.call(function, np.zeros((2, 16), "float32"), np.zeros((2, 16), "float32")),
                               "KL", shape=(2,))
        check.close(at_prior, np.zeros(2), f"μ=0、log σ²=0 时 q 就是先验 N(0, I)，KL 应为 0，你的是 {at_prior.round(4)}。",
                    atol=1e-5)
        check.checked("q 等于先验时 KL = 0（16 维）")


# ------------------------------------------------------------------------------------ 3.3 Bernoulli log-likelihood
def _bernoulli_log_likelihood(x: np.ndarray, logits: np.ndarray) -> np.ndarray:
    """The reference in float64: sum over pixels of x log s(l) + (1 - x) log(1 - s(l)), from the logits."""
    x, logits = x.astype("float64"), logits.astype("float64")
    per_pixel = -(x * np.logaddexp(0.0, -logits) + (1.0 - x) * np.logaddexp(0.0, logits))
    return per_pixel.reshape(len(x), -1).sum(axis=-1)


def check_bernoulli_log_likelihood(function) -> None:
    """Exercise 3.3: ``function(binary_images, logits)`` -> log p(x | logits) per image (summed over pixels),
    finite even for logits of +-100."""
    with Check("练习 3.3", "数值稳定的伯努利对数似然") as check:
        rng = np.random.default_rng(33)
        x = (rng.random((3, 28, 28, 1)) < 0.3).astype("float32")
        logits = rng.normal(0.0, 3.0, x.shape).astype("float32")
        expected = _bernoulli_log_likelihood(x, logits)

        with np.errstate(all="ignore"):
            actual = _values(check, check.call(function, x, logits))
        _require_shape(check, actual, expected.shape, {
            (): "返回的是一个数：要的是每张图像一个对数似然，形状 (批量大小,)；批量那一轴不要加起来。",
            (1,): "返回的是一个数：要的是每张图像一个对数似然，形状 (批量大小,)；批量那一轴不要加起来。",
            (28, 28, 1): "形状是 (28, 28, 1)：你对批量那一轴（第 0 轴）求了和；应该对每张图像的所有像素求和。",
            x.shape: "形状和图像一样：还没有对像素求和（每张图像一个数，单位 nats/图像）。",
            (3, 28, 28): "形状是 (3, 28, 28)：只对最后一个轴求了和；要对每张图像的全部像素（第 0 轴以外的所有轴）求和。",
            (3, 28, 1): "形状是 (3, 28, 1)：只对一个轴求了和；要对每张图像的全部像素（第 0 轴以外的所有轴）求和。",
        })
        if np.isnan(actual).any():
            check.fail("logit 取中等大小的值（正负都有）时就出现了 NaN：logit 是任意实数，不是概率；"
                       "是不是直接对 logit 取了对数？先想清楚 p(x=1) 和 logit 的关系。")
        actual = check.array(actual, "对数似然", shape=expected.shape)
        swapped = _bernoulli_log_likelihood(1.0 - x, logits)
        wrong = {
            "negated": (-expected, "符号反了：要的是对数似然 log p(x|z)（≤ 0），不是负对数似然（损失）。"),
            "swapped": (swapped, "x=1 和 x=0 两种像素用的概率对调了：x=1 的像素要用 p(x=1) = σ(ℓ)。"),
            "negated_swapped": (-swapped, "符号反了（要的是 ≤ 0 的对数似然），而且 x=1 和 x=0 两种像素用的概率也对调了。"),
            "mean_over_pixels": (expected / PIXELS, "是正确值的 1/784：对像素取了平均？对数似然是所有像素之和（nats/图像）。"),
            "ones_only": (np.sum((x * -np.logaddexp(0.0, -logits.astype("float64"))).reshape(3, -1), axis=-1),
                          "只算了 x=1 的像素那一项？x=0 的像素也有概率 1 − σ(ℓ)。"),
        }
        _fail_on_known_mistake(check, actual, wrong, rtol=1e-4, atol=1e-2)
        if not np.allclose(actual, expected, rtol=1e-4, atol=1e-2):
            image = int(np.argmax(np.abs(actual - expected)))
            check.fail(f"logit ~ N(0, 3²) 时第 {image} 张图像的对数似然应为 {expected[image]:.3f}，你的是 {actual[image]:.3f}。")
        check.checked("3 张 28×28 图像、中等大小的 logit")

        big_x = (rng.random((2, 28, 28, 1)) < 0.5).astype("float32")
        big_logits = (rng.choice([-100.0, -30.0, 30.0, 100.0], big_x.shape)).astype("float32")
        big_expected = _bernoulli_log_likelihood(big_x, big_logits)
        with np.errstate(all="ignore"):
            big = _values(check, check.call(function, big_x, big_logits))
        if big.shape != big_expected.shape:
            check.array(big, "对数似然", shape=big_expected.shape)
        if not np.all(np.isfinite(big)):
            check.fail("logit 很大（±30、±100）时结果成了 −inf 或 NaN：先算 sigmoid 再取 log，float32 里 σ(30) 已经舍入成 1，"
                       "于是 log(1 − σ) = log 0。能不能不经过概率、直接从 logit 算每个像素的对数概率？")
        if not np.allclose(big, big_expected, rtol=1e-4, atol=1e-2):
            image = int(np.argmax(np.abs(big - big_expected)))
            hint = (f"logit 很大（±30、±100）时结果不准：第 {image} 张图像应为 {big_expected[image]:.1f}，你的是 {big[image]:.1f}。")
            if big[image] > big_expected[image]:
                hint += "是不是给概率加了截断（clip）或一个小 ε 来避开 log 0？那会把一个猜错的像素本该付出的 30、100 nats 截短。"
            check.fail(hint)
        check.checked("logit 为 ±30、±100 时结果有限且准确")


# ------------------------------------------------------------------------------------ 3.5 importance weighting
def _log_mean_exp(log_weights: np.ndarray) -> np.ndarray:
    peak = log_weights.max(axis=0)
    return peak + np.log(np.mean(np.exp(log_weights - peak), axis=0))


def check_importance_weighted_bound(function) -> None:
    """Exercise 3.5: ``function(log_weights)`` with log_weights of shape (k, N) -> log (1/k sum_i w_i) per image,
    shape (N,), without underflow."""
    with Check("练习 3.5", "重要性加权估计") as check:
        rng = np.random.default_rng(35)
        k, n = 6, 4
        log_weights = rng.normal(-100.0, 4.0, (k, n))
        expected = _log_mean_exp(log_weights)

        with np.errstate(all="ignore"):
            try:
                actual = _values(check, check.call(function, log_weights))
            except CheckFailed as failure:
                if "double tensor" in failure.hint:  # TF: a float64 tensor minus a float32 one
                    check.fail("运行出错：两种精度的张量不能直接相减。log_weights 是 float64（双精度），而 keras.ops 把单独的 "
                               "Python 数（比如 ops.log(k) 里的 k）变成 float32：让减去的那个数也是 float64（例如用 NumPy "
                               "算它），或者统一转换 dtype。")
                raise
        _require_shape(check, actual, (n,), {
            (): f"返回的是一个数：要的是每张图像一个估计，形状 (N,) = ({n},)；不要把图像也加起来。",
            (1,): f"返回的是一个数：要的是每张图像一个估计，形状 (N,) = ({n},)；不要把图像也加起来。",
            (k,): f"形状是 ({k},)，这是样本数 k：log_weights 的形状是 (k, N)，要沿第 0 轴（k 个样本）合并，每张图像得一个数。",
            (k, n): f"形状还是 ({k}, {n})：还没有把每张图像的 k 个样本合并成一个数。",
            (1, n): f"形状是 (1, {n})：多了一个长度为 1 的轴，要的是形状 ({n},)。",
        })
        if np.isnan(actual).any():
            check.fail("log w 在 −100 附近时就出现了 NaN：检查取指数和取对数的顺序。")
        actual = check.array(actual, "估计", shape=(n,))
        wrong = {
            "elbo": (log_weights.mean(axis=0), "算的是 log w 的平均，那是 ELBO 的估计（k 再大也不会变紧）："
                                               "IW 估计要先对权重 w 本身求平均，再取 log。"),
            "no_log_k": (expected + math.log(k), f"每个都比正确值大 log k = log {k}：求和之后是不是忘了除以 k？"),
            "peak_not_added_back": (expected - log_weights.max(axis=0),
                                    "结果小了整整一个 max log w：用了“先减去最大值”的技巧，最后要把它加回来。"),
            "negated": (-expected, "符号反了：要的是 log p(x) 的估计（对数，不是负对数）。"),
            "max_only": (log_weights.max(axis=0), "结果等于最大的那个 log w：其余 k − 1 个样本的贡献被丢掉了。"),
        }
        _fail_on_known_mistake(check, actual, wrong, rtol=1e-6, atol=1e-4)
        if not np.allclose(actual, expected, rtol=1e-6, atol=1e-4):
            image = int(np.argmax(np.abs(actual - expected)))
            check.fail(f"第 {image} 张图像（k={k} 个 log w 约为 −100）的估计应为 {expected[image]:.4f}，你的是 {actual[image]:.4f}。")
        check.checked(f"k={k}、N={n}、log w 约 −100")

        equal = np.full((5, 2), -3.0)
        at_equal = check.array(check.call(function, equal), "估计", shape=(2,))
        check.close(at_equal, [-3.0, -3.0], f"5 个 log w 都等于 −3 时，估计应正好是 −3，你的是 {at_equal.round(4)}。",
                    rtol=1e-6, atol=1e-5)
        single = rng.normal(-50.0, 5.0, (1, 3))
        at_single = check.array(check.call(function, single), "估计", shape=(3,))
        check.close(at_single, single[0], "k=1 时估计应该就等于那一个 log w（和 ELBO 估计相同）。", rtol=1e-6, atol=1e-4)
        check.checked("权重全相等、k=1 两个特例")

        tiny = rng.normal(-900.0, 4.0, (k, n))
        with np.errstate(all="ignore"):
            at_tiny = _values(check, check.call(function, tiny))
        if at_tiny.shape == (n,) and not np.all(np.isfinite(at_tiny)):
            check.fail("log w 在 −900 附近时（比没训练的模型还差的模型就会这样）结果成了 −inf 或 NaN：e^(−900) 在 float64 里也下溢成 0。"
                       "想一想：取指数之前，能不能先把最大的那个 log w 提出来？")
        at_tiny = check.array(at_tiny, "估计", shape=(n,))
        check.close(at_tiny, _log_mean_exp(tiny), "log w 在 −900 附近时结果不准：检查“提出最大值”之后的每一步。",
                    rtol=1e-6, atol=1e-4)
        check.checked("log w 约 −900 时不下溢")


# ------------------------------------------------------------------------------------ 3.4 / 3.6 predictions
def _is_vae(model) -> bool:
    return all(hasattr(model, name) for name in ("encoder", "decoder", "latent_dim"))


def _binary_images(exercise: str, images) -> np.ndarray:
    images = np.asarray(images.numpy() if hasattr(images, "numpy") else images, dtype="float32")
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1) or len(images) < 100:
        raise CheckFailed(exercise, f"第三个参数应该是二值化后的验证图像（练习 3.4 实验格里的 `heldout`），形状 (N, 28, 28, 1)、N ≥ 100；你的形状是 {images.shape}。")
    if not np.isin(images, (0.0, 1.0)).all():
        raise CheckFailed(exercise, "图像里有 0 和 1 以外的值：伯努利似然要的是二值图像，先用 binarize(..., seed=0) 二值化。")
    return images


def _steps(model) -> int:
    """How many optimizer steps ``model`` has taken (0 when it was never compiled)."""
    optimizer = getattr(model, "optimizer", None)
    return int(optimizer.iterations) if optimizer is not None else 0


def _negative_elbo(vae, images: np.ndarray, seed: int = 0) -> float:
    from aigc_course.models.vae import evaluate_bounds

    return evaluate_bounds(vae, images, k=1, batch_size=500, seed=seed)["negative_elbo"]


def _mean_kl(vae, images: np.ndarray) -> float:
    mean, log_var = (np.asarray(value, "float64") for value in vae.encode(images))
    return float(np.mean(0.5 * np.sum(mean ** 2 + np.exp(log_var) - log_var - 1.0, axis=-1)))


def check_untrained_elbo(prediction, vae, heldout) -> bool:
    """Exercise 3.4: the prediction of a freshly built VAE's held-out -ELBO (about 784 ln 2 nats), measured here."""
    exercise = "练习 3.4"
    if not _is_vae(vae):
        raise CheckFailed(exercise, f"第二个参数应该是刚建好的 VAE（aigc_course.models.vae.VAE），你传入的是 {type(vae).__name__}。")
    images = _binary_images(exercise, heldout)
    if _steps(vae) > 0:
        raise CheckFailed(exercise, f"这个模型已经训练了 {_steps(vae)} 步：这一题问的是刚建好、还没训练的 VAE。")
    actual = _negative_elbo(vae, images)
    if actual < 400:
        raise CheckFailed(exercise, f"这个模型的负 ELBO 只有 {actual:.1f}，它已经训练过了（比如加载了附带的权重）："
                                    "这一题问的是刚建好、还没训练的 VAE。")
    kl = _mean_kl(vae, images)
    explanation = (
        f"实测 {len(images)} 张留出图像：负 ELBO {actual:.1f} nats/图像，其中 KL 项只有 {kl:.2f}，其余都是重构项。\n"
        f"为什么是这个数：没训练的解码器输出的 logit 都接近 0，即每个像素 p(x=1) ≈ 0.5，不管像素是 0 还是 1，"
        f"代价都是 −log 0.5 = ln 2 ≈ 0.693 nats；784 个像素共 784 × ln 2 ≈ {PIXELS * math.log(2):.1f} nats"
        f"（换成以 2 为底就是 784 bits：一个像素一个比特，等于“什么都没学到”）。编码器的输出也接近 μ=0、log σ²=0，"
        f"q 几乎就是先验，所以 KL 接近 0。训练就是把这约 543 nats 降到 100 左右：降下来的部分就是模型学到的关于数字的知识。")
    return check_prediction(exercise, "没训练的 VAE 的负 ELBO", prediction, actual, explanation, tolerance=0.03)


def check_blank_image(prediction, vae, heldout) -> bool:
    """Exercise 3.6: is an all-black image's -ELBO higher, about the same, or lower than real digits'? Measured
    here on ``vae`` (a trained VAE) and the first 500 of ``heldout``."""
    exercise = "练习 3.6"
    if not _is_vae(vae):
        raise CheckFailed(exercise, f"第二个参数应该是训练好的 VAE（附带的 vae-mnist），你传入的是 {type(vae).__name__}。")
    digits = _binary_images(exercise, heldout)[:500]
    digit_elbo = _negative_elbo(vae, digits)
    if digit_elbo > 300:
        raise CheckFailed(exercise, f"这个模型在真实数字上的负 ELBO 是 {digit_elbo:.0f}，还没训练好：这一题用附带的 vae-mnist。")
    blank_elbo = _negative_elbo(vae, np.zeros((100, 28, 28, 1), "float32"))
    flipped_elbo = _negative_elbo(vae, np.ascontiguousarray(digits[:, ::-1]))
    ratio = blank_elbo / digit_elbo
    actual = "更低" if ratio < 0.8 else "更高" if ratio > 1.25 else "差不多"
    explanation = (
        f"实测：全黑图像 {blank_elbo:.1f} nats，验证集上的真实数字平均 {digit_elbo:.1f} nats，"
        f"上下翻转的同一批数字 {flipped_elbo:.1f} nats。\n"
        "负 ELBO 是“用这个模型描述这张图要花多少信息”的上界。训练图像里大部分像素本来就是 0，模型学会了“默认是黑的”，"
        "全黑图像几乎不用额外信息就能描述，所以它的似然反而比任何真实数字都高；描述一个数字还要付出笔画的信息。"
        "翻转的数字笔画一样多，却落在模型没见过的位置，所以更贵。\n"
        "教训：似然高 ≠ 像训练数据。拿似然做异常检测（“这张图是不是数字”），会被这种简单的图像骗过；"
        "这是深度生成模型的一个已知现象（Nalisnick 等 2019，“Do Deep Generative Models Know What They Don't Know?”）。")
    return check_prediction(exercise, "全黑图像的负 ELBO", prediction, actual, explanation, choices=BLANK_CHOICES)


# ------------------------------------------------------------------------------------ 3.7 experiment
def check_heldout_elbo(vae) -> None:
    """Exercise 3.7: ``vae`` trained from scratch within the step budget reaches the held-out -ELBO goal.

    The check counts the optimizer's steps and measures the -ELBO itself on the chapter's 2,000 held-out
    images (``load_mnist(test_split_only=True).x_val``, binarised with seed 0), never on training images.
    """
    from aigc_course.data import load_mnist
    from aigc_course.models.vae import binarize

    budget, goal, baseline = by_mode(*TRAIN_STEPS), by_mode(*ELBO_GOAL), by_mode(*BASELINE_ELBO)
    mode = "快速模式" if is_quick() else "正常模式"
    with Check("练习 3.7", "在步数预算内压低留出集负 ELBO") as check:
        check.require(_is_vae(vae), f"要传入训练好的 VAE（aigc_course.models.vae.VAE），你传入的是 {type(vae).__name__}。")
        steps = _steps(vae)
        check.require(steps <= budget, f"训练了 {steps} 步，超出了 {budget} 步的预算（{mode}）：预算是优化器的更新次数，"
                                       "改设置时不要改 TRAIN_STEPS；如果在别的格里接着训练过这个模型，重新运行训练格（它每次都从头新建模型）。")
        heldout = binarize(load_mnist(test_split_only=True, verbose=False).x_val, seed=0)
        if steps == 0:
            glimpse = _negative_elbo(vae, heldout[:200])
            check.fail(f"优化器一步也没走过，但模型在留出图像上的负 ELBO 只有约 {glimpse:.0f}：它是加载来的（比如附带的权重），"
                       f"不是在这里训练的。这一题要从头训练、最多 {budget} 步。" if glimpse < 400 else
                       "模型还没有训练（优化器步数为 0）：先运行上面的训练格。")
        check.checked(f"训练步数 {steps} ≤ {budget}")
        measured = _negative_elbo(vae, heldout)
        check.require(measured < goal,
                      f"{len(heldout):,} 张留出图像上的负 ELBO 是 {measured:.1f} nats/图像，还没到目标 < {goal:g}（{mode}）。"
                      f"本章的基线设置在这个预算内大约得到 {baseline:g}。步数固定时，想一想：哪个设置决定每一步走多远？"
                      "模型的容量（潜变量维数、网络宽度）在这么短的训练里是瓶颈吗？")
        check.checked(f"{len(heldout):,} 张留出图像（固定种子二值化）上的负 ELBO {measured:.1f} < 目标 {goal:g}"
                      f"（{mode}的目标）")
