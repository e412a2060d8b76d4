"""Chapter 01 exercises (RNN text generation): an RNN step, temperature, top-p, beam search, two predictions and
a training experiment with a step budget.

Each ``check_*`` runs the learner's code (or model) on small cases with known answers and either prints
``✓ 正确 — ...`` or raises :class:`~aigc_course.exercises.checking.CheckFailed` with a hint in Chinese. For the
implement exercises the hints come from running the typical wrong versions on the same cases: when the learner's
output equals what a known mistake gives, the hint names that mistake.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from aigc_course.exercises import Exercise
from aigc_course.exercises.checking import Check, CheckFailed, check_prediction, first_match, same_values
from aigc_course.runtime import by_mode, is_quick
from aigc_course.sampling import beam_search as package_beam_search
from aigc_course.sampling import softmax, top_p_filter

# The experiment (1.7): (normal mode, quick mode). Quick mode only checks that the code path runs.
STEP_BUDGET = (300, 6)
LOSS_GOAL = (1.9, 3.45)
CHAPTER_BASELINE = 2.06   # what the chapter's settings reach in STEP_BUDGET[0] steps (measured: 2.057 nats/char)
PREDICTION_TOLERANCE = 0.15  # exercise 1.2: a prediction within 0.15 nats/char of the measured loss is right
PREDICTION_VAL_CHARS = 20_000  # exercise 1.2 measures the untrained model on this many validation characters
QUICK_VAL_CHARS = 20_000  # exercise 1.7 reads this many in quick mode (the whole validation split otherwise)

EXERCISES = (
    Exercise("1.1", "RNN 的一步", 2, "implement", "check_rnn_step", function="rnn_step"),
    Exercise("1.2", "未训练模型的验证损失", 1, "predict", "check_untrained_loss"),
    Exercise("1.3", "带温度的 softmax", 1, "implement", "check_temperature_softmax",
             function="softmax_with_temperature"),
    Exercise("1.4", "top-p（nucleus）过滤", 2, "implement", "check_top_p", function="top_p_filter"),
    Exercise("1.5", "温度与 top-p 一起用", 1, "predict", "check_temperature_and_top_p"),
    Exercise("1.6", "束搜索", 2, "implement", "check_beam_search", function="beam_search"),
    Exercise("1.7", f"{STEP_BUDGET[0]} 步内把验证损失降到 {LOSS_GOAL[0]} 以下", 3, "experiment",
             "check_loss_goal"),
)


def _exercise(number: str) -> Exercise:
    return next(exercise for exercise in EXERCISES if exercise.number == number)


def _start(number: str) -> Check:
    exercise = _exercise(number)
    return Check(f"练习 {number}", exercise.title)


def _to_array(value) -> np.ndarray | None:
    """``value`` as a float64 array, or None when it is not array-like (``Check.array`` then says so)."""
    try:
        return np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


_same = functools.partial(same_values, rtol=1e-4, atol=1e-5)
_first_match = first_match


# ---------------------------------------------------------------------------------------------------------------
# 1.1 One step of a vanilla RNN: h' = tanh(x W_xh + h W_hh + b)

def _rnn_cases():
    rng = np.random.default_rng(11)
    cases = []
    # (batch, input_dim, hidden): square first (swapped weights then run and can be recognised), then the others
    for batch, input_dim, hidden in ((3, 4, 4), (2, 3, 5), (1, 6, 2)):
        x = rng.normal(size=(batch, input_dim))
        h = rng.uniform(-0.9, 0.9, size=(batch, hidden))
        w_xh = rng.normal(scale=0.8, size=(input_dim, hidden))
        w_hh = rng.normal(scale=0.8, size=(hidden, hidden))
        b = rng.normal(scale=0.5, size=(hidden,))
        cases.append((x, h, w_xh, w_hh, b))
    return cases


def check_rnn_step(rnn_step) -> None:
    """Exercise 1.1: ``rnn_step(x, h, W_xh, W_hh, b)`` -> the new hidden state, row-vector convention."""
    with _start("1.1") as check:
        for number, (x, h, w_xh, w_hh, b) in enumerate(_rnn_cases(), 1):
            expected = np.tanh(x @ w_xh + h @ w_hh + b)
            value = check.call(rnn_step, x.copy(), h.copy(), w_xh.copy(), w_hh.copy(), b.copy())
            result = _to_array(value)
            where = f"第 {number} 组输入（批量 {x.shape[0]}，输入维度 {x.shape[1]}，隐藏维度 {h.shape[1]}）"
            if result is not None and result.shape == expected.T.shape and result.shape != expected.shape:
                check.fail(f"{where}：输出形状应为 (批量大小, 隐藏维度) = {expected.shape}，你的是 {result.shape}。"
                           "本章按 Keras 的习惯把向量写成行向量（x W，而不是 W x），每一行是一个样本。")
            result = check.array(value, f"{where}的返回值", shape=expected.shape)
            if _same(result, expected):
                continue
            square = w_xh.shape[0] == w_hh.shape[0]
            hint = _first_match(result, [
                (x @ w_xh + h @ w_hh + b,
                 "你的输出等于没有经过激活函数的 x W_xh + h W_hh + b：公式最外层的 tanh 是不是漏掉了？"),
                (np.tanh(x @ w_xh + h @ w_hh.T + b),
                 "你的结果相当于用了 W_hh 的转置：按行向量的写法，h 在左、W_hh 在右，不需要转置。"),
                (np.tanh(x @ w_hh + h @ w_xh + b) if square else None,
                 "你的结果相当于把两个权重用反了：输入 x 应乘 W_xh，上一步的隐藏状态 h 应乘 W_hh。"),
                (np.tanh(x @ w_xh + h @ w_hh),
                 "你的结果少了偏置 b：括号里是三项之和。"),
                (1 / (1 + np.exp(-(x @ w_xh + h @ w_hh + b))),
                 "你用的激活函数像是 sigmoid：普通 RNN 用 tanh，输出在 (-1, 1) 之间。"),
                (np.tanh(x @ w_xh + b),
                 "你的结果和 h 无关：新的隐藏状态还要加上上一步的隐藏状态乘 W_hh 这一项。"),
            ])
            check.require(hint is None, f"{where}：{hint}")
            worst = float(np.abs(result - expected).max())
            check.fail(f"{where}：与 tanh(x W_xh + h W_hh + b) 的最大差异是 {worst:.3g}。"
                       "逐项检查：两个矩阵乘法的顺序、偏置、激活函数。")
        check.checked("3 组输入（方阵与非方阵权重、批量 1–3），每组与 tanh(x W_xh + h W_hh + b) 一致")


# ---------------------------------------------------------------------------------------------------------------
# 1.2 Predict: the validation loss of an untrained character model

def check_untrained_loss(prediction, model, corpus) -> bool:
    """Exercise 1.2: the learner predicts the validation nats/char of the untrained ``model``; the check measures it
    on the first ``PREDICTION_VAL_CHARS`` validation characters of ``corpus`` and explains why it is about ln |V|."""
    from aigc_course.metrics import nats_per_char

    exercise = "练习 1.2"
    if getattr(model, "optimizer", None) is not None and int(model.optimizer.iterations.numpy()) > 0:
        raise CheckFailed(exercise, "传进来的模型已经训练过了：这道题问的是刚初始化、还没训练的模型，重新运行上一格再检查。")
    actual = nats_per_char(model, corpus.val_ids[:PREDICTION_VAL_CHARS])
    vocab_size = len(corpus.vocab)
    uniform = float(np.log(vocab_size))
    counts = np.bincount(corpus.train_ids, minlength=vocab_size) + 1
    unigram = float(-np.log(counts[corpus.val_ids[:PREDICTION_VAL_CHARS]] / counts.sum()).mean())
    explanation = (
        f"随机初始化时输出层的 logits 都接近 0，softmax 之后几乎是均匀分布：每个字符的概率约为 1/|V|，"
        f"交叉熵约为 ln|V| = ln {vocab_size} = {uniform:.3f} nats/字符（困惑度约 {vocab_size}），"
        f"实测 {actual:.3f}，相差 {actual - uniform:+.3f}。\n"
        f"对照：只按字符频率猜（单字频率基线）是 {unigram:.3f}，本章的模型训练 4 轮后约 1.9。\n"
        "这是一条实用的排错规则：训练第一步的损失应当接近 ln|V|；明显高出很多，多半是初始化太大、"
        "或者把概率当成了 logits（from_logits 设错）。")
    tolerance = PREDICTION_TOLERANCE / max(1.0, abs(actual))  # check_prediction's tolerance is relative above 1
    return check_prediction(exercise, _exercise("1.2").title, prediction, actual, explanation, tolerance=tolerance)


# ---------------------------------------------------------------------------------------------------------------
# 1.3 Softmax with temperature

TEMPERATURE_CASES = (
    (np.array([2.0, 1.0, 0.1, -1.0, 0.5]), 0.5),
    (np.array([2.0, 1.0, 0.1, -1.0, 0.5]), 2.0),
    (np.array([-0.3, 1.7, 0.4, 1.2]), 1.0),
    (np.array([3.0, -2.0, 0.0, 1.0, 2.5, -0.5]), 0.8),
    (np.array([1000.0, 999.0, 998.0, 990.0]), 0.5),  # a naive exp overflows here
)


def check_temperature_softmax(softmax_with_temperature) -> None:
    """Exercise 1.3: ``softmax_with_temperature(logits, temperature)`` -> softmax(logits / T), 1-D."""
    with _start("1.3") as check:
        for logits, temperature in TEMPERATURE_CASES:
            expected = softmax(logits / temperature)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                value = check.call(softmax_with_temperature, logits.copy(), temperature)
            result = _to_array(value)
            where = f"logits={np.round(logits, 2).tolist()}、T={temperature}"
            huge = logits.max() > 100
            if huge and result is not None and result.shape == expected.shape and not np.all(np.isfinite(result)):
                check.fail(f"{where}：你的结果里出现了 NaN 或 inf——指数溢出了（e^1000 超出了浮点数的范围）。"
                           "softmax 的结果在所有 logits 同减一个数时不变：减去哪个数能保证指数不溢出？")
            result = check.array(value, f"{where} 时的返回值", shape=expected.shape)
            if _same(result, expected, rtol=1e-4, atol=1e-6):
                continue
            probs = softmax(logits)
            total = float(result.sum())
            hint = _first_match(result, [
                (softmax(probs / temperature),
                 "你的结果像是先算出概率 p，再把 p / T 当作 logits 做 softmax（文章 000 §5.1 的错误）："
                 "概率都在 0–1 之间，这样得到的分布几乎是均匀的。温度应作用在 softmax 之前的哪个量上？"),
                (softmax(logits * temperature),
                 f"T={temperature} 时分布应该{'更尖' if temperature < 1 else '更平'}（最大概率 {expected.max():.3f}），"
                 f"你的最大概率是 {result.max():.3f}：是不是把 logits 乘以了 T，而不是除以 T？"),
                (probs / temperature,
                 f"你的结果是普通 softmax 的概率除以 T（和为 {total:.3f}）：是不是把概率除以了 T？温度作用在 logits 上。"),
                (probs if temperature != 1.0 else None,
                 f"T={temperature} 时你的结果和 T=1 的普通 softmax 一样：温度没有起作用。"),
                (np.log(expected),
                 "你返回的像是对数概率（都是负数）：应返回概率本身。"),
            ])
            check.require(hint is None, f"{where}：{hint}")
            check.require(abs(total - 1) < 1e-4 and np.all(result >= 0),
                          f"{where}：概率应当非负、之和应为 1，你的和是 {total:.4g}：是不是忘了归一化（除以总和）？")
            order_ok = np.array_equal(np.argsort(-result, kind="stable"), np.argsort(-expected, kind="stable"))
            check.fail(f"{where}：应得到 {np.round(expected, 4).tolist()}，你的是 {np.round(result, 4).tolist()}。"
                       + ("" if order_ok else "连大小顺序都不对：温度只改变分布的尖锐程度，不改变排序。"))
        check.checked(f"{len(TEMPERATURE_CASES)} 组 logits（T=0.5、0.8、1、2，以及 logits≈1000 的数值稳定性）")


# ---------------------------------------------------------------------------------------------------------------
# 1.4 Top-p (nucleus) filter, with the package's semantics: the token that crosses p is kept

def _logits_of(probs) -> np.ndarray:
    return np.log(np.asarray(probs, dtype=np.float64))


TOP_P_CASES = (
    (_logits_of([0.12, 0.38, 0.04, 0.27, 0.19]), 0.7),
    (_logits_of([0.02, 0.065, 0.3, 0.095, 0.15, 0.035, 0.21, 0.04, 0.085]), 0.9),
    (_logits_of([0.07, 0.55, 0.13, 0.25]), 0.05),   # small p: only the most likely token
    (np.array([1.5, -0.5, 0.2, 2.3, 0.9, -1.7]), 0.5),
    (np.array([0.3, -1.0, 1.1, 0.6]), 1.0),         # p = 1 keeps everything
)


def _top_p_variants(logits, p):
    """Keep-masks of the typical mistakes, with their hints."""
    probs = softmax(logits)
    n = len(logits)

    def mask_from(order, keep_sorted):
        keep = np.zeros(n, dtype=bool)
        keep[order[keep_sorted]] = True
        return keep

    descending = np.argsort(-logits, kind="stable")
    ascending = np.argsort(logits, kind="stable")
    unsorted_mass_before = np.cumsum(probs) - probs
    sorted_probs = probs[descending]
    crossing = mask_from(descending, np.cumsum(sorted_probs) < p)
    return [
        (mask_from(np.arange(n), unsorted_mass_before < p),
         "你的结果相当于按词元原来的顺序累加概率：要先按概率从大到小排序，再累加。"),
        (crossing if crossing.any() else None,
         "你去掉了让累计概率越过 p 的那个词元：按约定它要保留（保留的是累计概率“达到” p 的最小集合）。"
         "判断一个词元留不留时，累计概率该算到它自己为止，还是只算排在它前面的词元？"),
        (mask_from(ascending, (np.cumsum(probs[ascending]) - probs[ascending]) < p),
         "你保留的是概率最小的那些词元：排序方向反了，应从最可能的词元开始累加。"),
        (probs >= p, "你保留的是概率本身不小于 p 的词元：p 限制的是保留下来的词元的概率之和，而不是单个词元的概率。"),
    ]


def check_top_p(top_p_filter_fn) -> None:
    """Exercise 1.4: ``top_p_filter(logits, p)`` -> logits with the tokens outside the nucleus set to -inf."""
    with _start("1.4") as check:
        for logits, p in TOP_P_CASES:
            expected = top_p_filter(logits, p)
            expected_keep = np.isfinite(expected)
            value = check.call(top_p_filter_fn, logits.copy(), p)
            probs = softmax(logits)
            where = f"概率为 {np.round(probs, 2).tolist()}、p={p} 时"
            result = check.array(value, f"{where}的返回值", shape=logits.shape)
            removed = ~expected_keep
            if removed.any() and not np.any(result < -1e8):
                if _same(result, np.where(expected_keep, logits, 0.0)):
                    check.fail(f"{where}：去掉的词元要设成 -inf，而不是 0：logit 为 0 的词元在 softmax 之后概率不为 0，"
                               "还会被抽到。")
                if np.all((result >= 0) & (result <= 1)) and (
                        _same(result, softmax(expected)) or _same(result, np.where(expected_keep, probs, 0.0))):
                    check.fail(f"{where}：你返回的是概率，应返回 logits：保留的位置是原来的 logit，去掉的位置是 -inf"
                               "（这样它才能和温度、top-k 串起来用）。")
            keep = result > -1e8
            if not keep.any():
                check.fail(f"{where}：你的实现一个词元都没留下，概率最大的那个词元总应保留（即使它自己的概率就超过了 p）。")
            if not np.array_equal(keep, expected_keep):
                hint = next((hint for mask, hint in _top_p_variants(logits, p)
                             if mask is not None and np.array_equal(mask, keep)), None)
                count = f"应保留 {int(expected_keep.sum())} 个词元，你的实现保留了 {int(keep.sum())} 个"
                if hint is not None:
                    check.fail(f"{where}{count}：{hint}")
                check.fail(f"{where}{count}（应保留的是概率为 {np.round(np.sort(probs[expected_keep])[::-1], 2).tolist()} "
                           f"的词元，你保留的是 {np.round(np.sort(probs[keep])[::-1], 2).tolist()}）。")
            kept_values, original = result[keep], logits[keep]
            if not _same(softmax(kept_values), softmax(original)):
                if _same(kept_values, probs[keep]) or _same(kept_values, softmax(original)):
                    check.fail(f"{where}：保留下来的位置应是原来的 logit，你的像是概率：去掉的设为 -inf，其余不变。")
                check.fail(f"{where}：保留的词元对了，但它们的值被改动了：保留的位置应保持原来的 logit。")
        check.checked(f"{len(TOP_P_CASES)} 组没有排好序的 logits（p=0.05、0.5、0.7、0.9、1），保留的词元与 "
                      "aigc_course.sampling.top_p_filter 相同，被去掉的为 -inf")


# ---------------------------------------------------------------------------------------------------------------
# 1.5 Predict: how temperature changes what top-p keeps

TEMPERATURE_TOP_P_CHOICES = ("变多", "变少", "不变")


def check_temperature_and_top_p(prediction, logits) -> bool:
    """Exercise 1.5: with top-p = 0.9, does lowering the temperature from 1 to 0.5 keep more or fewer characters?
    The check counts them itself on ``logits`` (the model's next-character logits)."""
    from aigc_course.sampling import DecodingSettings, next_token_distribution

    array = _to_array(logits)
    if array is None or array.ndim != 1 or len(array) < 2 or not np.all(np.isfinite(array)):
        shown = "不是数组" if array is None else f"形状是 {array.shape}"
        raise CheckFailed("练习 1.5", f"第二个参数应是模型在一个上下文之后给出的下一个字符的 logits，形状 (字符表大小,)，"
                                    f"有限的数；你传的{shown}。")
    counts = {temperature: int((next_token_distribution(array, DecodingSettings(
        "top_p", temperature=temperature, top_p=0.9)) > 0).sum()) for temperature in (1.0, 0.5)}
    top_k_counts = {temperature: int((next_token_distribution(array, DecodingSettings(
        "top_k", temperature=temperature, top_k=5)) > 0).sum()) for temperature in (1.0, 0.5)}
    actual = "变少" if counts[0.5] < counts[1.0] else "变多" if counts[0.5] > counts[1.0] else "不变"
    explanation = (
        f"top-p=0.9 保留的字符：T=1 时 {counts[1.0]} 个，T=0.5 时 {counts[0.5]} 个。\n"
        "温度先作用（softmax(z/T)），top-p 再在温度之后的分布上累加概率。T<1 把分布变尖：排在前面的字符分到更多概率，"
        "累计到 0.9 需要的字符就更少；T>1 则相反。所以 top-p 的“自适应”是对温度之后的分布而言的，两者一起调时要记得这一点。\n"
        f"对比 top-k=5：T=1 时保留 {top_k_counts[1.0]} 个，T=0.5 时 {top_k_counts[0.5]} 个——"
        "温度不改变字符的排序，只改变概率的大小，所以 top-k 留下的个数与温度无关。")
    return check_prediction("练习 1.5", _exercise("1.5").title, prediction, actual, explanation,
                            choices=TEMPERATURE_TOP_P_CHOICES)


# ---------------------------------------------------------------------------------------------------------------
# 1.6 Beam search over a language model given as next_log_probs(prefix)

class TableModel:
    """A toy language model: ``self(prefix)`` -> log-probabilities (vocab,) of the next token after ``prefix``.

    Distributions are looked up in ``table`` by the prefix (a tuple); prefixes not in the table get a fixed
    random distribution (seeded by the prefix), so the model depends on the whole prefix, not only the last token.
    """

    def __init__(self, name: str, vocab_size: int, table: dict | None = None, seed: int = 0,
                 concentration: float = 0.6):
        self.name, self.vocab_size, self.seed, self.concentration = name, vocab_size, seed, concentration
        self.table = {key: np.asarray(value, dtype=np.float64) for key, value in (table or {}).items()}

    def probs(self, prefix) -> np.ndarray:
        key = tuple(int(token) for token in np.asarray(prefix, dtype=np.int64).reshape(-1))
        if key in self.table:
            return self.table[key] / self.table[key].sum()
        code = sum((token + 1) * (self.vocab_size + 1) ** position for position, token in enumerate(key))
        rng = np.random.default_rng([self.seed, len(key), code])
        return rng.dirichlet(np.full(self.vocab_size, self.concentration))

    def __call__(self, prefix) -> np.ndarray:
        return np.log(self.probs(prefix))

    def sequence_log_prob(self, tokens) -> float:
        return float(sum(self(list(tokens[:i]))[token] for i, token in enumerate(tokens)))


def _reference_beam_search(model: TableModel, length: int, beam_width: int):
    """The package's beam search, run on the toy model (its state: the prefixes of the beams)."""
    def step(ids, prefixes):
        prefixes = [prefix + [int(token)] for prefix, token in zip(prefixes, ids)]
        return np.stack([model(prefix) for prefix in prefixes]), prefixes

    def reorder(prefixes, indices):
        return [list(prefixes[int(index)]) for index in indices]

    tokens, score = package_beam_search(step, model([]), [[]], length, beam_width, reorder)
    return list(tokens), float(score)


def _beam_variant(model: TableModel, length: int, beam_width: int, mistake: str):
    """What a beam search with one typical ``mistake`` returns: (tokens, score)."""
    beams = [([], 0.0)]
    for _ in range(length):
        candidates = []
        for tokens, score in beams:
            log_probs = model(tokens)
            if mistake == "independent" and tokens:  # every beam only takes its own best next token
                best = int(np.argmax(log_probs))
                candidates.append((tokens + [best], score + log_probs[best]))
                continue
            for token, log_prob in enumerate(log_probs):
                if mistake == "sum_probs":
                    new_score = score + np.exp(log_prob)
                elif mistake == "no_parent":
                    new_score = log_prob
                else:
                    new_score = score + log_prob
                candidates.append((tokens + [token], new_score))
        lowest = mistake == "lowest"
        candidates.sort(key=lambda pair: pair[1], reverse=not lowest)
        width = 1 if mistake == "greedy" else beam_width
        beams = candidates[:width]
    tokens = beams[0][0]
    return tokens, model.sequence_log_prob(tokens)


BEAM_MISTAKES = (
    ("greedy", "你的结果和贪心解码（每步只留 1 条）一样：每一步应保留 beam_width 条得分最高的候选，最后才选最好的一条。"),
    ("sum_probs", "你的结果像是把各步的概率直接相加当作得分：整段序列的概率是各步概率的乘积，"
                  "所以得分应是各步对数概率之和。"),
    ("lowest", "你的结果像是每一步保留了得分最低的候选：得分越高（对数概率越接近 0）越好。"),
    ("no_parent", "你的结果像是只按新接上的这一个词元的对数概率排序：新候选的得分应是父候选的累计得分加上这一步的对数概率。"),
    ("independent", "你的结果像是 beam_width 条候选各自只接上自己最好的一个词元（几条并行的贪心）："
                    "每一步应在所有候选 × 所有词元的扩展里一起比较，留下最好的 beam_width 条。"),
)


def _beam_cases():
    """(model, length, beam_width): first one small model per typical mistake, built so that this mistake is the
    first to give a wrong answer on it and no mistake listed before it gives the same answer; then a random model
    that depends on the whole prefix."""
    # greedy takes token 0 (p=0.5) and is stuck with 0.5 × 0.4; the beam finds 0.4 × 0.9 (keeping the lowest fails too)
    textbook = TableModel("模型 A", 3, {(): [0.5, 0.4, 0.1], (0,): [0.4, 0.33, 0.27], (1,): [0.9, 0.06, 0.04],
                                       (2,): [0.25, 0.15, 0.6]})
    # 0.6 × 0.5 beats 0.3 × 0.62: ranking by the last step's probability alone picks the second
    last_step = TableModel("模型 B", 3, {(): [0.6, 0.3, 0.1], (0,): [0.5, 0.3, 0.2], (1,): [0.62, 0.23, 0.15],
                                        (2,): [0.4, 0.35, 0.25]})
    # 0.55 × 0.45 beats 0.12 × 0.95, but 0.12 + 0.95 > 0.55 + 0.45: summing probabilities picks the second
    summed = TableModel("模型 C", 5, {(): [0.55, 0.12, 0.11, 0.11, 0.11], (0,): [0.45, 0.2, 0.15, 0.1, 0.1],
                                     (1,): [0.95, 0.02, 0.01, 0.01, 0.01]})
    # the best path 0.5 × 0.45 × 0.9 goes through the second-best continuation of the first token
    second_best = TableModel("模型 D", 3, {(): [0.5, 0.3, 0.2], (0,): [0.5, 0.45, 0.05], (1,): [0.4, 0.35, 0.25],
                                          (0, 0): [0.3, 0.36, 0.34], (0, 1): [0.9, 0.06, 0.04],
                                          (1, 0): [0.85, 0.1, 0.05]})
    random_model = TableModel("模型 E", 5, seed=7)
    return [(textbook, 2, 2), (last_step, 2, 2), (summed, 2, 2), (second_best, 3, 2), (random_model, 5, 3),
            (random_model, 3, 1)]


def _show_tokens(tokens, score) -> str:
    return f"{list(tokens)}（对数概率 {score:.3f}）"


def check_beam_search(beam_search) -> None:
    """Exercise 1.6: ``beam_search(next_log_probs, length, beam_width)`` -> (best tokens, their log-probability)."""
    with _start("1.6") as check:
        for model, length, beam_width in _beam_cases():
            expected_tokens, expected_score = _reference_beam_search(model, length, beam_width)
            where = f"{model.name}（词表 {model.vocab_size} 个词元，长度 {length}，束宽 {beam_width}）"
            value = check.call(beam_search, model, length, beam_width)
            check.require(isinstance(value, (tuple, list)) and len(value) == 2,
                          f"{where}：应返回两个值 (词元序列, 得分)，你返回的是 {type(value).__name__}"
                          + (f"（{len(value)} 个元素）" if isinstance(value, (tuple, list)) else "") + "。")
            tokens, score = value
            try:
                tokens = [int(token) for token in np.asarray(tokens).reshape(-1)]
                score = float(np.asarray(score).reshape(()))
            except (TypeError, ValueError):
                check.fail(f"{where}：返回值应是 (整数列表, 一个浮点数)，你的是 ({tokens!r}, {score!r})。")
            check.require(len(tokens) == length,
                          f"{where}：应生成 {length} 个词元，你的序列有 {len(tokens)} 个：{tokens}。")
            check.require(all(0 <= token < model.vocab_size for token in tokens),
                          f"{where}：词元编号应在 0–{model.vocab_size - 1} 之间，你的序列是 {tokens}。")
            if tokens != expected_tokens:
                got = model.sequence_log_prob(tokens)
                for mistake, hint in BEAM_MISTAKES:
                    variant_tokens, _ = _beam_variant(model, length, beam_width, mistake)
                    if variant_tokens != expected_tokens and variant_tokens == tokens:
                        check.fail(f"{where}：得分最高的序列应是 {_show_tokens(expected_tokens, expected_score)}，"
                                   f"你的是 {_show_tokens(tokens, got)}。{hint}")
                check.fail(f"{where}：束搜索应找到 {_show_tokens(expected_tokens, expected_score)}，"
                           f"你的是 {_show_tokens(tokens, got)}。"
                           + ("你的序列概率更低：是不是最后返回的不是得分最高的那条，或者某一步留下的候选不对？"
                              if got < expected_score else ""))
            if not np.isclose(score, expected_score, rtol=1e-6, atol=1e-6):
                if np.isclose(score, np.exp(expected_score), rtol=1e-6, atol=1e-9):
                    check.fail(f"{where}：序列对了，但返回的得分 {score:.4g} 是概率本身：应返回对数概率之和 "
                               f"{expected_score:.3f}（很长的序列概率会下溢成 0，对数概率不会）。")
                if np.isclose(score, -expected_score, rtol=1e-6, atol=1e-6):
                    check.fail(f"{where}：序列对了，但得分的符号反了：对数概率之和是负数（{expected_score:.3f}）。")
                check.fail(f"{where}：序列对了，但得分应是它的对数概率之和 {expected_score:.3f}，你的是 {score:.4g}。")
        check.checked("5 个小语言模型上束搜索的结果（含贪心会走错的例子；束宽 1–3，长度 2–5）和它的对数概率")


# ---------------------------------------------------------------------------------------------------------------
# 1.7 Experiment: validation loss below a goal within a step budget

def step_budget() -> int:
    """Training steps allowed in exercise 1.7 (fewer in quick mode)."""
    return by_mode(*STEP_BUDGET)


def _validation_ids(corpus) -> np.ndarray:
    """The validation characters exercise 1.7 is judged on: all of them (the first QUICK_VAL_CHARS in quick mode)."""
    return corpus.val_ids[:QUICK_VAL_CHARS] if is_quick() else corpus.val_ids


def check_loss_goal(model, corpus) -> None:
    """Exercise 1.7: at most ``step_budget()`` optimizer steps, and the validation loss (measured here, on the
    validation split of ``corpus``) below the goal of the current mode."""
    from aigc_course.metrics import nats_per_char

    goal, budget = by_mode(*LOSS_GOAL), step_budget()
    mode = "快速模式：只检查流程能跑通，目标放宽" if is_quick() else "正常模式"
    with _start("1.7") as check:
        check.require(getattr(corpus, "name", None) == "shakespeare",
                      "这道题用莎士比亚语料：把 load_char_corpus(\"shakespeare\") 得到的 corpus 传给检查。")
        optimizer = getattr(model, "optimizer", None)
        steps = int(optimizer.iterations.numpy()) if optimizer is not None else 0
        check.require(steps > 0, "模型还没有训练过（优化器的步数是 0）：先运行上面训练的那一格。")
        check.require(steps <= budget,
                      f"训练用了 {steps} 步，超过了上限 {budget} 步：让 EPOCHS × STEPS_PER_EPOCH 不超过 {budget}，"
                      "并在同一格里重新创建模型再训练。")
        ids = _validation_ids(corpus)
        try:
            val_nats = nats_per_char(model, ids)
        except Exception as error:  # a model for another vocabulary, or not a character model at all
            check.fail(f"在验证集上计算损失时出错（{type(error).__name__}: {error}）：模型应是在这份语料的字符表上"
                       f"建的字符级语言模型（输出 {len(corpus.vocab)} 个字符的 logits）。")
        print(f"{steps} 步（上限 {budget}），验证集 {len(ids):,} 个字符上的损失 {val_nats:.3f} nats/字符；"
              f"目标 < {goal}（{mode}）")
        check.require(np.isfinite(val_nats),
                      "验证损失是 NaN 或无穷大：训练发散了。学习率是不是太大了？看看训练损失从哪一轮开始变坏。")
        uniform = float(np.log(len(corpus.vocab)))
        check.require(val_nats < goal or val_nats < uniform - 0.5 or is_quick(),
                      f"验证损失 {val_nats:.3f} 几乎和随机猜（ln|V| = {uniform:.2f}）一样：模型没学到东西。"
                      "学习率是太小了，还是太大以至于发散？看看上面每一轮的训练损失有没有下降。")
        baseline = "" if is_quick() else f"第 1 章的设置在 {budget} 步内大约到 {CHAPTER_BASELINE}。"
        check.require(val_nats < goal,
                      f"验证损失 {val_nats:.3f} nats/字符，还没低于目标 {goal}（差 {val_nats - goal:.3f}）。{baseline}"
                      "步数固定时，怎样让每一步的更新更有效？第 1 章的学习率是为训练 4 轮（约 490 步）选的；"
                      "模型大小也可以试试（每一步会变慢）。")
        check.checked(f"{steps} 步 ≤ {budget} 步；验证集损失 {val_nats:.3f} < {goal} nats/字符（{mode}）")
