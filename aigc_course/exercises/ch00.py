"""Chapter 0 exercises: the Bernoulli log-likelihood, the two EM steps, a bigram transition matrix, two
predictions (a blank image's NLL, the best add-alpha smoothing) and a mixture model on a compute budget.

Each implement check runs the learner's function on small cases with known answers, computes what the typical
wrong versions return and names the mistake when one matches; the predict checks compute the actual outcome
themselves; the experiment check re-reads the budget from the fitted model and measures the NLL on the
held-out images itself.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from aigc_course.exercises import Exercise
from aigc_course.exercises.checking import Check, CheckFailed, check_prediction, same_values
from aigc_course.runtime import by_mode, is_quick

EXERCISES = (
    Exercise("0.1", "伯努利像素的对数似然", 1, "implement", "check_log_bernoulli", "log_bernoulli"),
    Exercise("0.2", "全黑图像的 NLL", 1, "predict", "check_blank_image"),
    Exercise("0.3", "EM 的 E 步：在对数空间里算责任", 2, "implement", "check_e_step", "e_step"),
    Exercise("0.4", "EM 的 M 步与拉普拉斯平滑", 2, "implement", "check_m_step", "m_step"),
    Exercise("0.5", "二元语法的转移矩阵", 2, "implement", "check_bigram_transition", "bigram_transition"),
    Exercise("0.6", "平滑强度 α 与验证集 NLL", 1, "predict", "check_bigram_smoothing"),
    Exercise("0.7", "在计算预算内降低混合模型的验证集 NLL", 3, "experiment", "check_mixture_goal"),
)

SMOOTHING_CHOICES = (1.0, 0.1, 0.01, 0.001, 0.0001)  # exercise 0.6: the alphas compared
BEGIN, END = "^", "$"                                 # the chapter's start / end marks of a poem


# Exercise 0.7: the most components x EM iterations allowed (the chapter's K=10 x 30 iterations use up the
# normal-mode budget, its quick-mode K=10 x 5 fit in the quick one) and the held-out NLL to reach (the chapter's
# baseline gets 139.5 nats/image on these 2,000 images; the calibration runs are in the solution notebook).
NORMAL_BUDGET, QUICK_BUDGET = 300, 60
NORMAL_GOAL, QUICK_GOAL = 133.0, 134.0


def mixture_budget() -> int:
    """Exercise 0.7: the most components x EM iterations allowed in the current mode."""
    return by_mode(NORMAL_BUDGET, QUICK_BUDGET)


def mixture_goal() -> float:
    """Exercise 0.7: the held-out NLL (nats/image) to reach in the current mode."""
    return by_mode(NORMAL_GOAL, QUICK_GOAL)


@functools.lru_cache(maxsize=1)
def _held_out_mnist():
    """The 8,000 / 2,000 evaluation split of MNIST (``zoo.scoring.evaluation_mnist``), loaded once."""
    from aigc_course.zoo.scoring import evaluation_mnist

    return evaluation_mnist()


def _to_array(check: Check, value, name: str) -> np.ndarray:
    """``value`` as float64 without rejecting NaN/inf (the checks look at those themselves, to say why)."""
    try:
        return np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
    except (TypeError, ValueError):
        check.fail(f"{name}应该是数组（NumPy 数组或张量），你的函数返回了 {type(value).__name__}。")


_same = functools.partial(same_values, rtol=1e-5, atol=1e-8)


def _first_difference(actual: np.ndarray, expected: np.ndarray) -> str:
    """Where two same-shape arrays differ most, e.g. ``[1, 2] 应为 -3.2189，你的是 -1.6094``."""
    index = np.unravel_index(np.argmax(np.abs(np.nan_to_num(actual - expected, nan=np.inf))), actual.shape)
    where = ", ".join(str(int(i)) for i in index)
    return f"[{where}] 应为 {expected[index]:.5g}，你的是 {actual[index]:.5g}"


def _softmax_rows(values: np.ndarray, axis: int = 1) -> np.ndarray:
    shifted = values - values.max(axis=axis, keepdims=True)
    return np.exp(shifted) / np.exp(shifted).sum(axis=axis, keepdims=True)


# ---------------------------------------------------------------- 0.1 the Bernoulli log-likelihood

def _log_bernoulli(pixels: np.ndarray, means: np.ndarray) -> np.ndarray:
    return pixels @ np.log(means).T + (1.0 - pixels) @ np.log1p(-means).T


def _log_bernoulli_cases():
    """(description, pixels, means): a hand-sized case, MNIST-sized images, one image and one component."""
    rng = np.random.default_rng(0)
    hand_pixels = np.array([[1, 0, 1, 1], [0, 0, 0, 0]], dtype=np.float64)          # N=2, D=4
    hand_means = np.array([[0.9, 0.2, 0.6, 0.7], [0.5, 0.5, 0.5, 0.5], [0.1, 0.8, 0.3, 0.05]])  # K=3
    big_pixels = (rng.random((5, 784)) < 0.2).astype(np.float64)                     # N=5, D=784
    big_means = rng.uniform(0.02, 0.98, (3, 784))                                    # K=3
    return [("2 张 4 像素的图像、3 组 μ", hand_pixels, hand_means),
            ("5 张 784 像素的图像、3 组 μ", big_pixels, big_means),
            ("1 张 784 像素的图像、1 组 μ", big_pixels[:1], big_means[1:2])]


def check_log_bernoulli(log_bernoulli) -> None:
    """Exercise 0.1: ``log_bernoulli(pixels (N, D), means (K, D)) -> (N, K)`` of log p(x_n | mu_k) in nats."""
    with Check("练习 0.1", "伯努利像素的对数似然") as check:
        for description, pixels, means in _log_bernoulli_cases():
            expected = _log_bernoulli(pixels, means)
            (n, d), k = pixels.shape, len(means)
            got = _to_array(check, check.call(log_bernoulli, pixels.copy(), means.copy()), "返回值")
            if got.shape != expected.shape:
                if got.shape == expected.T.shape and n != k:
                    check.fail(f"{description}：返回值的形状应为 (N, K) = {expected.shape}（行是图像、列是 μ 的组），"
                               f"你的是 {got.shape}：行和列是不是颠倒了？")
                check.fail(f"{description}：返回值的形状应为 (N, K) = {expected.shape}，每张图像对每组 μ 各一个对数似然；"
                           f"你的是 {got.shape}：是不是在错误的轴上求和了，或者没有对 {d} 个像素求和？")
            if np.isnan(got).any():
                check.fail(f"{description}：结果里有 NaN。μ 都严格在 0 和 1 之间，正确的对数似然不会是 NaN："
                           "检查是否对负数或 0 取了对数。")
            if np.isneginf(got).any() or np.isposinf(got).any():
                if d == 784 and np.isneginf(got).any():
                    check.fail(f"{description}：结果里有 −inf，而 4 个像素的小例子是对的。784 个小于 1 的概率连乘，"
                               "结果小于浮点数能表示的最小正数，下溢成了 0，log 0 = −inf。"
                               "能不能不先连乘概率、而直接在对数空间里计算？")
                check.fail(f"{description}：结果里有 ±inf：μ 都严格在 0 和 1 之间，每一项的对数都是有限的。")
            wrong_versions = [
                (pixels @ np.log(means).T,
                 "只算了亮像素（x=1）的 log μ：暗像素（x=0）出现的概率 1−μ 也属于这张图的似然，它的对数加进去了吗？"),
                (pixels @ np.log1p(-means).T + (1 - pixels) @ np.log(means).T,
                 "x=1 的像素概率是 μ，x=0 的像素概率是 1−μ：你的实现是不是把两者对调了？"),
                (-expected, "符号反了：你返回的是负对数似然（NLL）。这里要的是对数似然本身，概率不超过 1，所以它 ≤ 0。"),
                (expected / d, "你的结果正好是正确值除以像素数：是不是对像素求了平均？独立像素的联合概率是各像素概率的"
                               "乘积，取对数后是求和。"),
                (expected / math.log(2), "单位不对：你的结果像是以 2 为底的对数（bits）。本课程的 NLL 都用自然对数（nats）。"),
                (expected / math.log(10), "单位不对：你的结果像是以 10 为底的对数。本课程的 NLL 都用自然对数（nats）。"),
            ]
            for wrong, hint in wrong_versions:
                if _same(got, wrong) and not _same(got, expected):
                    check.fail(f"{description}：{hint}")
            check.close(got, expected, f"{description}：数值不对，{_first_difference(got, expected)}。"
                                       "对照公式逐项检查：每个像素贡献 x·log μ + (1−x)·log(1−μ)，再对像素求和。",
                        rtol=1e-6, atol=1e-6)
        check.checked("3 组图像与 μ（含 784 像素、会让直接连乘下溢的情形）上的 (N, K) 对数似然")


# ---------------------------------------------------------------- 0.2 a blank image's NLL (predict)

def _require_fitted_mixture(exercise: str, model) -> None:
    from aigc_course.models.bernoulli_mixture import BernoulliMixtureClassModel

    if not isinstance(model, BernoulliMixtureClassModel):
        raise CheckFailed(exercise, f"这里要传入拟合好的 BernoulliMixtureClassModel，你传入的是 {type(model).__name__}。")
    if not hasattr(model, "means"):
        raise CheckFailed(exercise, "模型还没有拟合：先调用 `.fit(训练图像, 训练标签)`，再运行这一格。")


def check_blank_image(prediction, model) -> bool:
    """Exercise 0.2: does the all-black image get a lower NLL than the average held-out digit? ("A": higher,
    "B": lower); the NLLs are computed here from ``model``."""
    exercise = "练习 0.2"
    from aigc_course.models.bernoulli_mixture import threshold_pixels

    _require_fitted_mixture(exercise, model)
    data = _held_out_mnist()
    x_val = data.x_val
    blank = np.zeros((1, 28, 28), dtype=np.uint8)
    blank_nll = float(-model.log_likelihood(blank)[0])
    val_nll = -model.log_likelihood(x_val)
    actual = "B" if blank_nll < val_nll.mean() else "A"
    share_worse = float((val_nll > blank_nll).mean())
    blank_class = int(model.predict(blank)[0])
    lit = threshold_pixels(data.x_train).sum(axis=1)
    sparsest = int(np.argmin([lit[data.y_train == digit].mean() for digit in range(10)]))
    which = f"数字 {blank_class}" + ("（平均亮像素最少的一类）" if blank_class == sparsest else "")
    numbers = (f"全黑图像的 NLL 是 {blank_nll:.1f} nats，验证集 {len(x_val):,} 张数字的平均 NLL 是 {val_nll.mean():.1f} nats；"
               f"{share_worse:.0%} 的真实数字比这张全黑图像的 NLL 更高。按贝叶斯公式，模型把全黑图像判成{which}。\n")
    if actual == "B":
        explanation = numbers + (
            "原因在“像素独立”：绝大多数像素在绝大多数数字里都是暗的（μ 很小），全黑图像在每个像素上都取了最可能的值，"
            "所以模型给它的概率比大多数真实的手写数字都高——尽管它根本不是数字。\n"
            "教训：似然高不等于“像真实数据”。NLL 在验证集上平均，衡量的是模型整体好不好；"
            "它不能用来判断单张图像像不像数字。衡量生成样本还要看评委的 FID-judge 等指标。")
    else:
        explanation = numbers + (
            "这个模型给全黑图像的概率比平均的真实数字低。不过像素独立的模型里，全黑图像在每个像素上都取了"
            "（对大多数像素而言）最可能的值：换成第 5 节那样 K=1 的朴素贝叶斯再试一次，结果会怎样？")
    if isinstance(prediction, str):
        prediction = prediction.strip().upper()
    return check_prediction(exercise, "全黑图像的 NLL", prediction, actual, explanation, choices=("A", "B"))


# ---------------------------------------------------------------- 0.3 the E step

def _e_step_cases():
    """(description, log_weights (K,), log_likelihoods (N, K))."""
    small = np.array([[-1.0, -2.0, -3.0], [-2.0, -2.0, -2.0], [-3.0, -1.0, -2.0], [-5.0, -4.0, -1.0]])
    mnist_sized = np.array([[-760.0, -780.0, -1000.0], [-1200.0, -1190.0, -1195.0], [-900.0, -899.0, -950.0],
                            [-830.0, -845.0, -800.0], [-1000.0, -1000.0, -1000.0]])
    return [("4 张图、3 个分量、对数似然在 −5 到 −1 之间", np.log([0.5, 0.3, 0.2]), small),
            ("5 张图、3 个分量、对数似然在 −1200 到 −760 之间（784 像素图像的典型大小）", np.log([0.6, 0.3, 0.1]),
             mnist_sized),
            ("3 张图、1 个分量", np.log([1.0]), np.array([[-300.0], [-5.0], [-900.0]]))]


def check_e_step(e_step) -> None:
    """Exercise 0.3: ``e_step(log_weights (K,), log_likelihoods (N, K)) -> responsibilities (N, K)``."""
    with Check("练习 0.3", "EM 的 E 步") as check:
        small_case_right = False
        for description, log_weights, log_likelihoods in _e_step_cases():
            expected = _softmax_rows(log_likelihoods + log_weights)
            n, k = log_likelihoods.shape
            got = _to_array(check, check.call(e_step, log_weights.copy(), log_likelihoods.copy()), "责任")
            if got.shape != expected.shape:
                if got.shape == expected.T.shape:
                    check.fail(f"{description}：责任的形状应为 (N, K) = {expected.shape}，你的是 {got.shape}："
                               "行（图像）和列（分量）是不是颠倒了？")
                check.fail(f"{description}：责任的形状应为 (N, K) = {expected.shape}（每张图对每个分量一个概率），"
                           f"你的是 {got.shape}。")
            huge = log_likelihoods.max() < -700
            underflow = "在 float64 里 e^(−750) 已经小于能表示的最小正数，直接取指数会下溢成 0"
            if np.isnan(got).any() or np.isinf(got).any():
                if huge and small_case_right:
                    check.fail(f"{description}：结果里有 NaN 或 inf，而小例子是对的。{underflow}，归一化时就成了 0/0。"
                               "分子、分母同时乘上同一个数，比值会变吗？（本章的 logsumexp 正是这样做的）")
                check.fail(f"{description}：结果里有 NaN 或 inf：检查是否有 0/0 或对 0 取了对数。")
            row_sums = got.sum(axis=1)
            if huge and small_case_right and np.allclose(row_sums, 0.0, atol=1e-6):
                check.fail(f"{description}：每一行都几乎是 0，而小例子是对的。{underflow}。"
                           "分子、分母同时乘上同一个数，比值会变吗？（本章的 logsumexp 正是这样做的）")
            if huge and small_case_right and np.allclose(got, 1.0 / k) and not np.allclose(expected, 1.0 / k):
                check.fail(f"{description}：每个分量的责任都成了 1/K，而小例子是对的。{underflow}，"
                           "加进去的小常数就成了唯一剩下的东西。分子、分母同时乘上同一个数，比值会变吗？")
            wrong_versions = [
                (_softmax_rows(log_likelihoods + log_weights, axis=0),
                 "你的每一列之和为 1，而应当是每一行之和为 1：责任 r_nk 是图像 n 在 K 个分量上的概率分布。归一化的轴对吗？"),
                (_softmax_rows(log_likelihoods),
                 "结果与分量权重 π 无关：p(k | x) ∝ π_k · p(x | k)，log π_k 加进去了吗？"),
                (_softmax_rows(log_likelihoods + np.exp(log_weights)),
                 "加进去的像是 π_k 本身：在对数空间里，乘以 π_k 对应加上 log π_k。"),
                (_softmax_rows(log_likelihoods - log_weights),
                 "log π_k 的符号反了：p(k | x) ∝ π_k · p(x | k)，取对数后是加上 log π_k。"),
                (np.log(np.maximum(expected, 1e-300)),
                 "你返回的像是 log r_nk：这里要的是责任 r_nk 本身（每一行是和为 1 的概率）。"),
            ]
            for wrong, hint in wrong_versions:
                if _same(got, wrong, rtol=1e-4, atol=1e-7) and not _same(got, expected, rtol=1e-4, atol=1e-7):
                    check.fail(f"{description}：{hint}")
            if not np.allclose(row_sums, 1.0, atol=1e-5):
                row = int(np.argmax(np.abs(row_sums - 1.0)))
                check.fail(f"{description}：每一行之和应为 1，你的第 {row} 行之和是 {row_sums[row]:.4g}：归一化了吗？")
            check.close(got, expected, f"{description}：数值不对，{_first_difference(got, expected)}。"
                                       "对照 r_nk = π_k p(x_n|k) / Σ_j π_j p(x_n|j) 检查。", rtol=1e-4, atol=1e-7)
            small_case_right = True
        check.checked("3 组对数似然（含 784 像素图像那样 −1000 左右、直接取指数会下溢的情形）上的责任")


# ---------------------------------------------------------------- 0.4 the M step

def _m_step(pixels, responsibilities, smoothing):
    counts = responsibilities.sum(axis=0)
    weights = (counts + smoothing) / (len(pixels) + smoothing * len(counts))
    means = (responsibilities.T @ pixels + smoothing) / (counts[:, None] + 2 * smoothing)
    return weights, means


def _m_step_cases():
    """(description, pixels (N, D), responsibilities (N, K), smoothing)."""
    rng = np.random.default_rng(1)
    hard_pixels = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 1], [0, 1, 1], [1, 0, 1]], dtype=np.float64)
    hard = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 0]], dtype=np.float64)
    soft_pixels = (rng.random((7, 5)) < 0.4).astype(np.float64)
    soft = rng.dirichlet(np.ones(3), size=7)
    return [("5 张 3 像素的图像、2 个分量、每张图完全属于一个分量、平滑强度 1", hard_pixels, hard, 1.0),
            ("7 张 5 像素的图像、3 个分量、软责任、平滑强度 1", soft_pixels, soft, 1.0),
            ("同样 7 张图、平滑强度 0.5", soft_pixels, soft, 0.5)]


def check_m_step(m_step) -> None:
    """Exercise 0.4: ``m_step(pixels (N, D), responsibilities (N, K), smoothing) -> (weights (K,), means (K, D))``
    with Laplace smoothing as in the chapter."""
    with Check("练习 0.4", "EM 的 M 步与拉普拉斯平滑") as check:
        for description, pixels, responsibilities, smoothing in _m_step_cases():
            expected_weights, expected_means = _m_step(pixels, responsibilities, smoothing)
            (n, d), k = pixels.shape, responsibilities.shape[1]
            result = check.call(m_step, pixels.copy(), responsibilities.copy(), smoothing)
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                check.fail(f"应返回两个数组 (weights, means)，你的函数返回了 {type(result).__name__}。")
            weights = _to_array(check, result[0], "weights")
            means = _to_array(check, result[1], "means")
            if weights.shape == (k, d) and means.shape == (k,):
                check.fail("返回值的顺序应为 (weights, means)：先 π（形状 (K,)），再 μ（形状 (K, D)）。")
            if weights.shape != (k,):
                check.fail(f"{description}：π 的形状应为 (K,) = ({k},)，你的是 {weights.shape}："
                           "N_k 是对哪个轴求和得到的？")
            if means.shape != (k, d):
                if means.shape == (d, k):
                    check.fail(f"{description}：μ 的形状应为 (K, D) = ({k}, {d})（每个分量一行），你的是 {means.shape}。")
                check.fail(f"{description}：μ 的形状应为 (K, D) = ({k}, {d})，你的是 {means.shape}。")
            if np.isnan(weights).any() or np.isnan(means).any() or np.isinf(weights).any() or np.isinf(means).any():
                check.fail(f"{description}：结果里有 NaN 或 inf：检查分母是否可能为 0。")
            counts = responsibilities.sum(axis=0)
            hard_coded = _m_step(pixels, responsibilities, 1.0)
            if smoothing != 1.0 and _same(weights, hard_coded[0]) and _same(means, hard_coded[1]):
                check.fail(f"{description}：平滑强度 1 的例子是对的，平滑强度 {smoothing} 时结果却和平滑强度 1 一样："
                           "是不是没有用参数 smoothing，而是把 1 写死了？")
            counts_safe = np.maximum(counts, 1e-300)
            if _same(weights, counts / n) and _same(means, (responsibilities.T @ pixels) / counts_safe[:, None]):
                check.fail(f"{description}：π 和 μ 都没有做拉普拉斯平滑。不平滑时，一个分量里从没亮过的像素 μ 恰好是 0，"
                           "验证集里只要有一张图在这个像素亮了，它的对数似然就是 −∞。平滑强度 a 加在哪里，见公式。")
            # π first
            weight_versions = [
                (counts / n, "π 没有做平滑：分子要加平滑强度 a，分母也要相应地加。"),
                ((counts + smoothing) / (n + smoothing),
                 f"π 的和应为 1，你的和是 {weights.sum():.4g}：分子里每个分量都加了 a，分母一共该加多少？"),
                ((counts + smoothing) / (n + 2 * smoothing),
                 f"π 的和应为 1，你的和是 {weights.sum():.4g}：分子里每个分量（共 K 个）都加了 a，分母一共该加多少？"),
            ]
            for wrong, hint in weight_versions:
                if _same(weights, wrong) and not _same(weights, expected_weights):
                    check.fail(f"{description}：{hint}")
            if not np.isclose(weights.sum(), 1.0, atol=1e-6):
                check.fail(f"{description}：π 的和应为 1，你的和是 {weights.sum():.4g}。")
            check.close(weights, expected_weights, f"{description}：π 不对，{_first_difference(weights, expected_weights)}。"
                                                   "N_k 是分量 k 分到的责任之和。")
            # then μ
            weighted = responsibilities.T @ pixels
            mean_versions = [
                (weighted / counts[:, None],
                 "μ 没有做拉普拉斯平滑：没有平滑时，一个分量里从没亮过的像素 μ 恰好是 0，"
                 "验证集里只要有一张图在这里亮了，它的对数似然就是 −∞。"),
                ((weighted + smoothing) / (counts[:, None] + smoothing),
                 "μ 的分母不对：平滑相当于给每个像素多记了一次“亮”和一次“暗”，分母该加多少？"),
                ((weighted + smoothing) / (n + 2 * smoothing),
                 "μ_k 应是分给第 k 个分量的图像里像素亮的（加权）比例：分母是这个分量分到的（加权）图像数 N_k，"
                 "而不是全部图像数 N。"),
                (np.broadcast_to((pixels.sum(axis=0) + smoothing) / (n + 2 * smoothing), (k, d)),
                 "每个分量的 μ 都一样，与责任无关：像素计数要按责任 r_nk 加权。"),
            ]
            for wrong, hint in mean_versions:
                if _same(means, wrong) and not _same(means, expected_means):
                    check.fail(f"{description}：{hint}")
            if means.min() <= 0.0 or means.max() >= 1.0:
                check.fail(f"{description}：μ 里出现了恰好等于 0 或 1（或超出范围）的值，平滑之后每个 μ 都应严格在 0 和 1 之间。")
            check.close(means, expected_means, f"{description}：μ 不对，{_first_difference(means, expected_means)}。"
                                               "对照 μ_kd = (Σ_n r_nk x_nd + a) / (N_k + 2a) 检查。")
        check.checked("硬分配、软责任、平滑强度 1 和 0.5 共 3 组情形下的 π 与 μ")


# ---------------------------------------------------------------- 0.5 the bigram transition matrix

def _bigram_counts(sequences, vocab_size: int) -> np.ndarray:
    counts = np.zeros((vocab_size, vocab_size))
    for ids in sequences:
        ids = np.asarray(ids, dtype=np.int64)
        np.add.at(counts, (ids[:-1], ids[1:]), 1)
    return counts


def _normalise_rows(counts: np.ndarray, alpha: float) -> np.ndarray:
    smoothed = counts + alpha
    return smoothed / smoothed.sum(axis=1, keepdims=True)


def _bigram_cases():
    """(description, sequences, vocab_size, alpha): ids 0 = start mark, last id = end mark."""
    return [("2 个序列、V=5、α=1", [[0, 1, 2, 4], [0, 2, 1, 2, 4]], 5, 1.0),
            ("3 个序列（其中一个有重复的字对）、V=6、α=0.5", [[0, 1, 3, 3, 3, 3, 5], [0, 2, 1, 5], [0, 3, 4, 3, 4, 5]], 6, 0.5),
            ("1 个序列、V=4、α=0.01", [[0, 1, 2, 1, 2, 1, 3]], 4, 0.01)]


def check_bigram_transition(bigram_transition) -> None:
    """Exercise 0.5: ``bigram_transition(sequences, vocab_size, alpha) -> P (V, V)``, P[a, b] = p(b | a) with
    add-alpha smoothing, pairs counted inside each sequence only."""
    with Check("练习 0.5", "二元语法的转移矩阵") as check:
        for description, sequences, vocab_size, alpha in _bigram_cases():
            counts = _bigram_counts(sequences, vocab_size)
            expected = _normalise_rows(counts, alpha)
            got = _to_array(check, check.call(bigram_transition, [list(ids) for ids in sequences], vocab_size, alpha),
                            "转移矩阵")
            if got.shape != expected.shape:
                check.fail(f"{description}：转移矩阵的形状应为 (V, V) = {expected.shape}，你的是 {got.shape}。")
            if np.isnan(got).any() or np.isinf(got).any():
                check.fail(f"{description}：结果里有 NaN 或 inf。结束标记（编号 {vocab_size - 1}）后面从来没有字，"
                           "它那一行的计数全是 0：平滑加上去了吗？分母会不会是 0？")
            concatenated = np.concatenate([np.asarray(ids) for ids in sequences])
            each_pair_once = np.zeros_like(counts)
            for ids in sequences:
                each_pair_once[np.asarray(ids[:-1]), np.asarray(ids[1:])] += 1
            concatenated_once = np.zeros_like(counts)
            concatenated_once[concatenated[:-1], concatenated[1:]] += 1
            wrong_versions = [
                (_normalise_rows(counts.T, alpha),
                 "行应是“当前字” a、列是“下一个字” b：P[a, b] = p(b | a)。你的矩阵是不是把字对的前后颠倒了？"),
                ((counts + alpha) / (counts + alpha).sum(axis=0, keepdims=True),
                 "你的每一列之和为 1，而应当是每一行之和为 1：第 a 行是“当前字为 a 时下一个字”的概率分布。归一化的轴对吗？"),
                (_normalise_rows(each_pair_once, alpha),
                 "同一个字对在一个序列里出现多次时只数了一次：NumPy 里 `counts[前, 后] += 1` 这样的花式索引赋值，"
                 "遇到重复的下标只加一次。"),
                (_normalise_rows(concatenated_once, alpha),
                 "同一个字对出现多次时只数了一次（NumPy 的花式索引 `+= 1` 遇到重复下标只加一次），"
                 "而且把上一个序列的最后一个字和下一个序列的第一个字也当成了字对。"),
                (_normalise_rows(_bigram_counts([concatenated], vocab_size), alpha),
                 "把上一个序列的最后一个字（结束标记）和下一个序列的第一个字（开始标记）也当成了字对："
                 "字对只应在同一个序列内部数。"),
            ]
            for wrong, hint in wrong_versions:
                if _same(got, wrong) and not _same(got, expected):
                    check.fail(f"{description}：{hint}")
            unsmoothed_rows = counts.sum(axis=1, keepdims=True)
            unsmoothed = np.divide(counts, unsmoothed_rows, out=np.zeros_like(counts), where=unsmoothed_rows > 0)
            if _same(got, unsmoothed) or (got == 0).any():
                check.fail(f"{description}：有的字对概率恰好是 0：α 没有起作用？加性平滑让没出现过的字对也有一点概率。")
            if alpha != 1.0 and _same(got, _normalise_rows(counts, 1.0)):
                check.fail(f"{description}：结果和 α=1 时一样：是不是没有用参数 alpha，而是把平滑强度写死了？")
            row_sums = got.sum(axis=1)
            if not np.allclose(row_sums, 1.0, atol=1e-6):
                row = int(np.argmax(np.abs(row_sums - 1.0)))
                check.fail(f"{description}：每一行都应是概率分布（和为 1），你的第 {row} 行之和是 {row_sums[row]:.4g}："
                           "分子里每个格子都加了 α，分母一共该加多少？")
            check.close(got, expected, f"{description}：数值不对，{_first_difference(got, expected)}。"
                                       "先确认计数 c(a, b) 对不对（每个序列内部相邻的字对），再看平滑与归一化。",
                        rtol=1e-6, atol=1e-9)
        check.checked("3 组序列（含重复字对、多个序列、没有后继字的结束标记）上的计数、平滑与按行归一化")


# ---------------------------------------------------------------- 0.6 the best add-alpha smoothing (predict)

def _poem_text(poem) -> str:
    return getattr(poem, "text", poem)


def bigram_validation_nll(poems_train, poems_val, alphas=SMOOTHING_CHOICES) -> dict:
    """Validation NLL (nats/char) of the chapter's bigram model for each add-alpha in ``alphas``, on the pairs
    whose characters both occur in the training poems; also the share of those pairs never seen in training.

    Counted sparsely (only the observed pairs), so no V x V matrix is built.
    """
    vocab = sorted({ch for poem in poems_train for ch in _poem_text(poem)} | {BEGIN, END})
    index = {ch: i for i, ch in enumerate(vocab)}
    size = len(vocab)

    def pair_codes(poems) -> np.ndarray:
        codes = []
        for poem in poems:
            ids = [index.get(ch, -1) for ch in BEGIN + _poem_text(poem) + END]
            codes.extend(a * size + b for a, b in zip(ids[:-1], ids[1:]) if a >= 0 and b >= 0)
        return np.asarray(codes, dtype=np.int64)

    train_codes, val_codes = pair_codes(poems_train), pair_codes(poems_val)
    seen, seen_counts = np.unique(train_codes, return_counts=True)
    row_totals = np.bincount(train_codes // size, minlength=size)
    position = np.minimum(np.searchsorted(seen, val_codes), len(seen) - 1)
    val_counts = np.where(seen[position] == val_codes, seen_counts[position], 0)
    val_rows = row_totals[val_codes // size]
    nll = {alpha: float(-np.log((val_counts + alpha) / (val_rows + alpha * size)).mean()) for alpha in alphas}
    return {"nll": nll, "unseen_share": float((val_counts == 0).mean()), "pairs": len(val_codes),
            "vocab_size": size}


def check_bigram_smoothing(prediction, poems_train, poems_val) -> bool:
    """Exercise 0.6: which alpha of ``SMOOTHING_CHOICES`` gives the lowest validation NLL (computed here)?"""
    exercise = "练习 0.6"
    if len(poems_train) == 0 or len(poems_val) == 0:
        raise CheckFailed(exercise, "传入第 7 节那样划分的训练诗和验证诗（两个非空列表）。")
    result = bigram_validation_nll(poems_train, poems_val)
    nll = result["nll"]
    best = min(nll, key=nll.get)
    table = "；".join(f"α={alpha:g}: {value:.3f}" for alpha, value in nll.items())
    explanation = (
        f"验证集 NLL（nats/字，{result['pairs']:,} 个字对）：{table}。\n"
        f"验证集里 {result['unseen_share']:.1%} 的字对在训练诗里一次也没出现过，这些字对的概率全靠 α 给："
        f"p = α / (前一个字在训练诗里的出现次数 + α·V)，V = {result['vocab_size']:,}。\n"
        "α 太小：没见过的字对概率几乎为 0，每遇到一个就要付出很大的 −log p；"
        "α 太大：每一行要把 α·V 份“假计数”分给几千个没见过的字，常见字对的概率被稀释。"
        "最好的 α 在两者之间，要在验证集上选出来（而不是训练集：训练集上 α 越小越好）。")
    if isinstance(prediction, str):
        try:
            prediction = float(prediction)
        except ValueError:
            pass
    if isinstance(prediction, (int, float)) and not isinstance(prediction, bool):
        prediction = next((alpha for alpha in SMOOTHING_CHOICES if math.isclose(prediction, alpha)), prediction)
    return check_prediction(exercise, "平滑强度 α 与验证集 NLL", prediction, best, explanation,
                            choices=SMOOTHING_CHOICES)


# ---------------------------------------------------------------- 0.7 the mixture on a budget (experiment)

def check_mixture_goal(model) -> None:
    """Exercise 0.7: a fitted ``BernoulliMixtureClassModel`` within ``mixture_budget()`` components x EM
    iterations, trained on the evaluation split's 8,000 images, whose NLL on its 2,000 held-out images
    (measured here) is at most ``mixture_goal()``."""
    exercise, mode = "练习 0.7", ("快速模式" if is_quick() else "正常模式")
    _require_fitted_mixture(exercise, model)
    with Check(exercise, "在计算预算内降低混合模型的验证集 NLL") as check:
        data = _held_out_mnist()
        budget, goal = mixture_budget(), mixture_goal()
        k = model.num_components
        iterations = max(len(curve) for curve in model.train_log_likelihood)
        check.require(model.means.shape[0] == 10 and model.means.shape[-1] == 784,
                      f"模型应当对 10 个数字类别、784 个像素建模，你的 μ 形状是 {model.means.shape}。")
        check.require(k * iterations <= budget,
                      f"超出计算预算：K × EM 迭代次数 = {k} × {iterations} = {k * iterations}，{mode}的预算是 {budget}。"
                      "减少分量数或迭代次数。")
        prior = np.log(np.bincount(data.y_train, minlength=10) / len(data.y_train))
        check.require(np.allclose(model.class_log_prior, prior),
                      "模型的类别先验 p(y) 与 8,000 张训练图像的不一致：只用 `mnist.x_train, mnist.y_train` 训练，"
                      "验证图像留给检查打分。")
        check.checked(f"预算 K × 迭代次数 = {k} × {iterations} = {k * iterations} ≤ {budget}（{mode}）")
        with np.errstate(all="ignore"):
            val_nll = float(-model.log_likelihood(data.x_val).mean())
        if not np.isfinite(val_nll):
            check.fail(f"验证集 NLL 是 {val_nll}：平滑强度为 {model.smoothing:g} 时，μ 可能恰好是 0 或 1，"
                       "验证图像里只要有一个这样的像素取了“不可能”的值，似然就是 0（见练习 0.4）。")
        if val_nll > goal:
            gap = f"验证集 NLL 是 {val_nll:.2f} nats/图，{mode}的目标是 ≤ {goal}，还差 {val_nll - goal:.2f}。"
            if model.smoothing >= 1.0 and k > 10:
                check.fail(gap + f"只增加 K 帮助不大：K={k} 时每个分量只分到几十张图像，平滑强度 {model.smoothing:g} "
                                 "相当于给每个像素额外记了一次亮、一次暗——对这么少的图像，这个先验还算“轻”吗？")
            if model.smoothing >= 1.0:
                check.fail(gap + f"平滑强度还是 {model.smoothing:g}：看看练习 0.4 的公式，它把从没亮过的像素的 μ "
                                 "抬到了多高？每张图上几百个这样的像素，一共要付出多少 nats？")
            if k <= 10:
                check.fail(gap + f"K 还是 {k}：EM 曲线在第几次迭代后就几乎不动了？省下的迭代次数可以换成更多分量。")
            check.fail(gap + "试着在预算内换一组 K、迭代次数与平滑强度的组合。")
        other = f"快速模式的目标是 {QUICK_GOAL}" if mode == "正常模式" else f"正常模式的目标是 {NORMAL_GOAL}"
        check.checked(f"{len(data.x_val):,} 张验证图像上的 NLL = {val_nll:.2f} nats/图 ≤ {mode}的目标 {goal}（{other}）")
