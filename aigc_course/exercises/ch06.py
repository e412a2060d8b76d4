"""Chapter 06 (exact likelihood) exercises: the masks of a masked convolution, pixel-by-pixel sampling, the affine
coupling layer, bits per dimension of 8-bit images through the logit transform, two predictions (how many gated
layers until the last row sees the first; what a lower temperature does to a flow's bits/dim) and a held-out
PixelCNN NLL goal within a training-step budget.

Conventions are the package's (:mod:`aigc_course.models.pixelcnn`, :mod:`aigc_course.models.flows`): masks are
1 where a position is seen, raster order is row by row and left to right, likelihoods of binarised images are in
nats per image, the logit transform is y = logit(alpha + (1 - 2 alpha) u) with alpha = 0.05, and bits per
dimension count -log P(x) of the 8-bit pixels (the D log 256 of the dequantisation included).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from aigc_course.exercises import Exercise
from aigc_course.exercises.checking import Check, CheckFailed, check_prediction, first_match, same_values
from aigc_course.runtime import by_mode, is_quick

EXERCISES = (
    Exercise("6.1", "掩码卷积的掩码 A 与 B", 1, "implement", "check_conv_mask", function="conv_mask"),
    Exercise("6.2", "几层之后最后一行才看得见第一行", 1, "predict", "check_layers_to_first_row"),
    Exercise("6.3", "逐像素采样", 2, "implement", "check_sample_raster", function="sample_raster"),
    Exercise("6.4", "仿射耦合层的正向变换", 2, "implement", "check_coupling_forward", function="coupling_forward"),
    Exercise("6.5", "8 位图像的 bits/dim", 2, "implement", "check_bits_per_dim_8bit", function="bits_per_dim_8bit"),
    Exercise("6.6", "降低流的温度", 1, "predict", "check_flow_temperature"),
    Exercise("6.7", "在步数预算内压低 PixelCNN 的留出集 NLL", 3, "experiment", "check_pixelcnn_nll"),
)

LOGIT_ALPHA = 0.05

# Exercise 6.2: the gated PixelCNN's windows (the chapter's) and the output whose receptive field is measured
FIRST_KERNEL_SIZE, KERNEL_SIZE = 7, 3
LAST_ROW_OUTPUT = (27, 14)

# Exercise 6.3: the toy autoregressive model (2x3 binary images) and how many samples the check draws
SAMPLER_SHAPE = (2, 3)
SAMPLER_MODEL_SEED = 9        # chosen so that every typical mistake is far (in total variation) from the truth
SAMPLER_DRAWS = 20_000
SAMPLER_TOLERANCE = 0.06      # total variation; sampling noise is about 0.02 at 20,000 draws

# Exercise 6.6: the temperatures compared and how many samples the check draws at each
TEMPERATURE_LOW = 0.6
TEMPERATURE_SAMPLES = 500
TEMPERATURE_CHOICES = ("更高", "差不多", "更低")
SAME_BITS = 0.02              # bits/dim: a smaller difference counts as "差不多"

# Exercise 6.7: the training budget (optimizer steps, batches of 64) and the goal on the 2,000 held-out images
# (normal, quick), as by_mode takes them. Measured with seed 0 (GatedPixelCNN(channels=16, num_layers=4),
# train_pixelcnn): the chapter's learning rate 1e-3 reaches 112.4 / 538.7; 3e-3 reaches 102.0 / 514.7; 32 channels
# at 1e-3 reach 107.8 (normal mode).
TRAIN_STEPS = (200, 6)
NLL_GOAL = (105.0, 530.0)
BASELINE_NLL = (112.4, 538.7)


def _values(check: Check, value, name: str = "返回值") -> np.ndarray:
    """``value`` as float64, NaN and infinities kept (the caller says what they mean); else the usual failure."""
    try:
        return np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
    except (TypeError, ValueError):
        return check.array(value, name)  # fails with "应该是数组"


def _fail_on_known_mistake(check: Check, actual, wrong, rtol: float = 1e-4, atol: float = 1e-5) -> None:
    """Fail with the hint of the first typical mistake in ``wrong`` ((what it returns, hint) pairs) that ``actual``
    equals."""
    hint = first_match(actual, wrong, same=functools.partial(same_values, rtol=rtol, atol=atol, finite_only=True))
    if hint is not None:
        check.fail(hint)


def _require_shape(check: Check, actual: np.ndarray, expected_shape: tuple, hints: dict) -> None:
    """Fail when the shape is wrong, with the hint for that wrong shape if there is one."""
    if actual.shape != tuple(expected_shape):
        check.fail(hints.get(actual.shape) or f"返回值的形状应该是 {tuple(expected_shape)}，你的是 {actual.shape}。")


# ------------------------------------------------------------------------------------ 6.1 masks
def _reference_mask(kernel_size: int, mask_type: str) -> np.ndarray:
    from aigc_course.models.pixelcnn import raster_mask

    return raster_mask(kernel_size, mask_type).astype("float64")


def _mask_variants(kernel_size: int) -> dict:
    """What typical wrong masks give for kernel_size, as {name: {"A": mask, "B": mask}}."""
    centre = kernel_size // 2
    right = {"A": _reference_mask(kernel_size, "A"), "B": _reference_mask(kernel_size, "B")}

    def each(change):
        return {kind: change(mask.copy(), kind) for kind, mask in right.items()}

    def whole_centre_row(mask, kind):
        mask[centre, centre + 1:] = 1.0
        return mask

    def rows_below(mask, kind):
        mask[centre + 1:, :] = 1.0
        return mask

    def up_left_only(mask, kind):
        mask[:centre, centre + 1:] = 0.0
        return mask

    return {
        "swapped": {"A": right["B"], "B": right["A"]},
        "transposed": each(lambda mask, kind: mask.T.copy()),
        "whole_centre_row": each(whole_centre_row),
        "rows_below": each(rows_below),
        "up_left_only": each(up_left_only),
        "future": each(lambda mask, kind: mask[::-1, ::-1].copy()),
        "inverted": each(lambda mask, kind: 1.0 - mask),
    }


MASK_HINTS = {
    "swapped": "掩码 A 和 B 弄反了：哪一种要连中心也遮住？想想第一层的输出 i 能不能看见它要预测的输入 x_i。",
    "transposed": "你的掩码像是按“列”排的顺序（先从上到下、再从左到右）：光栅顺序是逐行、每行从左到右。检查行和列的下标是不是写反了。",
    "whole_centre_row": "中心所在那一行，中心右边的位置也是 1：同一行里更靠右的像素在光栅顺序里排在中心之后，应该遮住。",
    "rows_below": "中心下面的行也是 1：下面的行在光栅顺序里都排在中心之后，应该遮住。",
    "up_left_only": "中心上面那些行，右上方的位置被遮住了：光栅顺序里，上面的行整行（包括中心右上方）都排在中心之前，应该看得见。",
    "future": "1 都在中心的下方和右边：要保留（看得见）的是光栅顺序排在中心之前的位置，遮住的是之后的。",
    "inverted": "0 和 1 反了：约定 1 = 看得见（保留这个权重），0 = 遮住。",
}


def check_conv_mask(function) -> None:
    """Exercise 6.1: ``function(kernel_size, mask_type)`` -> the (k, k) raster-order mask, 1 where seen."""
    with Check("练习 6.1", "掩码卷积的掩码 A 与 B") as check:
        sizes = (3, 5, 7)
        masks = {}
        for kernel_size in sizes:
            for kind in "AB":
                value = _values(check, check.call(function, kernel_size, kind))
                if value.shape != (kernel_size, kernel_size):
                    check.fail(f"kernel_size={kernel_size} 时掩码的形状应该是 ({kernel_size}, {kernel_size})，"
                               f"你的是 {value.shape}。")
                if not np.all(np.isin(value, (0.0, 1.0))):
                    check.fail(f"kernel_size={kernel_size}、掩码 {kind} 里有 0 和 1 以外的值：掩码只取 0（遮住）和 1（看得见）。")
                masks[kernel_size, kind] = value

        def all_masks(variant: dict) -> np.ndarray:
            return np.concatenate([variant[size][kind].ravel() for size in sizes for kind in "AB"])

        learner = np.concatenate([masks[size, kind].ravel() for size in sizes for kind in "AB"])
        right = np.concatenate([_reference_mask(size, kind).ravel() for size in sizes for kind in "AB"])
        if not np.array_equal(learner, right):
            variants = {size: _mask_variants(size) for size in sizes}
            for name, hint in MASK_HINTS.items():
                if np.array_equal(learner, all_masks({size: variants[size][name] for size in sizes})):
                    check.fail(hint)
            for size in sizes:
                for kind in "AB":
                    wrong = np.argwhere(masks[size, kind] != _reference_mask(size, kind))
                    if len(wrong):
                        row, column = (int(index) for index in wrong[0])
                        centre = size // 2
                        where = ("就是中心本身" if (row, column) == (centre, centre) else
                                 f"在光栅顺序里排在中心{'之前' if (row, column) < (centre, centre) else '之后'}")
                        check.fail(f"kernel_size={size}、掩码 {kind}：中心是 ({centre}, {centre})，位置 ({row}, {column}) "
                                   f"{where}，应为 {int(_reference_mask(size, kind)[row, column])}，"
                                   f"你的是 {int(masks[size, kind][row, column])}。")
        check.checked("3×3、5×5、7×7 的掩码 A 和 B")

        one = {kind: _values(check, check.call(function, 1, kind)) for kind in "AB"}
        for kind, expected in (("A", 0.0), ("B", 1.0)):
            if one[kind].shape != (1, 1) or one[kind][0, 0] != expected:
                check.fail(f"1×1 的核只有中心一个位置：掩码 {kind} 应为 [[{int(expected)}]]，你的是 {one[kind].tolist()}。"
                           "中心的下标 kernel_size // 2 在 k=1 时是多少？")
        check.checked("1×1 的特例")


# ------------------------------------------------------------------------------------ 6.2 receptive field
def _top_rows_seen(num_layers: int, counts, output=LAST_ROW_OUTPUT, seed: int = 0) -> dict:
    """{L: the top row of input pixels that the logit at ``output`` depends on when only the first L of the
    ``num_layers`` gated blocks are used} for each L in ``counts``, in one gated PixelCNN with random weights (the
    zero-initialised output layer would hide every dependence). A pixel counts as seen when the gradient for one
    of 8 random images is non-zero (several images, so that no ReLU that happens to be off hides it)."""
    import tensorflow as tf

    from aigc_course.models.pixelcnn import GatedPixelCNN

    model = GatedPixelCNN(channels=2, num_layers=num_layers, kernel_size=KERNEL_SIZE,
                          first_kernel_size=FIRST_KERNEL_SIZE, head_channels=8)
    model.build()
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        weight.assign(rng.normal(0.0, 0.5, weight.shape).astype("float32"))
    images = tf.constant((np.random.default_rng(1).random((8, 28, 28, 1)) < 0.5).astype("float32"))
    top = {}
    for layers in counts:
        with tf.GradientTape() as tape:
            tape.watch(images)
            vertical = horizontal = images * 2.0 - 1.0             # as GatedPixelCNN.call, stopped after `layers`
            for block in model.blocks[:layers]:
                vertical, horizontal = block((vertical, horizontal))
            logits = tf.reduce_sum(model._logits(horizontal)[:, output[0], output[1], 0])
        seen = (np.asarray(tape.gradient(logits, images))[..., 0] != 0).any(axis=0)
        top[layers] = int(np.flatnonzero(seen.any(axis=1)).min())
    return top


@functools.lru_cache(maxsize=None)
def _layers_to_first_row() -> tuple[int, int, int]:
    """(fewest layers with which the last row's logit depends on row 0, the top row seen with one layer fewer,
    the rows above seen with 7 layers), measured (once per process)."""
    last_row = LAST_ROW_OUTPUT[0]
    # rows seen above = first // 2 + (layers - 1) * (kernel // 2) + 1: start from the count it gives, then verify
    guess = math.ceil((last_row - FIRST_KERNEL_SIZE // 2 - 1) / (KERNEL_SIZE // 2)) + 1
    top = _top_rows_seen(max(guess, 7), (guess - 1, guess, 7))
    if not (top[guess] == 0 < top[guess - 1]):
        top = _top_rows_seen(2 * last_row, range(1, 2 * last_row + 1))
        guess = min(layers for layers, row in top.items() if row == 0)
    return guess, top[guess - 1], last_row - top[7]


def check_layers_to_first_row(prediction) -> bool:
    """Exercise 6.2: the prediction of how many gated blocks (first window 7, then 3) it takes before the logit of
    a pixel in the last row depends on the first row; measured here by autodiff on randomised models."""
    exercise = "练习 6.2"
    actual, top_with_fewer, rows_with_seven = _layers_to_first_row()
    explanation = (
        f"实测（对随机权重的模型求梯度）：{actual} 层时第 {LAST_ROW_OUTPUT[0]} 行像素的 logit 依赖第 0 行；"
        f"{actual - 1} 层时它最远只看到第 {top_with_fewer} 行。\n"
        f"为什么：竖直栈第一层的窗口向上伸 {FIRST_KERNEL_SIZE} // 2 = {FIRST_KERNEL_SIZE // 2} 行，之后每一层再多伸 "
        f"{KERNEL_SIZE} // 2 = {KERNEL_SIZE // 2} 行；水平栈拿到的是竖直栈下移一行的结果，又多 1 行。L 层一共看到上方 "
        f"{FIRST_KERNEL_SIZE // 2} + (L − 1) + 1 = L + {FIRST_KERNEL_SIZE // 2} 行（就是包里的 rows_seen_above；"
        f"本章的 7 层模型是 {rows_with_seven} 行）。最后一行要看到第 0 行，得看到上方 {LAST_ROW_OUTPUT[0]} 行："
        f"L + {FIRST_KERNEL_SIZE // 2} ≥ {LAST_ROW_OUTPUT[0]}，L = {actual}。\n"
        "看得少不会让似然“不精确”：分解 ∏ p(x_i | x_<i) 依然精确、依然归一化，只是模型选择了让每个条件分布只依赖附近的行。")
    return check_prediction(exercise, "几层之后最后一行才看得见第一行", prediction, actual, explanation)


# ------------------------------------------------------------------------------------ 6.3 sampling
def _sampler_model(shape=SAMPLER_SHAPE, seed: int = SAMPLER_MODEL_SEED):
    """A causal toy model on binary images of ``shape``: pixel i's logit is b_i + sum_{j < i} w_ij x_j (raster
    order). Returns (logit_fn, weights, biases); logit_fn takes (n, H, W) images (a trailing channel is fine)."""
    pixels = shape[0] * shape[1]
    rng = np.random.default_rng(seed)
    weights = np.tril(rng.normal(0.0, 3.0, (pixels, pixels)), k=-1)
    biases = rng.normal(0.0, 1.0, pixels)

    def logit_fn(images):
        flat = np.asarray(images.numpy() if hasattr(images, "numpy") else images, dtype="float64")
        flat = flat.reshape(len(flat), -1)
        if flat.shape[1] != pixels:
            raise ValueError(f"logit_fn 需要形状 (n, {shape[0]}, {shape[1]}) 的图像，收到的形状是 {np.shape(images)}")
        return (flat @ weights.T + biases).reshape(len(flat), *shape)

    return logit_fn, weights, biases


def _sigmoid(logits):
    return 1.0 / (1.0 + np.exp(-logits))


def _process_distribution(logit_fn, shape, order, probability=_sigmoid, context: str = "partial") -> np.ndarray:
    """Exact distribution over all 2^D images of a sampler that visits the pixels in ``order``, each time turning
    logits into p(x = 1) with ``probability``. The logits are computed on the image with the pixels visited so far
    filled in (``context="partial"``), on the blank image (``"empty"``: one forward pass for every pixel), or with
    only the rows above filled in (``"row"``: one forward pass per row). Index k of the result is the image whose
    raster pixel i is bit i of k; unfilled pixels are 0."""
    pixels = shape[0] * shape[1]
    images = ((np.arange(2 ** pixels)[:, None] >> np.arange(pixels)) & 1).astype("float64")
    total = np.ones(len(images))
    for step, pixel in enumerate(order):
        filled = {"partial": list(order[:step]), "empty": [],
                  "row": [index for index in order[:step] if index // shape[1] < pixel // shape[1]]}[context]
        partial = np.zeros_like(images)
        partial[:, filled] = images[:, filled]
        p = np.clip(probability(logit_fn(partial.reshape(-1, *shape)).reshape(len(images), -1)[:, pixel]), 0.0, 1.0)
        total *= np.where(images[:, pixel] == 1, p, 1.0 - p)
    return total


def _histogram(samples: np.ndarray) -> np.ndarray:
    flat = samples.reshape(len(samples), -1).astype(int)
    codes = flat @ (1 << np.arange(flat.shape[1]))
    return np.bincount(codes, minlength=2 ** flat.shape[1]) / len(flat)


def _samples(check: Check, function, logit_fn, n: int, shape, seed: int) -> np.ndarray:
    with np.errstate(all="ignore"):
        value = _values(check, check.call(function, logit_fn, n, shape[0], shape[1], np.random.default_rng(seed)))
    if value.shape == (n, *shape, 1):
        value = value[..., 0]
    _require_shape(check, value, (n, *shape), {
        (n, shape[0] * shape[1]): f"返回的是展平的形状 {value.shape}：要的是 (n, height, width) = {(n, *shape)}。",
        (*shape,): f"只返回了一张图像：要的是 n 张，形状 {(n, *shape)}。",
        (n, shape[1], shape[0]): f"形状是 {value.shape}：height 和 width 弄反了，要的是 (n, height, width) = {(n, *shape)}。",
    })
    if not np.all(np.isin(value, (0.0, 1.0))):
        inside = np.all((value >= 0) & (value <= 1))
        check.fail("返回的图像里有 0 和 1 以外的值" + ("（都在 0 和 1 之间）：是不是把概率 σ(ℓ) 本身填进了图像？要按这个概率抽出 0 或 1。"
                                                 if inside else "：每个像素要抽成 0 或 1。"))
    return value


def check_sample_raster(function) -> None:
    """Exercise 6.3: ``function(logit_fn, n, height, width, rng)`` -> (n, height, width) binary images drawn pixel
    by pixel in raster order from p(x_i = 1 | x_<i) = sigmoid(logit_fn(images)[:, row, column]). Judged by the
    distribution of 20,000 samples of a toy 2x3 model against its exact distribution."""
    with Check("练习 6.3", "逐像素采样") as check:
        shape = SAMPLER_SHAPE
        logit_fn, _, _ = _sampler_model()
        small = _samples(check, function, logit_fn, 5, shape, seed=0)
        again = _samples(check, function, logit_fn, 5, shape, seed=0)
        check.require(np.array_equal(small, again),
                      "同样种子的 rng 调用两次，抽出的图像不一样：随机数要从传进来的 rng 取（例如 rng.random(...)），"
                      "不要用 np.random 的全局函数。")
        check.checked("形状、0/1 像素，同样的 rng 给出同样的图像")

        samples = _samples(check, function, logit_fn, SAMPLER_DRAWS, shape, seed=1)
        if np.all(samples == samples[:1]):
            other_seed = _samples(check, function, logit_fn, SAMPLER_DRAWS, shape, seed=2)
            if np.array_equal(other_seed, samples):
                check.fail(f"{SAMPLER_DRAWS:,} 张图像全都一模一样，换一个种子也一样：采样没有随机性。是不是把概率四舍五入"
                           "（p > 0.5）了？要按概率随机抽。")
            check.fail(f"{SAMPLER_DRAWS:,} 张图像全都一模一样（换一个种子会变）：是不是每一步只抽了一个随机数、所有图像共用？"
                       "n 张图像要各自抽。")
        if np.all(samples[:, 0, 0] == samples[0, 0, 0]):
            check.fail(f"{SAMPLER_DRAWS:,} 张图像的第一个像素全都相同（它取 1 的概率约为 "
                       f"{_sigmoid(logit_fn(np.zeros((1, *shape)))[0, 0, 0]):.2f}）：是不是每一步只抽了一个随机数、"
                       "所有图像共用？n 张图像要各自抽。")
        empirical = _histogram(samples)
        pixels = shape[0] * shape[1]
        raster = list(range(pixels))
        column_order = [row * shape[1] + column for column in range(shape[1]) for row in range(shape[0])]
        exact = _process_distribution(logit_fn, shape, raster)
        distance = 0.5 * np.abs(empirical - exact).sum()
        if distance > SAMPLER_TOLERANCE:
            mistakes = (
                (_process_distribution(logit_fn, shape, raster, context="empty"),
                 "抽出的像素像是彼此独立的：每个像素的 logit 都是在还没填任何像素的图像上算的。是不是只做了一次前向就抽了所有像素？"
                 "每抽一个像素，都要先把它填进图像，下一个像素的 logit 要在填好的图像上重新算。"),
                (_process_distribution(logit_fn, shape, raster, context="row"),
                 "同一行里的像素像是一起抽的（每行只算了一次 logit）：同一行里左边的像素也在 x_<i 里，"
                 "抽完一个像素，要在填好的图像上重新算下一个像素的 logit。"),
                (_process_distribution(logit_fn, shape, column_order),
                 "像是按列的顺序（先从上到下、再从左到右）抽的：光栅顺序是逐行、每行从左到右。按列抽时，"
                 "有些像素的 logit 在它依赖的像素还没抽出来时就算了。"),
                (_process_distribution(logit_fn, shape, raster, probability=lambda logits: logits),
                 "像是把 logit 直接当成了概率：logit 可以是任意实数，p(x=1) = σ(logit)。"),
                (_process_distribution(logit_fn, shape, raster, probability=lambda logits: 1.0 - _sigmoid(logits)),
                 "0 和 1 像是反了：像素取 1 的概率应当是 σ(logit)。检查比较的方向（随机数 < p 时取 1）或 σ 里的符号。"),
            )
            for candidate, hint in mistakes:
                if 0.5 * np.abs(empirical - candidate).sum() < SAMPLER_TOLERANCE:
                    check.fail(hint)
            worst = int(np.argmax(np.abs(empirical - exact)))
            image = ((worst >> np.arange(pixels)) & 1).reshape(shape).tolist()
            check.fail(f"{SAMPLER_DRAWS:,} 张样本的分布和模型不一致（总变差距离 {distance:.3f}，允许 {SAMPLER_TOLERANCE}）："
                       f"例如图像 {image} 应占 {exact[worst]:.3f}，你的样本里占 {empirical[worst]:.3f}。"
                       "检查像素的顺序、每一步是不是在填好的图像上重新算 logit、p = σ(logit)。")
        check.checked(f"一个 2×3 小模型上 {SAMPLER_DRAWS:,} 张样本的分布（64 种图像，与精确分布的总变差距离 {distance:.3f}）")

        other = _samples(check, function, _sampler_model((3, 2), seed=1)[0], 4, (3, 2), seed=2)
        check.require(other.shape == (4, 3, 2), "height=3、width=2 时形状应为 (4, 3, 2)。")
        check.checked("非方形图像（3×2）")


# ------------------------------------------------------------------------------------ 6.4 affine coupling
def _conditioner(features_shape, seed: int = 64):
    """A fixed random network (NumPy, float64) from the kept part to (scale, shift), both shaped like the input.
    It reads every position of its input and its outputs are non-zero everywhere (masking them is the
    layer's job)."""
    size = int(np.prod(features_shape))
    rng = np.random.default_rng(seed)
    first, second, third = (rng.normal(0.0, scale, shape) for scale, shape in
                            ((0.7, (size, 8)), (0.6, (8, size)), (0.8, (8, size))))
    offset = rng.normal(0.0, 0.3, size)

    def conditioner(kept):
        flat = np.asarray(kept.numpy() if hasattr(kept, "numpy") else kept, dtype="float64")
        flat = flat.reshape(len(flat), size)
        hidden = np.tanh(flat @ first + 0.2)
        scale = 0.9 * np.tanh(hidden @ second + offset)
        shift = hidden @ third - 0.3
        return scale.reshape(len(flat), *features_shape), shift.reshape(len(flat), *features_shape)

    return conditioner


def _coupling(x, mask, conditioner, kept_only=True, mask_scale=True, mask_y=True, shift_first=False):
    """The reference and its typical mistakes: (y, log_det per example)."""
    kept = x * mask
    scale, shift = conditioner(kept if kept_only else x)
    changed = 1.0 - mask
    if shift_first:
        transformed = (x + shift) * np.exp(scale)
    else:
        transformed = x * np.exp(scale) + shift
    y = kept + changed * transformed if mask_y else transformed
    log_det = (scale * changed if mask_scale else scale).reshape(len(x), -1).sum(axis=1)
    return y, log_det


def _numerical_log_det(function, x, mask, conditioner, step: float = 1e-3) -> np.ndarray:
    """log |det dy/dx| per example by central differences on the learner's function (float64)."""
    out = []
    for example in x:
        flat = example.reshape(-1)
        columns = []
        for index in range(flat.size):
            delta = np.zeros_like(flat)
            delta[index] = step
            plus = np.asarray(function((flat + delta).reshape(1, *example.shape), mask, conditioner)[0], "float64")
            minus = np.asarray(function((flat - delta).reshape(1, *example.shape), mask, conditioner)[0], "float64")
            columns.append((plus - minus).reshape(-1) / (2 * step))
        out.append(np.linalg.slogdet(np.stack(columns, axis=1))[1])
    return np.array(out)


def _coupling_case(check: Check, function, x, mask, conditioner, name: str):
    with np.errstate(all="ignore"):
        result = check.call(function, x, mask, conditioner)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        check.fail(f"要返回两个值 (y, log_det)，你的函数返回了 {type(result).__name__}"
                   + (f"（长度 {len(result)}）" if isinstance(result, (tuple, list)) else "") + "。")
    y = check.array(_values(check, result[0], "y"), "y")
    log_det = _values(check, result[1], "log_det")
    _require_shape(check, y, x.shape, {})
    _require_shape(check, log_det, (len(x),), {
        (): f"log_det 是一个数：要的是每个样本一个，形状 ({len(x)},)；不要把批量也加起来。",
        (1,): f"log_det 是一个数：要的是每个样本一个，形状 ({len(x)},)；不要把批量也加起来。",
        x.shape: f"log_det 的形状和 x 一样 {x.shape}：还没有对每个样本的各个位置求和。",
        x.shape[:-1]: f"log_det 的形状是 {x.shape[:-1]}：只对最后一个轴求了和；{name}要对第 0 轴以外的所有轴求和。",
    })
    return y, check.array(log_det, "log_det")


def check_coupling_forward(function) -> None:
    """Exercise 6.4: ``function(x, mask, conditioner)`` -> (y, log_det), y = m x + (1 - m)(x e^s + t) with
    (s, t) = conditioner(m x), log_det = sum over the transformed positions of s, per example."""
    with Check("练习 6.4", "仿射耦合层的正向变换") as check:
        rng = np.random.default_rng(46)
        x = rng.normal(0.0, 1.0, (3, 6))
        mask = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0])
        conditioner = _conditioner((6,))
        y, log_det = _coupling_case(check, function, x, mask, conditioner, "")
        expected_y, expected_log_det = _coupling(x, mask, conditioner)

        wrong_y = (
            (_coupling(x, mask, conditioner, kept_only=False)[0],
             "s、t 像是用整个 x 算的：它们只能由保留的那一半 mask·x 决定。否则被变换的分量会通过 s、t 依赖它自己，"
             "雅可比矩阵不再是三角的，log|det| = Σs 也就不成立了（反变换也没法先算出 s、t）。"),
            (_coupling(x, mask, conditioner, mask_y=False)[0],
             "mask = 1 的位置也被缩放、平移了：那一半应当原样保留（y = x），s、t 才能只由它决定，反变换时也才能先拿到它。"),
            (_coupling(x, mask, conditioner, shift_first=True)[0],
             "y 像是 (x + t)·e^s：按题目的公式，被变换的分量是先乘 e^s、再加 t。"),
            (x, "y 和 x 一模一样：被变换的那一半（mask = 0 的位置）还没有做仿射变换。"),
        )
        _fail_on_known_mistake(check, y, wrong_y)
        if not np.allclose(y, expected_y, rtol=1e-4, atol=1e-5):
            row, column = np.unravel_index(np.argmax(np.abs(y - expected_y)), y.shape)
            check.fail(f"y[{row}, {column}]（mask = {int(mask[column])} 的位置）应为 {expected_y[row, column]:.4f}，"
                       f"你的是 {y[row, column]:.4f}。")
        check.checked("3 个 6 维向量的 y（交替掩码）")

        scale, _ = conditioner(x * mask)
        changed = 1.0 - mask
        wrong_log_det = (
            (_coupling(x, mask, conditioner, mask_scale=False)[1],
             "log_det 把 mask = 1（原样保留）的位置上的 s 也加进去了：那些位置 y = x，对角元是 1，对 log|det| 没有贡献。"
             "条件网络在那些位置的输出要丢掉。"),
            ((np.exp(scale) * changed).sum(axis=1),
             "log_det 像是把对角元 e^s 本身加了起来：三角矩阵的行列式是对角元的乘积，取对数之后呢？"),
            (np.log((np.exp(scale) * changed).sum(axis=1)), "log_det 像是 log(Σ e^s)：行列式是对角元的乘积，不是和。"),
            (-expected_log_det, "log_det 的符号反了：正向变换把被变换的分量放大了 e^s 倍，log|det| = +Σs（−Σs 是反变换的）。"),
            (expected_log_det / 3, "log_det 是正确值的 1/3（6 个位置里有 3 个被变换）：对被变换的位置取了平均？要求和。"),
            (expected_log_det / 6, "log_det 是正确值的 1/6：对所有位置取了平均？要对被变换的位置求和。"),
        )
        _fail_on_known_mistake(check, log_det, wrong_log_det)
        numerical = _numerical_log_det(function, x, mask, conditioner)
        if not np.allclose(log_det, expected_log_det, rtol=1e-4, atol=1e-4):
            row = int(np.argmax(np.abs(log_det - expected_log_det)))
            check.fail(f"第 {row} 个样本的 log_det 应为 {expected_log_det[row]:.4f}，你的是 {log_det[row]:.4f}"
                       f"（用数值微分算你的 y 的雅可比矩阵，log|det| = {numerical[row]:.4f}）。")
        check.close(numerical, log_det, "你的 log_det 和你的 y 的雅可比矩阵（数值微分）对不上。", rtol=1e-3, atol=1e-3)
        check.checked("log_det 等于 Σ_{mask=0} s，也等于数值微分算出的雅可比矩阵的 log|det|")

        from aigc_course.models.flows import checkerboard_mask

        images = rng.normal(0.0, 1.0, (2, 4, 4, 2))
        board = checkerboard_mask(4, 4, 1).astype("float64")      # (4, 4, 1): broadcasts over the channels
        image_conditioner = _conditioner((4, 4, 2), seed=65)
        y_images, log_det_images = _coupling_case(check, function, images, board, image_conditioner,
                                                  "图像形状 (N, H, W, C) 时")
        expected_images, expected_log_det_images = _coupling(images, board, image_conditioner)
        check.close(y_images, expected_images, "图像形状 (2, 4, 4, 2)、棋盘掩码 (4, 4, 1) 时 y 不对：mask 要对每个样本广播，"
                    "不要假设 x 是二维的。", rtol=1e-4, atol=1e-5)
        check.close(log_det_images, expected_log_det_images,
                    "图像形状 (2, 4, 4, 2) 时 log_det 不对：要对每个样本的所有位置（第 0 轴以外的所有轴）求和。",
                    rtol=1e-4, atol=1e-4)
        check.checked("图像形状 (2, 4, 4, 2) 加棋盘掩码")


# ------------------------------------------------------------------------------------ 6.5 bits per dimension
def _logit_log_det(u: np.ndarray, alpha: float, with_scale: bool = True, through_v: bool = True) -> np.ndarray:
    v = alpha + (1.0 - 2.0 * alpha) * u if through_v else u
    per_dimension = -np.log(v) - np.log1p(-v) + (math.log(1.0 - 2.0 * alpha) if with_scale else 0.0)
    return per_dimension.reshape(len(u), -1).sum(axis=1)


def _bits(u, log_density_y, alpha, logit=1.0, with_scale=True, through_v=True, log_256=True, base=math.log(2.0),
          per_dimension=True, dimensions=None):
    """The reference bits/dim per image and its typical mistakes."""
    dimensions = dimensions or int(np.prod(u.shape[1:]))
    log_density_u = log_density_y + logit * _logit_log_det(u, alpha, with_scale, through_v)
    nats = (dimensions * math.log(256.0) if log_256 else 0.0) - log_density_u
    return nats / (base * (dimensions if per_dimension else 1))


def _bits_case(check: Check, function, u, log_density_y, **kwargs) -> np.ndarray:
    with np.errstate(all="ignore"):
        actual = _values(check, check.call(function, u, log_density_y, **kwargs), "bits/dim")
    n = len(u)
    _require_shape(check, actual, (n,), {
        (): f"返回的是一个数：要的是每张图像一个 bits/dim，形状 ({n},)；不要对图像取平均。",
        (1,): f"返回的是一个数：要的是每张图像一个 bits/dim，形状 ({n},)；不要对图像取平均。",
        u.shape: f"形状和 u 一样 {u.shape}：logit 变换的 log|dy/du| 要对每张图像的所有维求和，最后每张图像一个数。",
    })
    return check.array(actual, "bits/dim")


def check_bits_per_dim_8bit(function) -> None:
    """Exercise 6.5: ``function(u, log_density_y, alpha=0.05)`` -> bits per dimension of each 8-bit image, from the
    dequantised u in [0, 1) and the flow's log p_Y(y) (nats) at y = logit(alpha + (1 - 2 alpha) u)."""
    with Check("练习 6.5", "8 位图像的 bits/dim") as check:
        from aigc_course.models.flows import dequantize

        rng = np.random.default_rng(65)
        pixels = np.where(rng.random((4, 28, 28, 1)) < 0.8, 0, rng.integers(1, 256, (4, 28, 28, 1))).astype("uint8")
        u = dequantize(pixels, np.random.default_rng(0)).astype("float64")
        log_density_y = rng.normal(-1500.0, 80.0, 4)
        actual = _bits_case(check, function, u, log_density_y)
        expected = _bits(u, log_density_y, LOGIT_ALPHA)

        wrong = (
            (_bits(u, log_density_y, LOGIT_ALPHA, logit=0.0),
             "少算了 logit 变换这一步的 log|det|：log_density_y 是 y 的密度，要的是 u 的密度；y = logit(v) 也是一次变量替换。"),
            (_bits(u, log_density_y, LOGIT_ALPHA, logit=-1.0),
             "logit 变换的 log|dy/du| 符号反了：log p_U(u) = log p_Y(y) + log|dy/du|，想想是加还是减。"),
            (_bits(u, log_density_y, LOGIT_ALPHA, with_scale=False),
             "logit 变换的 log|dy/du| 少了一项：v = α + (1 − 2α)u 这一步本身也把 u 缩放了，dv/du 是多少？"),
            (_bits(u, log_density_y, LOGIT_ALPHA, through_v=False),
             "log|dy/du| 像是对 u 直接取的 logit 导数：y = logit(v)，v = α + (1 − 2α)u，求导要用链式法则。"),
            (_bits(u, log_density_y, LOGIT_ALPHA, log_256=False),
             "漏了 D·log 256：u = (x + ε)/256 把每个像素值占的区间缩小了 256 倍，这一步的变量替换也要算进去"
             "（均匀模型应当正好是 8 bits/dim）。"),
            (_bits(u, log_density_y, LOGIT_ALPHA, base=1.0),
             "结果的单位像是 nats/维：要除以 ln 2 换成比特。"),
            (_bits(u, log_density_y, LOGIT_ALPHA, base=math.log(10.0)), "像是用了以 10 为底的对数：bits 是以 2 为底。"),
            (_bits(u, log_density_y, LOGIT_ALPHA, per_dimension=False),
             "结果是每张图像的总比特数：bits/dim 还要除以维数 D。"),
            (-expected, "符号反了：bits/dim 是负对数似然（越低越好），均匀模型是 +8。"),
        )
        _fail_on_known_mistake(check, actual, wrong, rtol=1e-5, atol=1e-5)
        if not np.allclose(actual, expected, rtol=1e-5, atol=1e-5):
            image = int(np.argmax(np.abs(actual - expected)))
            check.fail(f"第 {image} 张图像（log_density_y = {log_density_y[image]:.1f}）应为 {expected[image]:.4f} bits/dim，"
                       f"你的是 {actual[image]:.4f}。")
        check.checked("4 张 28×28 图像的 bits/dim")

        uniform_y = -_logit_log_det(u, LOGIT_ALPHA)                  # the density of y that makes p_U = 1
        at_uniform = _bits_case(check, function, u, uniform_y)
        check.close(at_uniform, np.full(len(u), 8.0), f"在 [0, 1)^D 上均匀的模型（p_U(u) = 1）应当正好是 8 bits/dim，"
                    f"你的是 {np.round(at_uniform, 4).tolist()}。", rtol=1e-6, atol=1e-6)
        check.checked("均匀模型正好 8 bits/dim")

        small = dequantize(rng.integers(0, 256, (3, 4, 4, 3)), np.random.default_rng(1)).astype("float64")
        small_log_density = rng.normal(-60.0, 5.0, 3)
        at_small = _bits_case(check, function, small, small_log_density)
        if same_values(at_small, _bits(small, small_log_density, LOGIT_ALPHA, dimensions=784), rtol=1e-5, atol=1e-5):
            check.fail("图像形状 (3, 4, 4, 3) 时结果不对：维数 D 是不是写死成了 784？用 u 的形状算出 D。")
        check.close(at_small, _bits(small, small_log_density, LOGIT_ALPHA),
                    "图像形状 (3, 4, 4, 3) 时结果不对：维数 D 要由 u 的形状算出（这里是 48），对所有维求和。",
                    rtol=1e-5, atol=1e-5)
        check.checked("别的图像形状（4×4×3，D = 48）")

        other_alpha = _bits_case(check, function, u, log_density_y, alpha=0.1)
        check.close(other_alpha, _bits(u, log_density_y, 0.1),
                    "alpha=0.1 时结果不对：函数里要用传进来的 alpha，不要写死 0.05。", rtol=1e-5, atol=1e-5)
        check.checked("alpha = 0.1")


# ------------------------------------------------------------------------------------ 6.6 temperature
def _sample_bits(flow, temperature: float) -> tuple[float, float, float, float]:
    """Mean bits/dim of ``flow``'s samples at ``temperature`` under ``flow``, the mean log N(z) and log|det| parts
    (nats per image), and the mean over pixels of the samples' standard deviation across samples."""
    from keras import ops

    from aigc_course.models.flows import standard_normal_log_density

    samples = flow.sample(TEMPERATURE_SAMPLES, seed=0, temperature=temperature)
    z, log_det = flow.forward(ops.convert_to_tensor(samples, "float32"))
    log_normal = np.asarray(standard_normal_log_density(z), dtype="float64")
    log_det = np.asarray(log_det, dtype="float64")
    bits = (flow.dimensions * math.log(256.0) - (log_normal + log_det)) / (flow.dimensions * math.log(2.0))
    return float(bits.mean()), float(log_normal.mean()), float(log_det.mean()), float(samples.std(axis=0).mean())


def check_flow_temperature(prediction, flow) -> bool:
    """Exercise 6.6: are a flow's T = 0.6 samples scored higher, about the same, or lower in bits/dim by the flow
    itself than its T = 1 samples? Measured here on ``flow`` (a data-initialised RealNVP)."""
    from aigc_course.models.flows import RealNVP
    from aigc_course.zoo import evaluation_mnist

    exercise = "练习 6.6"
    if not isinstance(flow, RealNVP):
        raise CheckFailed(exercise, f"第二个参数应该是实验格里的流（aigc_course.models.flows.RealNVP），你传入的是 {type(flow).__name__}。")
    if flow.image_shape != (28, 28, 1):
        raise CheckFailed(exercise, f"这一题用 28×28 的 MNIST 流，你的流的图像形状是 {flow.image_shape}。")
    real = flow.evaluate_bits_per_dim(evaluation_mnist().x_val, seed=0)
    if real >= 8.0:
        raise CheckFailed(exercise, f"这个流在验证图像上是 {real:.2f} bits/dim，还不如均匀模型（8）：它还没用数据初始化或训练过。"
                                    "先运行实验格（它调用 initialize_from）。")
    bits_one, normal_one, det_one, spread_one = _sample_bits(flow, 1.0)
    bits_low, normal_low, det_low, spread_low = _sample_bits(flow, TEMPERATURE_LOW)
    difference = bits_low - bits_one
    actual = "差不多" if abs(difference) < SAME_BITS else "更高" if difference > 0 else "更低"
    gain = normal_low + det_low - normal_one - det_one
    explanation = (
        f"实测（各 {TEMPERATURE_SAMPLES} 个样本，模型自己打分）：T=1 的样本 {bits_one:.3f} bits/dim，T={TEMPERATURE_LOW} 的样本 "
        f"{bits_low:.3f} bits/dim；2,000 张真实验证图像 {real:.3f} bits/dim。\n"
        f"拆开看（nats/图像）：log N(z) 一项从 {normal_one:.1f} 变成 {normal_low:.1f}"
        + ("（z 被往原点收，这一项变大）" if normal_low > normal_one else "") + "；"
        f"log|det| 一项从 {det_one:.1f} 变成 {det_low:.1f}"
        + ("（logit 变换在灰度的中间最平，低温样本的像素离 0 和 1 更远，这一项变小，抵消了一部分）" if det_low < det_one else "")
        + f"。合起来 log p 变了 {gain:+.1f} nats/图像，bits/dim 变了 {difference:+.3f}。\n"
        + (f"低温样本在模型眼里甚至比真实图像还“可能”（{bits_low:.3f} < {real:.3f} bits/dim），" if bits_low < real else
           "低温样本是模型眼里“更可能”的图像，")
        + f"但它们已经不是 p(x) 的样本：样本之间每个像素的标准差从 {spread_one:.3f} 降到 {spread_low:.3f}，多样性变小了。"
        "“密度最高的地方”和“典型的样本”不是一回事：高维里几乎所有概率质量都离众数很远。")
    return check_prediction(exercise, "降低流的温度", prediction, actual, explanation, choices=TEMPERATURE_CHOICES)


# ------------------------------------------------------------------------------------ 6.7 experiment
def _steps(model) -> int:
    """How many optimizer steps ``model`` has taken (0 when it was never compiled)."""
    optimizer = getattr(model, "optimizer", None)
    return int(optimizer.iterations) if optimizer is not None else 0


def check_pixelcnn_nll(pixelcnn) -> None:
    """Exercise 6.7: ``pixelcnn`` trained from scratch within the step budget reaches the held-out NLL goal.

    The check counts the optimizer's steps and measures the exact NLL itself on the chapter's 2,000 held-out
    images (``evaluation_mnist().x_val`` binarised with seed 0), never on training images.
    """
    from aigc_course.models.pixelcnn import GatedPixelCNN
    from aigc_course.models.vae import binarize
    from aigc_course.zoo import evaluation_mnist

    budget, goal, baseline = by_mode(*TRAIN_STEPS), by_mode(*NLL_GOAL), by_mode(*BASELINE_NLL)
    mode = "快速模式" if is_quick() else "正常模式"
    with Check("练习 6.7", "在步数预算内压低 PixelCNN 的留出集 NLL") as check:
        check.require(isinstance(pixelcnn, GatedPixelCNN),
                      f"要传入训练好的门控 PixelCNN（aigc_course.models.pixelcnn.GatedPixelCNN），你传入的是 {type(pixelcnn).__name__}。")
        check.require(tuple(pixelcnn.image_shape) == (28, 28, 1),
                      f"模型的图像形状应为 (28, 28, 1)，你的是 {tuple(pixelcnn.image_shape)}。")
        steps = _steps(pixelcnn)
        check.require(steps <= budget, f"训练了 {steps} 步，超出了 {budget} 步的预算（{mode}）：预算是优化器的更新次数，"
                                       "改设置时不要改 TRAIN_STEPS；如果在别的格里接着训练过这个模型，重新运行训练格（它每次都从头新建模型）。")
        heldout = binarize(evaluation_mnist().x_val, seed=0)
        if steps == 0:
            glimpse = pixelcnn.evaluate_nll(heldout[:200])
            check.fail(f"优化器一步也没走过，但模型在留出图像上的 NLL 只有约 {glimpse:.0f}：它是加载来的（比如附带的权重），"
                       f"不是在这里训练的。这一题要从头训练、最多 {budget} 步。" if glimpse < 500 else
                       "模型还没有训练（优化器步数为 0）：先运行上面的训练格。")
        check.checked(f"训练步数 {steps} ≤ {budget}")
        measured = pixelcnn.evaluate_nll(heldout)
        check.require(measured < goal,
                      f"{len(heldout):,} 张留出图像上的 NLL 是 {measured:.1f} nats/图像，还没到目标 < {goal:g}（{mode}）。"
                      f"本章的基线设置在这个预算内大约得到 {baseline:g}。步数固定时，想一想：哪个设置决定每一步走多远？"
                      "模型的容量（通道数、层数）在这么短的训练里是瓶颈吗？预算用完时验证 NLL 还在下降吗？")
        check.checked(f"{len(heldout):,} 张留出图像（种子 0 二值化）上的精确 NLL {measured:.1f} < 目标 {goal:g}"
                      f"（{mode}的目标）")
