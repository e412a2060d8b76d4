"""Chapter 02 (GANs) exercises: the two losses from logits, what the discriminator can reach at the
equilibrium, which judge metric misses mode collapse, spherical interpolation, and a DCGAN trained to a
judge goal within a step budget.

Every check computes its own expected values (NumPy, float64) on small cases and, for the predict and
experiment exercises, measures the actual result itself (fresh samples, the shipped judge, held-out images).
"""

from __future__ import annotations

import functools

import numpy as np

from aigc_course.exercises import Exercise
from aigc_course.exercises.checking import Check, CheckFailed, check_prediction, first_match, same_values
from aigc_course.runtime import by_mode, is_quick

EXERCISES = (
    Exercise("2.1", "判别器的损失：从 logit 出发，带单边标签平滑", 2, "implement", "check_discriminator_loss",
             function="discriminator_loss_from_logits"),
    Exercise("2.2", "非饱和的生成器损失", 1, "implement", "check_generator_loss",
             function="generator_loss_non_saturating"),
    Exercise("2.3", "平衡点上判别器的损失", 1, "predict", "check_equilibrium_loss"),
    Exercise("2.4", "模式坍塌：哪个指标看不出来", 1, "predict", "check_collapse_metric"),
    Exercise("2.5", "球面插值 slerp", 2, "implement", "check_slerp", function="slerp"),
    Exercise("2.6", "在步数预算内让 DCGAN 过评委这一关", 3, "experiment", "check_dcgan_goal"),
)

# Exercise 2.6: the budget (optimizer steps of each network) and the goal, measured on fresh samples
STEP_BUDGET = 300
GOAL_CONFIDENCE = (0.8, 0.3)     # (normal mode, quick mode): the judge's mean confidence at least this
GOAL_FID = (400.0, 1200.0)       # and FID-judge against the held-out images at most this (no mode collapse);
                                 # quick mode trains a few steps only: its goal just says the code runs
GOAL_SAMPLES = 1000              # generated images the check scores
GOAL_SEED = 2024                 # their sampling seed (the notebook's own samples use other seeds)

_CLOSE = dict(rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------------------------- helpers
def _softplus(x):
    return np.logaddexp(0.0, np.asarray(x, dtype=np.float64))


def _raw(value) -> np.ndarray | None:
    """``value`` as a float64 array without any validation (None when it is not numeric)."""
    try:
        return np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _scalar_loss(check: Check, value, why_nan: str | None = None) -> float:
    """The learner's loss as a float: one number, finite (``why_nan``: the hint for NaN/inf)."""
    raw = _raw(value)
    if raw is not None and raw.size == 1 and not np.isfinite(raw).all() and why_nan:
        check.fail(why_nan)
    array = check.array(value, "损失")
    if array.size != 1:
        check.fail(f"损失应该是一个数（对批量求平均之后的标量），你的函数返回了形状为 {array.shape} 的数组："
                   "是不是忘了求平均？")
    return float(array.reshape(()))


_same = functools.partial(same_values, **_CLOSE, finite_only=True)
_first_match = functools.partial(first_match, same=_same)


# ----------------------------------------------------------------------------------------------- 2.1
def _d_loss(real, fake, real_label=1.0):
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    return float(np.mean(real_label * _softplus(-real) + (1 - real_label) * _softplus(real))
                 + np.mean(_softplus(fake)))


def _d_loss_mistakes(real, fake):
    """What the typical wrong discriminator losses give (real_label = 1), each with its hint."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    with np.errstate(all="ignore"):
        as_probabilities = -np.mean(np.log(real)) - np.mean(np.log(1 - fake))
    expected = _d_loss(real, fake)
    return [
        (as_probabilities, "你把 logit 当成了概率：判别器输出的是 logit ℓ（任意实数，可正可负），D = σ(ℓ)。"
                           "是不是直接对 logit 取了 log，或者用了交叉熵却没告诉它输入是 logit（from_logits）？"),
        (np.mean(_softplus(real)) + np.mean(_softplus(-fake)),
         "真实和生成的目标弄反了：判别器希望真实样本的 D(x) → 1（目标 1）、生成样本的 D(G(z)) → 0（目标 0）。"),
        (np.mean(_softplus(-real)), "结果只有真实样本那一项：生成样本的那一项 −log(1 − D(G(z))) 哪去了？"),
        (np.mean(_softplus(fake)), "结果只有生成样本那一项：真实样本的那一项 −log D(x) 哪去了？"),
        ((np.sum(_softplus(-real)) + np.sum(_softplus(fake))) / (real.size + fake.size),
         "你把两批拼在一起求了一个平均：本题（和包里的 discriminator_loss）要的是两项各自对自己的批量求平均、"
         "再相加，也就是 −V(D, G)；两批一样大时，你的结果正好是它的一半。"),
        (np.sum(_softplus(-real)) + np.sum(_softplus(fake)),
         "你对批量求的是和而不是平均：损失不应该随批量大小变大，每一项都要对自己的批量求平均。"),
        (-expected, "符号反了：你算的是 V(D, G)。判别器最大化 V，也就是最小化 −V（交叉熵，总是 ≥ 0）。"),
    ]


_D_CASES = (   # (name, real logits, fake logits): different batch sizes on purpose
    ("logit 都在 (0, 1) 之间", [0.9, 0.6, 0.75, 0.3], [0.2, 0.45, 0.1]),
    ("logit 有正有负", [2.0, -1.0, 0.5, 3.0, -0.2], [-2.5, 0.7, -4.0, 1.2]),
)
_D_EXTREME = ([-40.0, -35.0], [40.0, 38.0])   # D completely fooled: real rejected, fakes accepted, confidently


def check_discriminator_loss(discriminator_loss_from_logits) -> None:
    """Exercise 2.1: -E[log D(x)] - E[log(1 - D(G(z)))] from logits, averaged per batch, with ``real_label``."""
    with Check("练习 2.1", "判别器的损失") as check:
        for name, real, fake in _D_CASES:
            real_logits = np.float32(real)[:, None]
            fake_logits = np.float32(fake)[:, None]
            value = check.call(discriminator_loss_from_logits, real_logits.copy(), fake_logits.copy())
            raw = _raw(value)
            if raw is not None and raw.size == 1 and np.isnan(raw).all() and np.any(real_logits < 0):
                check.fail("logit 有负数时你的损失是 NaN：对负数取 log 才会这样。判别器输出的是 logit ℓ，"
                           "不是概率，D = σ(ℓ)。")
            got = _scalar_loss(check, value)
            expected = _d_loss(real_logits, fake_logits)
            if not np.isclose(got, expected, **_CLOSE):
                hint = _first_match(got, _d_loss_mistakes(real_logits, fake_logits))
                check.fail(hint or f"{name}（{len(real)} 个真实样本的 logit {real}，{len(fake)} 个生成样本的 logit "
                                   f"{fake}，real_label=1）时，损失应为 {expected:.4f}，你的是 {got:.4f}。")
        check.checked("两组大小不同的真实/生成 logit（有正有负）上的损失")

        real_logits, fake_logits = np.float32(_D_EXTREME[0])[:, None], np.float32(_D_EXTREME[1])[:, None]
        expected = _d_loss(real_logits, fake_logits)
        value = check.call(discriminator_loss_from_logits, real_logits.copy(), fake_logits.copy())
        got = _scalar_loss(check, value, why_nan=(
            "判别器非常自信地判错时（真实样本的 logit 约 −40、生成样本的约 +40），你的损失成了 inf 或 NaN。"
            "先算 σ(ℓ) 再取 log 会溢出：σ(40) 在浮点数里就等于 1，1 − σ(40) = 0。能不能直接用 logit 写这两项？"))
        if not np.isclose(got, expected, **_CLOSE):
            check.fail(f"真实样本的 logit 约 −40、生成样本的约 +40 时，损失应为 {expected:.4f}，你的是 {got:.4f}："
                       "是不是先算了 σ(ℓ)，再给概率加一个小 ε 或截断到 [ε, 1 − ε]（不带 from_logits 的交叉熵就会截断）"
                       "之后才取 log？这样大损失就被压小了。能不能直接用 logit 写这两项？")
        check.checked("logit 为 ±40 的极端情形（要求数值稳定）")

        real, fake = np.float32(_D_CASES[1][1])[:, None], np.float32(_D_CASES[1][2])[:, None]
        value = check.call(discriminator_loss_from_logits, real.copy(), fake.copy(), 0.9)
        got = _scalar_loss(check, value)
        expected = _d_loss(real, fake, 0.9)
        if not np.isclose(got, expected, **_CLOSE):
            hint = _first_match(got, [
                (_d_loss(real, fake, 1.0), "real_label=0.9 时你的结果和 real_label=1 时一模一样：参数 real_label 用上了吗？"),
                (np.mean(0.9 * _softplus(-real) + 0.1 * _softplus(real))
                 + np.mean(0.9 * _softplus(fake) + 0.1 * _softplus(-fake)),
                 "生成样本的目标也被你改了（从 0 改成了 0.1）：单边标签平滑只软化真实样本的目标，生成样本的目标仍然是 0。"),
                (np.mean(0.9 * _softplus(-real)) + np.mean(_softplus(fake)),
                 "目标 y = 0.9 时，真实样本的交叉熵 −[y log D(x) + (1 − y) log(1 − D(x))] 有两项，你只写了第一项。"),
                (np.mean(_softplus(-0.9 * real)) + np.mean(_softplus(fake)),
                 "你把 real_label 乘在了 logit 上：标签平滑改的是交叉熵的目标 y，不是判别器的输出。"),
                (np.mean(0.95 * _softplus(-real) + 0.05 * _softplus(real)) + np.mean(_softplus(fake)),
                 "真实样本的目标成了 0.95 而不是 0.9：Keras 的 label_smoothing=s 把目标变成 y(1 − s) + s/2，"
                 "不等于 real_label。本题的 real_label 就是真实样本的目标 y 本身。"),
                (np.mean(0.95 * _softplus(-real) + 0.05 * _softplus(real))
                 + np.mean(0.95 * _softplus(fake) + 0.05 * _softplus(-fake)),
                 "真实样本的目标成了 0.95、生成样本的成了 0.05：Keras 的 label_smoothing 是双边的，而且把目标变成 "
                 "y(1 − s) + s/2。本题是单边平滑：真实样本的目标就是 real_label，生成样本的仍然是 0。"),
            ])
            check.fail(hint or f"real_label=0.9 时（logit 同第二组），损失应为 {expected:.4f}，你的是 {got:.4f}。")
        check.checked("real_label=0.9 的单边标签平滑")


# ----------------------------------------------------------------------------------------------- 2.2
_G_CASES = (
    ("logit 都在 (0, 1) 之间", [0.2, 0.5, 0.9]),
    ("logit 有正有负", [-3.0, -0.5, 0.2, 1.5, -1.0]),
    ("判别器非常自信地认出了假样本（logit 约 −40）", [-40.0, -45.0, -38.0]),
    ("判别器极其自信（logit 约 −110，σ(ℓ) 在 float32 里下溢成 0）", [-110.0, -120.0, -105.0]),
)


def check_generator_loss(generator_loss_non_saturating) -> None:
    """Exercise 2.2: the non-saturating generator loss -E[log D(G(z))] from the fakes' logits."""
    with Check("练习 2.2", "非饱和的生成器损失") as check:
        for name, fake in _G_CASES:
            logits = np.float32(fake)[:, None]
            value = check.call(generator_loss_non_saturating, logits.copy())
            raw = _raw(value)
            if raw is not None and raw.size == 1 and np.isnan(raw).all() and np.any(logits < 0):
                check.fail("logit 有负数时你的损失是 NaN：对负数取 log 才会这样。判别器输出的是 logit ℓ，"
                           "不是概率，D(G(z)) = σ(ℓ)。")
            got = _scalar_loss(check, value, why_nan=f"{name}时你的损失成了 inf 或 NaN：先算 σ(ℓ) 再取 log 会溢出。"
                                                     "能不能直接用 logit 写？")
            f = np.asarray(logits, np.float64)
            expected = float(np.mean(_softplus(-f)))
            if np.isclose(got, expected, **_CLOSE):
                continue
            with np.errstate(all="ignore"):
                as_probabilities = -np.mean(np.log(f))
            hint = _first_match(got, [
                (as_probabilities, "你把 logit 当成了概率：D(G(z)) = σ(ℓ)，ℓ 才是判别器的输出。是不是直接对 logit 取了 log，"
                                   "或者交叉熵没告诉它输入是 logit（from_logits）？"),
                (-np.mean(_softplus(f)), "这是博弈式（极小极大）的损失 E[log(1 − D(G(z)))]：样本很假、D(G(z)) → 0 时它几乎没有梯度。"
                                         "非饱和损失最小化的是哪个量？"),
                (np.mean(_softplus(f)), "你给生成样本的目标是 0：这是判别器损失里的那一项 −log(1 − D(G(z)))，最小化它是在帮判别器"
                                        "把假样本认出来。生成器希望判别器把它的样本判成什么？"),
                (-expected, "符号反了：最小化 log D(G(z)) 会让 D(G(z)) → 0，也就是让样本更像假的（正是文章 003 的错误）。"),
                (np.sum(_softplus(-f)), "你对批量求的是和而不是平均：损失不应该随批量大小变大。"),
            ])
            check.fail(hint or f"{name}（生成样本的 logit {fake}）时，损失应为 {expected:.4f}，你的是 {got:.4f}。")
        check.checked("四组生成样本的 logit（含 −40 和 −110 附近的极端值）上的损失")


# ----------------------------------------------------------------------------------------------- 2.3
def two_peaks(n: int, seed: int = 0) -> np.ndarray:
    """``n`` samples (n, 1) float32 of the chapter's 1-D data: an even mixture of N(-2, 0.5^2) and N(2, 0.5^2)."""
    rng = np.random.default_rng(seed)
    return (np.where(rng.random(n) < 0.5, -2.0, 2.0) + 0.5 * rng.standard_normal(n))[:, None].astype("float32")


EQUILIBRIUM_SAMPLES = 20_000
_EQUILIBRIUM_SEEDS = (1001, 1002)   # fresh samples, never the notebook's training seeds


def equilibrium_loss(discriminator) -> tuple[float, float, float]:
    """(the package's discriminator loss, mean D(x), mean D(G(z))) of ``discriminator`` (a logit for each
    (n, 1) input) on fresh samples of a perfect generator: "real" and "generated" both from ``two_peaks``."""
    from aigc_course.models.gan import discriminator_loss

    real = np.asarray(discriminator(two_peaks(EQUILIBRIUM_SAMPLES, _EQUILIBRIUM_SEEDS[0])), dtype="float64")
    fake = np.asarray(discriminator(two_peaks(EQUILIBRIUM_SAMPLES, _EQUILIBRIUM_SEEDS[1])), dtype="float64")
    loss = float(discriminator_loss(real, fake))
    return loss, float(np.mean(0.5 + 0.5 * np.tanh(real / 2))), float(np.mean(0.5 + 0.5 * np.tanh(fake / 2)))


def check_equilibrium_loss(prediction, discriminator) -> bool:
    """Exercise 2.3: the prediction of the discriminator loss when p_g = p_data, against what the trained
    ``discriminator`` reaches on fresh samples (the minimum is 2 ln 2 with the package's convention)."""
    exercise, title = "练习 2.3", "平衡点上判别器的损失"
    if not callable(discriminator):
        raise CheckFailed(exercise, "第二个参数应该是训练好的判别器（上一格里的 `discriminator`）。")
    try:
        loss, d_real, d_fake = equilibrium_loss(discriminator)
    except Exception as error:   # a discriminator the learner changed so that it no longer takes (n, 1) inputs
        raise CheckFailed(exercise, f"用形状 (n, 1) 的一维样本调用判别器时出错（{type(error).__name__}: {error}）："
                                    "重新运行上面的实验格，把其中的 `discriminator` 传进来。") from None
    if not np.isfinite(loss):
        raise CheckFailed(exercise, "判别器在新样本上的损失不是有限值：重新运行上面的训练格。")
    explanation = (
        f"在两批各 {EQUILIBRIUM_SAMPLES:,} 个新样本上（都来自同一个分布，即 p_g = p_data），判别器的平均输出 "
        f"D(x) = {d_real:.3f}、D(G(z)) = {d_fake:.3f}，损失 {loss:.4f}。\n"
        f"理论：p_g = p_data 时最优判别器 D*(x) = p_data / (p_data + p_g) = 1/2，两项各为 −log(1/2) = ln 2，"
        f"加起来 2 ln 2 = ln 4 ≈ {2 * np.log(2):.4f}，正是 −V(D*, G) = log 4。这是判别器能达到的最小值：两批样本来自"
        "同一个分布，它再怎么训练也分不开。训练中单独一批的损失可以略低于它（一批只有几百个点，两堆点碰巧有些差别，"
        "判别器在这一批上占了便宜），换成大量新样本就回到 ln 4 附近或略高。\n"
        "如果你猜的是 0：判别器只有在两个分布分得开时才能“赢”。如果猜的是 ln 2 ≈ 0.693："
        "那是每一项的值；包里的 discriminator_loss 是两项之和（把真假两批拼在一起求一个平均的写法才得到 ln 2）。")
    return check_prediction(exercise, title, prediction, loss, explanation, tolerance=0.05)


# ----------------------------------------------------------------------------------------------- 2.4
COLLAPSE_CHOICES = ("置信度", "FID-judge", "最多类占比")
COLLAPSE_SAMPLES = 600


@functools.lru_cache(maxsize=1)
def _mnist():
    """The chapter's MNIST: the 8,000 / 2,000 split the judge was trained on (its 2,000 it never saw)."""
    from aigc_course.zoo import evaluation_mnist

    return evaluation_mnist()


@functools.lru_cache(maxsize=1)
def _judge():
    from aigc_course.zoo import mnist_judge

    return mnist_judge()


def collapse_reports() -> dict:
    """The judge's report, against the chapter's reference (2,000 training images), of two sets of real
    images the reference does not contain: held-out digits of every class, and only 1s (a "generator"
    collapsed onto one mode whose every image is perfect)."""
    return {name: dict(report) for name, report in _collapse_reports().items()}


@functools.lru_cache(maxsize=1)
def _collapse_reports() -> dict:
    data, judge = _mnist(), _judge()
    reference = data.x_train[:2000]
    rest_images, rest_labels = data.x_train[2000:], data.y_train[2000:]
    sets = {"真实图像（各个数字）": data.x_val[:COLLAPSE_SAMPLES],
            "只画数字 1": rest_images[rest_labels == 1][:COLLAPSE_SAMPLES]}
    return {name: judge.report(images, reference) for name, images in sets.items()}


def collapse_blind_metrics(reports: dict) -> list[str]:
    """The metrics under which the collapsed set looks as good as real images (no worse than real within a margin)."""
    real, ones = reports.values()
    blind = []
    if ones["judge_confidence"] >= real["judge_confidence"] - 0.01:
        blind.append("置信度")
    if ones["fid_judge"] <= 2 * real["fid_judge"]:
        blind.append("FID-judge")
    if ones["class_share_max"] <= real["class_share_max"] + 0.05:
        blind.append("最多类占比")
    return blind


def check_collapse_metric(prediction) -> bool:
    """Exercise 2.4: which of the judge's metrics still looks perfect for a generator that draws only 1s."""
    exercise, title = "练习 2.4", "模式坍塌：哪个指标看不出来"
    reports = collapse_reports()
    blind = collapse_blind_metrics(reports)
    actual = blind[0] if blind else "（没有）"
    (real_name, real), (ones_name, ones) = reports.items()
    explanation = (
        f"评委对两组 {COLLAPSE_SAMPLES} 张没参与参考集的真实图像打分（参考集同第 3 节：2,000 张训练图像）：\n"
        f"  {real_name}: 置信度 {real['judge_confidence']:.3f}，FID-judge {real['fid_judge']:.1f}，"
        f"最多类占比 {real['class_share_max']:.1%}\n"
        f"  {ones_name}: 置信度 {ones['judge_confidence']:.3f}，FID-judge {ones['fid_judge']:.1f}，"
        f"最多类占比 {ones['class_share_max']:.1%}\n"
        "置信度只问“每一张像不像某个清楚的数字”，一张一张地看，所以只会画一种（画得很好的）数字的生成器照样得高分；"
        "它也看不出多样性。FID-judge 比较的是整批特征的均值和协方差：少了九类数字，均值和协方差都偏了；"
        "类别占比直接数出“全是 1”。所以评估生成模型不能只看置信度（练习 2.6 的目标同时要求 FID-judge 够低）。")
    return check_prediction(exercise, title, prediction, actual, explanation, choices=COLLAPSE_CHOICES)


# ----------------------------------------------------------------------------------------------- 2.5
def _lerp(z0, z1, t):
    t = np.asarray(t, np.float64)[:, None]
    return (1 - t) * z0 + t * z1


def _slerp(z0, z1, t, normalise_angle=True, divide=True, reverse=False):
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    t = np.asarray(t, np.float64)[:, None]
    cosine = np.dot(z0, z1)
    if normalise_angle:
        cosine = cosine / (np.linalg.norm(z0) * np.linalg.norm(z1))
    with np.errstate(all="ignore"):
        omega = np.arccos(np.clip(cosine, -1, 1) if normalise_angle else cosine)
        if normalise_angle and np.sin(omega) < 1e-6:
            return _lerp(z0, z1, t[:, 0])
        a, b = np.sin((1 - t) * omega), np.sin(t * omega)
        if reverse:
            a, b = b, a
        scale = np.sin(omega) if divide else 1.0
        return (a * z0 + b * z1) / scale


def _unit_slerp(z0, z1, t):
    return _slerp(np.asarray(z0) / np.linalg.norm(z0), np.asarray(z1) / np.linalg.norm(z1), t)


_SLERP_CASES = (   # (what, z0, z1, t)
    ("两个正交的单位向量 [1, 0] 和 [0, 1]", [1.0, 0.0], [0.0, 1.0], [0.0, 0.25, 0.5, 1.0]),
    ("两个长度不为 1、夹角约 76° 的三维向量", [0.6, 0.0, 0.3], [0.2, 0.5, -0.1], [0.0, 0.3, 0.5, 0.8, 1.0]),
)


def _slerp_high_dim_case():
    rng = np.random.default_rng(7)
    return ("两个 100 维的标准正态向量（和 DCGAN 的噪声一样）", rng.standard_normal(100), rng.standard_normal(100),
            [0.0, 0.1, 0.5, 0.9, 1.0])


def check_slerp(slerp) -> None:
    """Exercise 2.5: spherical interpolation between latent vectors, for a 1-D array of t; falls back to linear
    interpolation when the two vectors point the same way."""
    with Check("练习 2.5", "球面插值") as check:
        cases = _SLERP_CASES + (_slerp_high_dim_case(),)
        for index, (what, z0, z1, t) in enumerate(cases):
            z0, z1, t = np.asarray(z0), np.asarray(z1), np.asarray(t)
            value = check.call(slerp, z0.copy(), z1.copy(), t.copy())
            raw = _raw(value)
            shape = (len(t), len(z0))
            if raw is not None and raw.shape == shape and not np.isfinite(raw).all() and index > 0:
                check.fail(f"{what}：你的结果里有 NaN 或 inf（单位向量上没有）。算夹角 ω 时，余弦是两个向量的"
                           "点积吗？长度不为 1 时，点积不是夹角的余弦。")
            got = check.array(value, "插值结果", shape=shape)
            expected = _slerp(z0, z1, t)
            if np.allclose(got, expected, **_CLOSE):
                continue
            hint = _first_match(got, [
                (_lerp(z0, z1, t), "这是线性插值 (1 − t)·z0 + t·z1：它走的是弦，不是大圆，中点的范数比两端小。"
                                   "球面插值的两个系数应该怎么随夹角 ω 变化？"),
                (_slerp(z0, z1, t, normalise_angle=False),
                 "单位向量上对了，长度不为 1 时错了：夹角 ω 的余弦是两个向量归一化之后的点积，你用的是原始向量的点积吧？"),
                (_slerp(z0, z1, t, reverse=True), "t = 0 时应该回到 z0、t = 1 时到 z1，你的结果反过来了：两个系数是不是对调了？"),
                (_slerp(z0, z1, t, divide=False), "方向对了，长度不对：两个系数 sin((1 − t)ω)、sin(tω) 还要除以什么，"
                                                  "才能让 t = 0、1 时恰好回到端点？"),
                (_unit_slerp(z0, z1, t), "你插值的是两个单位向量，结果都落在单位球面上：端点应该是 z0 和 z1 本身"
                                         "（只有算夹角时才需要归一化）。"),
            ])
            if hint is None:
                worst = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
                hint = (f"{what}、t = {t[worst[0]]:g} 时，第 {worst[1]} 个分量应为 {expected[worst]:.4f}，"
                        f"你的是 {got[worst]:.4f}。")
            check.fail(hint)
        check.checked("二维单位向量、三维一般向量、100 维噪声向量上沿 t 的插值点")

        t = np.array([0.0, 0.5, 1.0])
        for z0, z1 in (([1.0, 2.0, 2.0], [2.0, 4.0, 4.0]), ([0.0, 3.0, 0.0], [0.0, 1.5, 0.0])):
            z0, z1 = np.array(z0), np.array(z1)
            value = check.call(slerp, z0.copy(), z1.copy(), t.copy())
            raw = _raw(value)
            if raw is not None and raw.shape == (3, 3) and not np.isfinite(raw).all():
                check.fail(f"z0 = {z0.tolist()}、z1 = {z1.tolist()} 同方向（夹角 ω = 0）时你的结果里有 NaN 或 inf："
                           "sin ω = 0，不能再除以它（浮点误差还可能让余弦略大于 1，arccos 就给出 NaN）。"
                           "这种情况题目要求怎么处理？")
            got = check.array(value, "插值结果", shape=(3, 3))
            check.close(got, _lerp(z0, z1, t), f"z0 = {z0.tolist()}、z1 = {z1.tolist()} 同方向（夹角 0）时应退回线性插值，"
                                                f"t = 0.5 时应为 {_lerp(z0, z1, [0.5])[0].tolist()}，你的是 "
                                                f"{np.round(got[1], 4).tolist()}。", **_CLOSE)
        check.checked("两组同方向（夹角为 0）的向量")


# ----------------------------------------------------------------------------------------------- 2.6
def dcgan_goal() -> tuple[float, float]:
    """(least mean confidence, largest FID-judge) the DCGAN of exercise 2.6 has to reach, in the current mode."""
    return by_mode(GOAL_CONFIDENCE[0], GOAL_CONFIDENCE[1]), by_mode(GOAL_FID[0], GOAL_FID[1])


def dcgan_scores(gan) -> dict:
    """The judge's report on ``GOAL_SAMPLES`` fresh samples of ``gan``, against the held-out validation images."""
    samples = gan.sample(GOAL_SAMPLES, seed=GOAL_SEED)
    return _judge().report(samples, _mnist().x_val, value_range=gan.value_range)


def check_dcgan_goal(gan) -> None:
    """Exercise 2.6: within ``STEP_BUDGET`` steps of each network, the judge's mean confidence on fresh samples
    and their FID-judge against held-out images reach the goal of the current mode."""
    from aigc_course.models.gan import GAN

    confidence_goal, fid_goal = dcgan_goal()
    with Check("练习 2.6", "在步数预算内让 DCGAN 过评委这一关") as check:
        check.require(isinstance(gan, GAN), f"传给检查的应该是训练好的 GAN（上面的 `gan`），你传的是 {type(gan).__name__}。")
        check.require(hasattr(gan, "d_optimizer"), "这个 GAN 还没有 compile，也就还没训练：先运行上面的训练格。")
        steps = max(int(gan.d_optimizer.iterations), int(gan.g_optimizer.iterations))
        check.require(steps > 0, "这个 GAN 一步也没训练：先运行上面的训练格。")
        check.require(steps <= STEP_BUDGET, f"判别器和生成器各自最多更新 {STEP_BUDGET} 步，你的训练了 {steps} 步："
                                            "预算按步数算，不能多训练（重新运行训练格，从头训练）。")
        check.checked(f"训练步数 {steps} ≤ {STEP_BUDGET}")
        scores = dcgan_scores(gan)
        confidence, fid = scores["judge_confidence"], scores["fid_judge"]
        goal = (f"{'快速模式的目标（只确认代码能跑通）' if is_quick() else '目标'}是置信度 ≥ {confidence_goal}、"
                f"FID-judge ≤ {fid_goal:.0f}")
        measured = (f"评委对 {GOAL_SAMPLES} 张新样本的平均置信度 {confidence:.3f}，FID-judge {fid:.1f}"
                    f"（最少的数字占 {scores['class_share_min']:.1%}，最多的占 {scores['class_share_max']:.1%}）")
        if confidence < confidence_goal and fid > fid_goal:
            check.fail(f"{measured}；{goal}，两项都没达到。{steps} 步里学得还不够快：第 7 节的对照实验量过几种"
                       "学习率组合在同样轮数下的效果，可以从那里找思路。")
        check.require(confidence >= confidence_goal,
                      f"{measured}；{goal}。FID-judge 够了，置信度还差一点：样本的分布对了，但单张还不够清楚，"
                      "再调一调学习率的组合试试。")
        check.require(fid <= fid_goal,
                      f"{measured}；{goal}。置信度够了，FID-judge 却太高：单张图像够清楚，整批样本的分布离真实数据还远"
                      "（是不是有些数字被漏掉了？看看最少的数字占多少，回想练习 2.4）。")
        check.checked(f"{measured}；{goal}")
