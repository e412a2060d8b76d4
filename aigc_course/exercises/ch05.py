"""Chapter 05 (diffusion) exercises: the closed-form noising, the cosine schedule, one DDIM step, classifier-free
guidance, two predictions (how many steps of the linear schedule are almost pure noise; what guidance w = -1 does)
and choosing the sampling timesteps of the shipped ``ddpm-mnist`` within a budget of network evaluations.

Conventions are the package's (:mod:`aigc_course.models.diffusion`): timesteps are 1-based, schedule arrays are
indexed by t = 0..T (index 0: no noise, beta_0 = 0, abar_0 = 1), and guidance mixes the predictions as
eps_none + (1 + w) (eps_label - eps_none), so that w = 0 is the conditional model alone.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from aigc_course.exercises import Exercise
from aigc_course.exercises.checking import Check, CheckFailed, check_prediction, same_values
from aigc_course.runtime import by_mode, is_quick

EXERCISES = (
    Exercise("5.1", "前向加噪的闭式解", 1, "implement", "check_add_noise", function="add_noise"),
    Exercise("5.2", "余弦噪声表", 2, "implement", "check_cosine_alpha_bars", function="cosine_alpha_bars"),
    Exercise("5.3", "线性表有多少步几乎只剩噪声", 1, "predict", "check_noisy_steps"),
    Exercise("5.4", "DDIM 的一步", 2, "implement", "check_ddim_step", function="ddim_step"),
    Exercise("5.5", "无分类器引导", 1, "implement", "check_guided_noise", function="guided_noise"),
    Exercise("5.6", "引导强度 w = −1", 1, "predict", "check_negative_guidance"),
    Exercise("5.7", "只改采样的时间步（不重新训练）", 3, "experiment", "check_timesteps"),
)

T = 1000                                  # the chapter's (and ddpm-mnist's) number of diffusion steps
SNR_THRESHOLD = 0.01                      # exercise 5.3: "almost pure noise" means SNR(t) below this
NOISY_TOLERANCE = 0.08                    # exercise 5.3: a prediction within 8 percentage points is right

# Exercise 5.6: guided samples (labels 0, 1, ..., 9, 0, ...) at w = -1, scored by the judge
GUIDED_SAMPLES = (100, 30)                # (normal, quick): what by_mode gets
GUIDED_STEPS = (20, 5)
GUIDED_SEED = 1
MATCH_TOLERANCE = 0.1

# Exercise 5.7: the budget (network evaluations = DDIM steps), the samples the check draws and their FID-judge
# against the 2,000 held-out images (the split's x_val, which ddpm-mnist never saw)
STEP_BUDGET = (20, 5)
CHECK_SAMPLES = (200, 30)                 # quick: as many as exercise 5.6 draws, so the compiled step is reused
CHECK_SEED = 1
FID_GOAL = (100.0, 350.0)
BASELINE_FID = (117.0, 465.0)             # the chapter's uniform spacing, measured by this check


def _values(check: Check, value, name: str = "返回值") -> np.ndarray:
    """``value`` as float64, NaN and infinities kept (the caller says what they mean); else the usual failure."""
    try:
        return np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
    except (TypeError, ValueError):
        return check.array(value, name)  # fails with "应该是数组"


_match = functools.partial(same_values, rtol=1e-4, atol=1e-5, finite_only=True)


def _fraction(exercise: str, prediction) -> None:
    """Fail before any computing on a missing or non-numeric prediction (with the framework's hints) or on one
    outside [0, 1]."""
    try:
        value = float(prediction)
    except (TypeError, ValueError):
        check_prediction(exercise, "", prediction, 0.0, "")  # raises: "write a prediction first" / "a number"
        raise
    if not 0.0 <= value <= 1.0:
        raise CheckFailed(exercise, f"预测写成 0 到 1 之间的比例（例如 0.25 表示四分之一），你写的是 {prediction}。")


def _first_wrong_hint(check: Check, actual: np.ndarray, expected: np.ndarray, wrong: dict, **tolerance) -> None:
    """Fail with the hint of the first typical wrong answer that ``actual`` equals (wrong answers that happen to
    give the right value in this case are skipped)."""
    expected = np.asarray(expected, dtype=np.float64)
    for candidate, hint in wrong.values():
        if _match(actual, candidate, **tolerance) and not _match(expected, candidate, **tolerance):
            check.fail(hint)


# ------------------------------------------------------------------------------------ 5.1 closed-form noising
def _images(rng, count: int) -> np.ndarray:
    """``count`` made-up 28x28 images in [-1, 1]."""
    return np.clip(rng.normal(-0.6, 0.7, (count, 28, 28, 1)), -1, 1).astype("float32")


def check_add_noise(function) -> None:
    """Exercise 5.1: ``function(x0, t, noise, betas)`` -> x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise, with t a
    (batch,) array of 1-based steps and ``betas`` the schedule's (T + 1,) array (betas[0] = 0)."""
    from aigc_course.models.diffusion import NoiseSchedule

    with Check("练习 5.1", "前向加噪的闭式解") as check:
        rng = np.random.default_rng(51)
        betas = NoiseSchedule.linear(T).betas
        x0, noise = _images(rng, 4), rng.standard_normal((4, 28, 28, 1)).astype("float32")
        t = np.array([1, 10, 250, 600])
        alpha_bars = np.cumprod(1.0 - betas)

        def closed_form(abar, signal=np.sqrt, spread=np.sqrt, images=x0, eps=noise):
            abar = np.asarray(abar, dtype=np.float64).reshape(-1, 1, 1, 1)
            return signal(abar) * images + spread(1.0 - abar) * eps

        expected = closed_form(alpha_bars[t])
        with np.errstate(all="ignore"):
            actual = _values(check, check.call(function, x0, t, noise, betas))
        if actual.shape != x0.shape:
            if actual.shape == (4, 28, 28, 4):
                check.fail("返回值的形状是 (4, 28, 28, 4)，应该和 x0 一样是 (4, 28, 28, 1)：t 里每个样本一个时间步，"
                           "取出来的 ᾱ_t 形状是 (4,)，它和图像相乘时对齐到了最后一个轴（通道）。想一想怎样让每个 ᾱ_t "
                           "只作用在自己那张图上。")
            check.fail(f"返回值的形状应该和 x0 一样是 {x0.shape}，你的是 {actual.shape}。")
        if np.isnan(actual).any():
            check.fail("结果里有 NaN：是不是对负数开了平方根？1 − ᾱ_t 和 ᾱ_t 都在 0 和 1 之间。")
        actual = check.array(actual, "x_t", shape=x0.shape)
        single_alphas = 1.0 - betas
        with np.errstate(all="ignore"):
            wrong = {
                "alpha_not_alpha_bar": (closed_form(single_alphas[t]),
                                        "用的像是单步的 α_t = 1 − β_t：闭式解要的是从第 1 步到第 t 步累积起来的 ᾱ_t"
                                        "（每一步都保留一部分信号，t 步连乘）。"),
                "betas_as_alphas": (closed_form(np.cumprod(betas)[t]),
                                    "结果几乎就是噪声本身：是不是把 β 当成了 α？β_t 是第 t 步加入的噪声方差，α_t = 1 − β_t。"),
                "cumsum": (closed_form(1.0 - np.cumsum(betas)[t]),
                           "用的像是 1 − (β_1 + … + β_t)：只在 t 很小时近似对；ᾱ_t 是 α_s 的连乘，不是 β_s 的累加。"),
                "no_square_roots": (closed_form(alpha_bars[t], signal=np.asarray, spread=np.asarray),
                                    "两个系数都少了平方根？ᾱ_t 和 1 − ᾱ_t 是方差的比例，乘在 x0 和 ε 上的是标准差。"),
                "variance_on_noise": (closed_form(alpha_bars[t], spread=np.asarray),
                                      "ε 前面的系数少了平方根？1 − ᾱ_t 是噪声的方差，乘在 ε 上的应是它的标准差。"),
                "no_root_on_signal": (closed_form(alpha_bars[t], signal=np.asarray),
                                      "x0 前面的系数少了平方根？x_t 里信号部分的方差比例是 ᾱ_t，乘在 x0 上的是它的平方根。"),
                "swapped": (np.sqrt(1.0 - alpha_bars[t]).reshape(-1, 1, 1, 1) * x0
                            + np.sqrt(alpha_bars[t]).reshape(-1, 1, 1, 1) * noise,
                            "两个系数对调了：t 小的时候 x_t 应该几乎就是 x0（信号的系数接近 1），你的却几乎是噪声。"),
                "index_minus_one": (closed_form(alpha_bars[t - 1]),
                                    "下标差了一步（用的是 ᾱ_{t−1}）：这里的时间步从 1 开始，betas 的第 0 个元素是 t = 0"
                                    "（没有噪声，β_0 = 0），所以数组的下标就是时间步本身。"),
                "index_plus_one": (closed_form(alpha_bars[t + 1]),
                                   "下标差了一步（用的是 ᾱ_{t+1}）：betas 的第 0 个元素 β_0 = 0 也是表的一部分（t = 0），"
                                   "连乘要从它开始，数组的下标就是时间步本身。"),
            }
        _first_wrong_hint(check, actual, expected, wrong)
        if not np.allclose(actual, expected, rtol=1e-4, atol=1e-5):
            right = [int(step) for step, a, e in zip(t, actual, expected) if np.allclose(a, e, rtol=1e-4, atol=1e-5)]
            wrong_steps = [int(step) for step in t if step not in right]
            worst = int(np.argmax(np.abs(actual - expected).reshape(len(t), -1).max(axis=1)))
            hint = (f"t = {'、'.join(map(str, wrong_steps))} 的样本不对（t = {t[worst]} 的那张最大差 "
                    f"{np.abs(actual[worst] - expected[worst]).max():.4f}）")
            hint += f"，t = {'、'.join(map(str, right))} 的对。" if right else "。"
            check.fail(hint + "对照 x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε 逐项检查。")
        check.checked("线性表 t = 1、10、250、600 各一张图")

        cosine = NoiseSchedule.cosine(T).betas
        t = np.array([T, 500])
        alpha_bars = np.cumprod(1.0 - cosine)
        expected = closed_form(alpha_bars[t], images=x0[:2], eps=noise[:2])
        actual = check.array(check.call(function, x0[:2], t, noise[:2], cosine), "x_t", shape=(2, 28, 28, 1))
        linear_bars = np.cumprod(1.0 - betas)
        if _match(actual, closed_form(linear_bars[t], images=x0[:2], eps=noise[:2])):
            check.fail("传进来余弦表的 betas 时，你的结果还是线性表的：是不是没用传进来的 betas（比如自己生成了一张表）？")
        for index, step in enumerate(t):
            if not np.allclose(actual[index], expected[index], rtol=1e-4, atol=1e-5):
                check.fail(f"余弦表、t = {step} 时不对（最大差 {np.abs(actual[index] - expected[index]).max():.4f}）。")
        check.checked(f"余弦表 t = {T}、500（含最后一步）")


# ------------------------------------------------------------------------------------ 5.2 cosine schedule
def _cosine_f(steps: int, offset: float, scale: bool = True, power: int = 2) -> np.ndarray:
    """f(t) = cos^power(((t/T + s) / (1 + s)) pi/2) for t = 0..T (without the division by 1 + s when not ``scale``)."""
    phase = np.arange(steps + 1, dtype=np.float64) / steps + offset
    return np.cos((phase / (1 + offset) if scale else phase) * math.pi / 2) ** power


def check_cosine_alpha_bars(function) -> None:
    """Exercise 5.2: ``function(steps, offset)`` -> abar_t = f(t) / f(0) for t = 0..T, shape (T + 1,), as
    ``NoiseSchedule.cosine`` (which clips the last beta, so abar_T only has to be close to 0)."""
    from aigc_course.models.diffusion import NoiseSchedule

    with Check("练习 5.2", "余弦噪声表") as check:
        for number, (steps, offset) in enumerate(((T, 0.008), (10, 0.008), (40, 0.1))):
            f = _cosine_f(steps, offset)
            expected = f / f[0]
            package = NoiseSchedule.cosine(steps, offset).alpha_bars
            assert np.allclose(expected[:-1], package[:-1], rtol=1e-12) and package[-1] < 1e-3  # the reference
            with np.errstate(all="ignore"):
                actual = _values(check, check.call(function, steps, offset), "ᾱ")
            where = f"T = {steps}、s = {offset} 时，"
            if actual.shape != expected.shape:
                if actual.shape == (steps,) and _match(actual, expected[1:], rtol=2e-5, atol=1e-7):
                    check.fail(f"{where}应返回 T + 1 = {steps + 1} 个值（t = 0, 1, …, T），你的少了 t = 0 的 ᾱ_0：按包里的约定，"
                               "数组的下标就是时间步，第 0 个元素是没有噪声的 t = 0。")
                if actual.shape == (steps,) and _match(actual, expected[:-1], rtol=2e-5, atol=1e-7):
                    check.fail(f"{where}应返回 T + 1 = {steps + 1} 个值（t = 0, 1, …, T），你的少了最后的 t = T。")
                if number > 0 and actual.shape == (T + 1,):
                    check.fail(f"{where}应返回 {steps + 1} 个值，你的有 {T + 1} 个：参数 steps 是不是没用上（写死了 {T}）？")
                check.fail(f"{where}应返回形状 ({steps + 1},) 的数组（t = 0, 1, …, T），你的形状是 {actual.shape}。")
            if np.isnan(actual).any():
                check.fail(f"{where}结果里有 NaN：是不是除以了 0 或者对负数开了方？")
            actual = check.array(actual, "ᾱ", shape=expected.shape)
            f_plain = _cosine_f(steps, 0.0)
            f_unscaled = _cosine_f(steps, offset, scale=False)
            f_no_square = _cosine_f(steps, offset, power=1)
            wrong = {
                "not_normalised": (f, f"{where}ᾱ_0 应该正好等于 1（t = 0 没有噪声），你的是 {actual[0]:.6f}："
                                      "是不是少了归一化这一步？"),
                "no_offset": (f_plain / f_plain[0], f"{where}结果和偏移 s = 0 时一样：偏移 s 是不是没用上？"),
                "offset_not_scaled": (f_unscaled / f_unscaled[0],
                                      f"{where}不对：括号里的 t/T + s 是不是忘了除以 1 + s？（除以它，t = T 时角度才正好是 π/2。）"),
                "no_square": (f_no_square / f_no_square[0], f"{where}不对：f(t) 是余弦的平方，你的像是没有平方。"),
            }
            if number > 0:
                other = _cosine_f(steps, 0.008)
                wrong["offset_ignored"] = (other / other[0], f"{where}你的结果和 s = 0.008 时一样：参数 offset 是不是没用上？")
            _first_wrong_hint(check, actual[:-1], expected[:-1], {key: (candidate[:-1], hint) for key, (candidate, hint)
                                                                  in wrong.items()}, rtol=2e-5, atol=1e-7)
            if np.all(np.diff(actual) >= 0):
                check.fail(f"{where}你的 ᾱ_t 随 t 增大而增大：ᾱ_t 是保留的信号比例，应从 ᾱ_0 = 1 逐渐降到接近 0。"
                           "检查用的是余弦还是正弦、角度的方向对不对。")
            bad = np.flatnonzero(~np.isclose(actual[:-1], expected[:-1], rtol=2e-5, atol=1e-7))
            if bad.size:
                index = int(bad[0])
                check.fail(f"{where}第一个不对的是 t = {index}：应为 {expected[index]:.6f}，你的是 {actual[index]:.6f}。")
            if not 0.0 <= actual[-1] < 1e-3:
                check.fail(f"{where}t < T 的各项都对，但 ᾱ_T 应在 0 和 0.001 之间（t = T 时信号几乎全被噪声淹没），"
                           f"你的是 {actual[-1]:.6g}。")
            check.checked(f"{'余弦表 ' if number == 0 else ''}T = {steps}、s = {offset}")
        check.checked("都与 NoiseSchedule.cosine 的 ᾱ_t 一致")


# ------------------------------------------------------------------------------------ 5.3 prediction
def _noisy_share(schedule) -> tuple[float, int]:
    """The share of t = 1..T with SNR(t) below ``SNR_THRESHOLD``, and the first such t."""
    noisy = schedule.signal_to_noise[1:] < SNR_THRESHOLD
    return float(noisy.mean()), int(np.argmax(noisy)) + 1


def check_noisy_steps(prediction) -> bool:
    """Exercise 5.3: the prediction of the share of the linear schedule's 1,000 steps whose SNR is below 0.01,
    computed here from ``NoiseSchedule.linear`` (and compared with the cosine schedule in the explanation)."""
    from aigc_course.models.diffusion import NoiseSchedule

    exercise = "练习 5.3"
    _fraction(exercise, prediction)
    linear_share, linear_first = _noisy_share(NoiseSchedule.linear(T))
    cosine_share, cosine_first = _noisy_share(NoiseSchedule.cosine(T))
    explanation = (
        f"实测：线性表从 t = {linear_first} 起 SNR 就低于 {SNR_THRESHOLD:g}，{T} 步里有 {linear_share * T:.0f} 步"
        f"（{linear_share:.1%}）；余弦表要到 t = {cosine_first} 才低于它，只有 {cosine_share * T:.0f} 步（{cosine_share:.1%}）。\n"
        f"SNR < {SNR_THRESHOLD:g} 时，x_t 里图像那一部分的标准差不到噪声的十分之一，肉眼看就是一张噪声图（第 1 节的加噪条带）。"
        "线性表的 β_t 一路增大，ᾱ_t 是它们的连乘，后半程衰减得越来越快；于是训练时均匀抽取的 t 有约三分之一落在"
        "“几乎只剩噪声”的区域，网络在那里能学的东西很少。余弦表让 ᾱ_t 在中段近似线性地下降、在两端变化很小，"
        "几乎只剩噪声的步只占最后一小段：这正是 Nichol 与 Dhariwal 提出它的理由。")
    return check_prediction(exercise, "线性表有多少步几乎只剩噪声", prediction, linear_share, explanation,
                            tolerance=NOISY_TOLERANCE)


# ------------------------------------------------------------------------------------ 5.4 DDIM step
def check_ddim_step(function) -> None:
    """Exercise 5.4: ``function(x_t, eps, abar_t, abar_prev)`` -> the DDIM (eta = 0) update to x_prev, without
    clipping the x0 estimate."""
    from aigc_course.models.diffusion import NoiseSchedule

    with Check("练习 5.4", "DDIM 的一步") as check:
        rng = np.random.default_rng(54)
        alpha_bars = NoiseSchedule.cosine(T).alpha_bars
        x_t = rng.standard_normal((3, 28, 28, 1)).astype("float32")
        eps = rng.standard_normal((3, 28, 28, 1)).astype("float32")
        for number, (t, s) in enumerate(((800, 750), (400, 300), (60, 0))):
            a, p = float(alpha_bars[t]), float(alpha_bars[s])
            x, e = x_t.astype("float64"), eps.astype("float64")
            x0 = (x - math.sqrt(1 - a) * e) / math.sqrt(a)
            expected = math.sqrt(p) * x0 + math.sqrt(1 - p) * e
            where = f"从 t = {t} 到 {s}（ᾱ_t = {a:.4f}，ᾱ_prev = {p:.4f}），"
            with np.errstate(all="ignore"):
                actual = _values(check, check.call(function, x_t, eps, a, p), "x_prev")
            if actual.shape != x_t.shape:
                check.fail(f"{where}返回值的形状应该和 x_t 一样是 {x_t.shape}，你的是 {actual.shape}。")
            if np.isnan(actual).any():
                check.fail(f"{where}结果里有 NaN：是不是对负数开了平方根？")
            actual = check.array(actual, "x_prev", shape=x_t.shape)
            if number == 0 and np.allclose(actual, x, rtol=1e-5, atol=1e-5):
                check.fail(f"{where}你的结果和输入的 x_t 一样，一步也没走：两半用的是不是同一个 ᾱ？"
                           "估计 x̂_0 用当前时刻 t 的 ᾱ_t，走到新时刻时用 ᾱ_prev。")
            alpha = a / p
            x0_swapped = (x - math.sqrt(1 - p) * e) / math.sqrt(p)
            wrong = {
                "swapped": (math.sqrt(a) * x0_swapped + math.sqrt(1 - a) * e,
                            f"{where}结果不对：ᾱ_t 和 ᾱ_prev 是不是用反了？估计 x̂_0 用当前时刻的 ᾱ_t，走到新时刻时用 ᾱ_prev。"),
                "returns_x0": (x0, f"{where}你返回的像是 x̂_0（对干净图像的估计）：这一步要返回的是 x_prev，"
                                   "即把 x̂_0 重新加噪到新时刻的样子。"),
                "x0_not_divided": (math.sqrt(p) * (x - math.sqrt(1 - a) * e) + math.sqrt(1 - p) * e,
                                   f"{where}结果不对：估计 x̂_0 时是不是忘了除以 √ᾱ_t？从 x_t 里减掉噪声之后，剩下的是被缩小了的 x0。"),
                "x0_divided_by_abar": (math.sqrt(p) * (x - math.sqrt(1 - a) * e) / a + math.sqrt(1 - p) * e,
                                       f"{where}结果不对：估计 x̂_0 时除以的是 ᾱ_t 本身还是它的平方根？"),
                "x0_noise_variance": (math.sqrt(p) * (x - (1 - a) * e) / math.sqrt(a) + math.sqrt(1 - p) * e,
                                      f"{where}结果不对：估计 x̂_0 时从 x_t 里减掉的噪声，系数少了平方根？"),
                "direction_at_t": (math.sqrt(p) * x0 + math.sqrt(1 - a) * e,
                                   f"{where}结果不对：x̂_0 对了，但指向噪声的那一项用的像是当前时刻的噪声水平；"
                                   "走到新时刻后，x_prev 里噪声所占的比例应由 ᾱ_prev 决定。"),
                "direction_variance": (math.sqrt(p) * x0 + (1 - p) * e,
                                       f"{where}结果不对：指向噪声的那一项，系数少了平方根？1 − ᾱ_prev 是方差。"),
                "signal_variance": (p * x0 + math.sqrt(1 - p) * e,
                                    f"{where}结果不对：x̂_0 前面的系数少了平方根？"),
                "no_direction": (math.sqrt(p) * x0, f"{where}结果不对：只剩下 x̂_0 那一项，指向噪声的那一项（ε 的贡献）漏了。"),
                "ddpm_mean": ((x - (1 - alpha) / math.sqrt(1 - a) * e) / math.sqrt(alpha),
                              f"{where}你算的是 DDPM 的后验均值 (x_t − β/√(1−ᾱ_t)·ε)/√α（α = ᾱ_t/ᾱ_prev）："
                              "它只在每次退一步、并且再加上随机噪声时才对；η = 0 的 DDIM 先估计 x̂_0，再确定地走到新时刻。"),
                "clipped": (math.sqrt(p) * np.clip(x0, -1, 1) + math.sqrt(1 - p) * e,
                            f"{where}你把 x̂_0 裁剪到了 [−1, 1]：包里的采样器会这样做（还会再反推与之相容的 ε），"
                            "这一题只写不裁剪的 DDIM 更新。"),
            }
            _first_wrong_hint(check, actual, expected, wrong, rtol=1e-4, atol=1e-4)
            if not np.allclose(actual, expected, rtol=1e-4, atol=1e-4):
                check.fail(f"{where}结果不对：最大差 {np.abs(actual - expected).max():.4f}。对照 x̂_0 的公式和 η = 0 时 x_prev "
                           "的公式逐项检查。")
            check.checked(where.rstrip("，"))


# ------------------------------------------------------------------------------------ 5.5 guidance
def check_guided_noise(function) -> None:
    """Exercise 5.5: ``function(eps_label, eps_none, w)`` -> eps_none + (1 + w) (eps_label - eps_none), the
    course's convention (w = 0: the conditional prediction alone)."""
    with Check("练习 5.5", "无分类器引导") as check:
        rng = np.random.default_rng(55)
        eps_label = rng.standard_normal((2, 28, 28, 1)).astype("float32")
        eps_none = rng.standard_normal((2, 28, 28, 1)).astype("float32")
        y, n = eps_label.astype("float64"), eps_none.astype("float64")

        def guided(w):
            return n + (1 + w) * (y - n)

        w = 2.0
        with np.errstate(all="ignore"):
            actual = _values(check, check.call(function, eps_label, eps_none, w), "引导后的噪声")
        if actual.shape != eps_label.shape:
            check.fail(f"返回值的形状应该和两个预测一样是 {eps_label.shape}，你的是 {actual.shape}。")
        actual = check.array(actual, "引导后的噪声", shape=eps_label.shape)
        wrong = {
            "w_not_one_plus_w": (n + w * (y - n),
                                 "w = 2 时你的外推倍数像是 w 而不是 1 + w：那是另一种写法的约定（w = 0 时就只剩无标签的预测）。"
                                 "本课程的约定里 w = 0 应该正好是有标签的预测本身（不引导）。"),
            "roles_swapped": (y + (1 + w) * (n - y),
                              "方向反了：你的结果在往远离标签的方向推。引导是从无标签的预测 ε_∅ 出发，"
                              "沿“无标签 → 有标签”的方向外推。"),
            "sign_of_none": ((1 + w) * y + w * n,
                             "把公式展开成 a·ε_y + b·ε_∅ 时，ε_∅ 前面的符号错了：外推是在两个预测之差的方向上走，"
                             "两个系数之和应为 1。"),
            "no_base": ((1 + w) * (y - n), "少了出发点：只有两个预测之差乘上倍数，还要从无标签的预测 ε_∅ 出发。"),
            "label_only": ((1 + w) * y, "结果和 ε_∅ 无关：无分类器引导要用到两个预测之差。"),
            "interpolation": (n + (w / (1 + w)) * (y - n),
                              "你的结果在两个预测之间（内插），而引导要外推：w > 0 时应越过有标签的预测继续往前走。"),
        }
        _first_wrong_hint(check, actual, guided(w), wrong)
        check.close(actual, guided(w), f"w = 2 时不对：最大差 {np.abs(actual - guided(w)).max():.4f}。对照本课程的约定检查。",
                    rtol=1e-5, atol=1e-5)
        check.checked("引导强度 w = 2")

        at_zero = check.array(check.call(function, eps_label, eps_none, 0.0), "引导后的噪声", shape=eps_label.shape)
        if _match(at_zero, n):
            check.fail("w = 0 时你的结果等于无标签的预测 ε_∅：本课程的约定里 w = 0 是不引导，应该正好是有标签的预测。")
        check.close(at_zero, y, "w = 0 时应该正好是有标签的预测 ε_y（不引导）。", rtol=1e-5, atol=1e-5)
        for w in (0.5, 4, -1.0):
            value = check.array(check.call(function, eps_label, eps_none, w), "引导后的噪声", shape=eps_label.shape)
            check.close(value, guided(w), f"w = {w} 时不对：最大差 {np.abs(value - guided(w)).max():.4f}。", rtol=1e-5,
                        atol=1e-5)
        check.checked("w = 0（等于 ε_y）、0.5、整数 4、−1")


# ------------------------------------------------------------------------------------ 5.6 prediction
def _require_diffusion_model(exercise: str, model) -> None:
    from aigc_course.models.diffusion import DiffusionModel

    if not isinstance(model, DiffusionModel):
        raise CheckFailed(exercise, f"要传入附带的扩散模型（load_trained(\"ddpm-mnist\") 得到的 DiffusionModel），"
                                    f"你传入的是 {type(model).__name__}。")


def check_negative_guidance(prediction, model) -> bool:
    """Exercise 5.6: the prediction of the share of guided samples at w = -1 that the judge reads as the digit
    asked for, measured here on ``model`` (the shipped ddpm-mnist); the explanation also compares the samples with
    those drawn without labels from the same noise."""
    exercise = "练习 5.6"
    _fraction(exercise, prediction)
    _require_diffusion_model(exercise, model)
    count, steps = by_mode(*GUIDED_SAMPLES), by_mode(*GUIDED_STEPS)
    labels = np.arange(count) % 10
    judge, _ = _heldout_judge()
    guided = model.sample(count, steps=steps, labels=labels, guidance=-1.0, seed=GUIDED_SEED)
    unlabelled = model.sample(count, steps=steps, seed=GUIDED_SEED)
    actual = judge.accuracy(guided, labels, model.value_range)
    difference = float(np.abs(guided - unlabelled).max())
    same = "逐像素完全相同" if difference == 0 else f"几乎相同（最大差 {difference:.1e}，来自浮点舍入）"
    explanation = (
        f"实测：{count} 个样本（数字 0–9 各 {count // 10} 个，DDIM {steps} 步），评委认出的数字与要求一致的比例是 "
        f"{actual:.2f}。同样的起始噪声、完全不给标签时采出的样本与它们{same}。\n"
        "w = −1 时 1 + w = 0，引导后的噪声就是无标签的预测 ε_∅：标签一点作用也没有，模型在画 p(x) 的样本。"
        "样本与要求的数字无关，而要求的数字 0–9 各占一成，所以不论模型偏爱画哪个数字，碰巧一致的比例期望正好是 1/10"
        f"（{count} 个样本时抽样误差的标准差约 {math.sqrt(0.09 / count):.2f}，实测偏离 0.1 一两个标准差都正常）。"
        "w = 0 是条件模型本身（第 6 节的表里约八成符合要求），"
        "w > 0 越大越像要求的数字；w < −1 则会把样本推离要求的数字。")
    return check_prediction(exercise, "引导强度 w = −1", prediction, actual, explanation, tolerance=MATCH_TOLERANCE)


# ------------------------------------------------------------------------------------ 5.7 experiment
def _timesteps(exercise: str, timesteps, total: int, budget: int | None = None) -> np.ndarray:
    """``timesteps`` as the DDIM path T = t_1 > t_2 > ... > t_k >= 1 (a final 0 is optional), or a hint."""
    try:
        values = np.asarray(timesteps, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise CheckFailed(exercise, f"时间步应该是一串整数（列表或数组），你给的是 {type(timesteps).__name__}。") from None
    if values.size == 0 or not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
        raise CheckFailed(exercise, "时间步应该是一串整数（例如 [1000, 950, …, 1]）：先取整再转成 int。")
    values = values.astype(int)
    if values[-1] == 0:
        values = values[:-1]  # the final step to t = 0 is implied
    if values.size == 0 or values[0] != total:
        raise CheckFailed(exercise, f"第一个时间步应该是 T = {total}：采样从纯噪声 x_T 出发，你的第一个是 "
                                    f"{values[0] if values.size else 0}。")
    if np.any(np.diff(values) >= 0):
        at = int(np.argmax(np.diff(values) >= 0))
        raise CheckFailed(exercise, f"时间步应严格递减（从 T 走向 0，不能重复）：第 {at + 1} 个是 {values[at]}，"
                                    f"第 {at + 2} 个是 {values[at + 1]}。取整之后有重复的话，用 np.unique 去重会少掉步数，"
                                    "想一想怎样让间隔至少为 1。")
    if values[-1] < 1:
        raise CheckFailed(exercise, f"时间步应在 1 到 {total} 之间（最后一步走到 0 会自动补上），你的最后一个是 {values[-1]}。")
    if budget is not None and len(values) > budget:
        raise CheckFailed(exercise, f"你的路径要走 {len(values)} 步（{len(values)} 次网络前向），超出了 {budget} 步的预算"
                                    f"（{'快速模式' if is_quick() else '正常模式'}）：这一题只改时间步放在哪里，不增加步数。")
    return values


def sample_with_timesteps(model, timesteps, n: int, seed: int = 0, batch_size: int = 250) -> np.ndarray:
    """``n`` unconditional DDIM (eta = 0) samples of ``model`` in [-1, 1] along ``timesteps`` (T first, decreasing;
    the final step to t = 0 is added). The starting noise comes from ``seed`` as in ``model.sample``: the chapter's
    uniform timesteps give exactly ``model.sample(n, steps, seed)``."""
    _require_diffusion_model("练习 5.7", model)
    path = _timesteps("练习 5.7", timesteps, model.schedule.steps)
    return model.sample(n, seed=seed, batch_size=batch_size, timesteps=path)


def heldout_fid(model, timesteps) -> tuple[float, int]:
    """Exercise 5.7's measurement: FID-judge of ``CHECK_SAMPLES`` DDIM samples along ``timesteps`` (seed
    ``CHECK_SEED``) against the split's 2,000 held-out images (``evaluation_mnist().x_val``, never seen in
    training); returns (FID-judge, number of held-out images)."""
    judge, heldout = _heldout_judge()
    samples = sample_with_timesteps(model, timesteps, by_mode(*CHECK_SAMPLES), seed=CHECK_SEED)
    return judge.report(samples, heldout, value_range=model.value_range)["fid_judge"], len(heldout)


@functools.lru_cache(maxsize=1)
def _heldout_judge():
    """The judge and the held-out images, loaded once (the judge remembers the images' features)."""
    from aigc_course.zoo import evaluation_mnist, mnist_judge

    data = evaluation_mnist()
    return mnist_judge(data), data.x_val


def check_timesteps(timesteps, model) -> None:
    """Exercise 5.7: DDIM along ``timesteps`` (at most the budget's steps) on ``model`` (the shipped ddpm-mnist)
    reaches the FID-judge goal. The check draws its own samples (its own seed) and scores them against the
    split's 2,000 held-out images, which the model never saw in training."""
    budget, count, goal, baseline = (by_mode(*STEP_BUDGET), by_mode(*CHECK_SAMPLES), by_mode(*FID_GOAL),
                                     by_mode(*BASELINE_FID))
    mode = "快速模式" if is_quick() else "正常模式"
    with Check("练习 5.7", "只改采样的时间步（不重新训练）") as check:
        _require_diffusion_model("练习 5.7", model)
        path = _timesteps("练习 5.7", timesteps, model.schedule.steps, budget)
        check.checked(f"时间步 {len(path)} 个（预算 {budget} 步），从 T = {path[0]} 严格递减到 {path[-1]}")
        fid, heldout = heldout_fid(model, path)
        check.require(fid < goal,
                      f"{count} 个样本对 {heldout:,} 张留出图像的 FID-judge 是 {fid:.1f}，还没到目标 < {goal:g}"
                      f"（{mode}）。章节默认的均匀间隔在这个检查里约为 {baseline:g}。想一想：画的是哪个数字、整体轮廓在哪，"
                      "主要是在噪声大的那些步决定的，还是噪声小的那些步？你的时间步在这两段各花了几步？")
        check.checked(f"{count} 个样本（检查自己的种子）对 {heldout:,} 张留出图像的 FID-judge {fid:.1f} "
                      f"< 目标 {goal:g}（{mode}的目标；章节的均匀间隔约 {baseline:g}）")
