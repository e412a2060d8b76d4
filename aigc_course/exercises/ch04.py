"""Chapter 04 (Transformer) exercises: the causal mask, scaled dot-product attention, sinusoidal positions
and one key/value-cache step written from scratch; two predictions (scaling by 1/d_k, what the cache saves);
and a baby GPT brought under a validation-loss goal within a fixed number of training steps.

Every check runs the learner's function on small cases with known answers, computes what the typical
wrong versions would give, and names the mistake it recognises (in Chinese), never the code of the answer.
"""

from __future__ import annotations

import functools

import numpy as np

from aigc_course.exercises import Exercise
from aigc_course.exercises.checking import Check, CheckFailed, check_prediction, same_values
from aigc_course.runtime import by_mode, is_quick

EXERCISES = (
    Exercise("4.1", "因果掩码", 1, "implement", "check_causal_mask", "make_causal_mask"),
    Exercise("4.2", "带掩码的缩放点积注意力", 2, "implement", "check_attention", "attention"),
    Exercise("4.3", "正弦位置编码", 2, "implement", "check_positional_encoding", "positional_encoding"),
    Exercise("4.4", "键值缓存的一步", 2, "implement", "check_cached_attention_step", "cached_attention_step"),
    Exercise("4.5", "把 1/√d_k 换成 1/d_k", 1, "predict", "check_scale_prediction"),
    Exercise("4.6", "键值缓存省下多少注意力分数", 1, "predict", "check_cache_savings"),
    Exercise("4.7", "baby GPT：限定步数内把验证损失降到目标以下", 3, "experiment", "check_baby_gpt"),
)

MASKED = -1e9  # the score a masked position gets in the references (as in aigc_course.models.gpt)


def _softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def _reference_attention(q, k, v, mask=None, scale=None, axis=-1):
    """softmax(q k^T * scale [masked]) v in float64; ``scale`` defaults to 1/sqrt(d_k)."""
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ np.swapaxes(k, -1, -2) * scale
    if mask is not None:
        scores = np.where(mask, scores, MASKED)
    weights = _softmax(scores, axis)
    return weights @ v, weights


def _pair(result, check: Check, names: str, count: int) -> tuple:
    """``result`` as a tuple of ``count`` values, or a hint that says what should be returned."""
    if not isinstance(result, (tuple, list)) or len(result) != count:
        check.fail(f"函数应该返回 {count} 个值：{names}（用逗号隔开写在 return 后面），"
                   f"你的函数返回了{_describe(result)}。")
    return tuple(result)


def _describe(value) -> str:
    if isinstance(value, (tuple, list)):
        return f"{len(value)} 个值"
    shape = getattr(value, "shape", None)
    return f"一个形状为 {tuple(shape)} 的数组" if shape is not None else type(value).__name__


_same = functools.partial(same_values, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------------------------- 4.1

def check_causal_mask(make_causal_mask) -> None:
    """Exercise 4.1: ``make_causal_mask(length)`` -> (length, length) booleans, True where query i may see key j."""
    with Check("练习 4.1", "因果掩码") as check:
        for length in (5, 8, 2, 1):  # a long one first: at length 1 several mistakes look alike
            raw = check.call(make_causal_mask, length)
            mask = check.array(raw, f"长度 {length} 时的掩码", shape=(length, length))
            if np.any(mask < 0) or np.isneginf(mask).any():
                check.fail(f"长度 {length} 时你的掩码里有负数（像是直接加到分数上的 0/−∞ 掩码）。本练习的约定是"
                           "布尔掩码：True（或 1）= 这个查询可以看这个键，False（或 0）= 不能看。")
            if not np.all((mask == 0) | (mask == 1)):
                check.fail(f"长度 {length} 时你的掩码里出现了 0 和 1 以外的值：掩码的每一格只回答“能不能看”，"
                           "应当是 True/False。")
            seen = mask.astype(bool)
            expected = np.tril(np.ones((length, length), dtype=bool))
            if np.array_equal(seen, expected):
                continue
            rows_are_queries = "行是查询的位置 i，列是键的位置 j"
            if np.array_equal(seen, np.tril(np.ones((length, length), dtype=bool), 1)):
                check.fail(f"长度 {length} 时查询 i 还能看到键 i+1（对角线上方多了一条 True）：预测第 i+1 个字时"
                           "模型会直接看到答案。查询 i 只能看位置不晚于 i 的键。")
            if np.array_equal(seen, np.tril(np.ones((length, length), dtype=bool), -1)):
                check.fail(f"长度 {length} 时对角线是 False：查询 i 看不到它自己。位置 i 的输出应当能用到第 i 个字本身"
                           "（第 0 行全是 False 时，第一个字什么都看不到）。")
            if np.array_equal(seen, expected.T):
                check.fail(f"长度 {length} 时你的掩码是上三角：查询只能看到它之后（未来）的键，而不是之前的。"
                           f"{rows_are_queries}——比较的方向反了吗？")
            if np.array_equal(seen, ~expected):
                check.fail(f"长度 {length} 时你的掩码与正确答案恰好相反：本练习约定 True = 可以看到，"
                           "而不是 True = 要遮住。")
            if seen.all():
                check.fail(f"长度 {length} 时掩码全是 True：没有遮住任何位置，查询能看到未来的键。")
            wrong = np.argwhere(seen != expected)[0]
            i, j = int(wrong[0]), int(wrong[1])
            check.fail(f"长度 {length} 时第 {i} 行第 {j} 列（查询 {i}、键 {j}）应为 {bool(expected[i, j])}，"
                       f"你的是 {bool(seen[i, j])}（{rows_are_queries}）。")
        check.checked("长度 5、8、2、1 的掩码（下三角，含对角线）")


# ----------------------------------------------------------------------------------------------- 4.2

def _attention_inputs():
    rng = np.random.default_rng(4)
    # different sizes on every axis, so that a wrong axis or a transposed matrix shows in a shape
    cross = tuple((1.5 * rng.normal(size=shape)).astype("float32") for shape in ((2, 3, 4), (2, 5, 4), (2, 5, 6)))
    self_ = tuple((1.5 * rng.normal(size=shape)).astype("float32") for shape in ((2, 5, 4), (2, 5, 4), (2, 5, 6)))
    causal = np.tril(np.ones((5, 5), dtype=bool))
    padding = np.arange(5)[None, None, :] < np.array([5, 3])[:, None, None]  # second sequence: 3 real tokens
    return cross, self_, causal, causal[None] & padding


def _check_unmasked_attention(check: Check, attention, q, k, v, case: str) -> None:
    output, weights = _pair(check.call(attention, q, k, v), check, "(输出, 注意力权重)", 2)
    t_q, t_k, d_k, d_v = q.shape[-2], k.shape[-2], q.shape[-1], v.shape[-1]
    batch = q.shape[:-2]
    weights_shape, output_shape = (*batch, t_q, t_k), (*batch, t_q, d_v)
    weights = check.array(weights, f"{case}注意力权重（第二个返回值）")
    output = check.array(output, f"{case}输出（第一个返回值）")
    if weights.shape == output_shape and output.shape == weights_shape:
        check.fail(f"{case}两个返回值的顺序反了：先返回输出 {output_shape}，再返回注意力权重 {weights_shape}。")
    if weights.shape == (*batch, t_k, t_q):
        check.fail(f"{case}注意力权重的形状是 {weights.shape}，应为 {weights_shape}（…, 查询数, 键数）："
                   "分数矩阵的行应对应查询、列对应键，是不是把 q 和 k 的位置写反了？")
    if weights.shape != weights_shape:
        check.fail(f"{case}注意力权重的形状应为 {weights_shape}（…, 查询数 {t_q}, 键数 {t_k}），你的是 {weights.shape}。")
    if output.shape != output_shape:
        check.fail(f"{case}输出的形状应为 {output_shape}（…, 查询数 {t_q}, 值的维数 {d_v}），你的是 {output.shape}。")
    expected_output, expected_weights = _reference_attention(q, k, v)
    if _same(weights, expected_weights):
        check.require(_same(output, expected_output),
                      f"{case}注意力权重对了，输出却不对：输出应是值 v 按这些权重的加权和（每个查询一行）。")
        return
    if _same(weights, _reference_attention(q, k, v, axis=-2)[1]):
        check.fail(f"{case}你的权重是每一列（每个键）之和为 1，而应是每一行（每个查询）之和为 1："
                   "softmax 沿错了轴。")
    wrong_scales = (
        (1.0, "分数没有缩放：是不是忘了除以 √d_k？"),
        (1 / d_k, "分数除以了 d_k，应除以 √d_k（d_k 的平方根）。"),
        (np.sqrt(d_k), "分数乘了 √d_k，应当是除以 √d_k。"),
        (1 / np.sqrt(t_k), "缩放用的是序列长度（键的个数），而 d_k 是每个查询/键向量的维数（最后一个轴）。"),
        (1 / np.sqrt(d_v), "缩放用的是值 v 的维数，而 d_k 是查询/键向量的维数。"),
    )
    for scale, hint in wrong_scales:
        if _same(weights, _reference_attention(q, k, v, scale=scale)[1]):
            check.fail(f"{case}{hint}")
    sums = weights.sum(axis=-1)
    if not np.allclose(sums, 1.0, atol=1e-4):
        check.fail(f"{case}注意力权重每一行之和应为 1（返回的应是 softmax 之后的权重，不是分数），"
                   f"你的第一行之和是 {sums.reshape(-1)[0]:.4g}。")
    worst = float(np.abs(weights - expected_weights).max())
    check.fail(f"{case}注意力权重与期望的不同（最大差 {worst:.3g}）：检查分数 q·k 的计算和缩放。")


def _check_masked_attention(check: Check, attention, q, k, v, mask, case: str) -> None:
    output, weights = _pair(check.call(attention, q, k, v, mask), check, "(输出, 注意力权重)", 2)
    expected_output, expected_weights = _reference_attention(q, k, v, mask)
    weights = check.array(weights, f"{case}注意力权重", shape=expected_weights.shape)
    output = check.array(output, f"{case}输出", shape=expected_output.shape)
    if _same(weights, expected_weights):
        check.require(_same(output, expected_output), f"{case}注意力权重对了，输出却不对：输出应是值 v 按权重的加权和。")
        return
    full_mask = np.broadcast_to(mask, expected_weights.shape)
    if _same(weights, _reference_attention(q, k, v)[1]):
        check.fail(f"{case}传入了掩码，结果却与不加掩码时相同：掩码没有起作用（mask 参数用上了吗？）。")
    hidden_share = float(np.where(full_mask, 0.0, weights).sum(-1).mean())
    if hidden_share > 0.5:
        check.fail(f"{case}被遮住（mask 为 False）的位置反而拿到了大部分权重，能看的位置几乎是 0：掩码的意思反了。"
                   "本章约定 True = 可以看到；若是把掩码加到分数上，加的应是一个很大的负数。")
    if hidden_share > 1e-6:
        check.fail(f"{case}被遮住（mask 为 False）的位置还分到了权重（平均每行 {hidden_share:.3f}）：softmax 之前，"
                   "这些位置的分数应变成一个很大的负数（或 −∞）；变成 0 不够，因为 exp(0) = 1。")
    sums = weights.sum(axis=-1)
    if not np.allclose(sums, 1.0, atol=1e-4):
        check.fail(f"{case}被遮住的位置权重是 0 了，但每一行之和不再是 1（第一行之和 {sums.reshape(-1)[0]:.3f}）："
                   "掩码要在 softmax 之前作用在分数上，而不是把 softmax 之后的权重置 0。")
    worst = float(np.abs(weights - expected_weights).max())
    check.fail(f"{case}注意力权重与期望的不同（最大差 {worst:.3g}）。")


def check_attention(attention) -> None:
    """Exercise 4.2: ``attention(q, k, v, mask=None)`` -> (softmax(q k^T / sqrt(d_k)) v, weights)."""
    (q, k, v), (sq, sk, sv), causal, combined = _attention_inputs()
    with Check("练习 4.2", "带掩码的缩放点积注意力") as check:
        _check_unmasked_attention(check, attention, q[0], k[0], v[0], "一个序列（二维输入，3 个查询、5 个键）时，")
        try:
            _check_unmasked_attention(check, attention, q, k, v, "带批量（三维输入）时，")
        except CheckFailed as failure:
            if "运行时出错" in failure.hint:
                check.fail(f"二维输入时没问题，带批量的三维输入时出错了：{failure.hint} 对多于两维的数组，`.T` 或不带轴参数"
                           "的 transpose 会把所有轴都反过来；这里只应交换最后两个轴。")
            raise
        check.checked("不加掩码时二维和三维输入的输出与权重")
        _check_masked_attention(check, attention, sq, sk, sv, causal, "加因果掩码 (5, 5) 时，")
        _check_masked_attention(check, attention, sq, sk, sv, combined, "加因果与填充相与的掩码 (2, 5, 5) 时，")
        check.checked("因果掩码、因果与填充掩码相与时的输出与权重")


# ----------------------------------------------------------------------------------------------- 4.3

def _sinusoid_variants(length: int, dim: int) -> tuple[np.ndarray, list[tuple[np.ndarray, str]]]:
    """The encoding and what the typical mistakes give, with the hint for each."""
    p = np.arange(length, dtype=np.float64)[:, None]
    pair = np.arange(dim // 2, dtype=np.float64)[None, :]                 # i = 0 .. dim/2 - 1
    column = np.arange(dim, dtype=np.float64)[None, :]

    def interleave(even, odd):
        table = np.zeros((length, dim))
        table[:, 0::2], table[:, 1::2] = even, odd
        return table

    angle = p / 10000 ** (2 * pair / dim)
    expected = interleave(np.sin(angle), np.cos(angle))
    half_exponent = p / 10000 ** (pair / dim)
    p1 = p + 1
    variants = [
        (interleave(np.cos(angle), np.sin(angle)),
         "sin 和 cos 放反了：偶数列（0、2、4…）应是 sin，奇数列是 cos。提示：位置 0 的偶数列应全为 0。"),
        (np.concatenate([np.sin(angle), np.cos(angle)], axis=1),
         "你把 sin 放在前一半列、cos 放在后一半列；这里要交错排列：第 2i 列是 sin，第 2i+1 列是同一频率的 cos。"),
        (interleave(np.sin(p / 10000 ** (column[:, 0::2] / dim)), np.cos(p / 10000 ** (column[:, 1::2] / dim))),
         "第 2i+1 列（cos）的频率应与它左边第 2i 列（sin）的相同：同一对共用 10000^(2i/d)，"
         "i 是第几对，不是第几列。"),
        (interleave(np.sin(half_exponent), np.cos(half_exponent)),
         "频率不对：指数应是 2i/d（i 是第几对，从 0 数起），你的像是 i/d，波长增长得太慢。"),
        (interleave(np.sin(p * 10000 ** (2 * pair / dim)), np.cos(p * 10000 ** (2 * pair / dim))),
         "位置 p 应除以 10000^(2i/d)（维度越靠后，波长越长），你的是乘。"),
        (interleave(np.sin(p1 / 10000 ** (2 * pair / dim)), np.cos(p1 / 10000 ** (2 * pair / dim))),
         "第 0 行应是位置 0（sin 0 = 0、cos 0 = 1），你的位置像是从 1 开始数的。"),
    ]
    return expected, variants


def check_positional_encoding(positional_encoding) -> None:
    """Exercise 4.3: ``positional_encoding(length, dim)`` -> (length, dim) with sin(p / 10000^(2i/d)) in column
    2i and cos(...) in column 2i+1."""
    with Check("练习 4.3", "正弦位置编码") as check:
        for length, dim in ((10, 8), (50, 16)):
            raw = check.call(positional_encoding, length, dim)
            table = check.array(raw, f"length={length}、dim={dim} 时的编码")
            if table.shape == (dim, length):
                check.fail(f"length={length}、dim={dim} 时形状应为 ({length}, {dim})（每个位置一行），"
                           f"你的是 {table.shape}：行和列反了。")
            check.require(table.shape == (length, dim),
                          f"length={length}、dim={dim} 时形状应为 ({length}, {dim})，你的是 {table.shape}。")
            expected, variants = _sinusoid_variants(length, dim)
            if _same(table, expected, atol=1e-4):
                continue
            for variant, hint in variants:
                if _same(table, variant, atol=1e-4):
                    check.fail(f"length={length}、dim={dim} 时：{hint}")
            wrong = np.argwhere(~np.isclose(table, expected, rtol=1e-4, atol=1e-4))[0]
            p, c = int(wrong[0]), int(wrong[1])
            check.fail(f"length={length}、dim={dim} 时，位置 {p}、第 {c} 列应为 {expected[p, c]:.4f}，"
                       f"你的是 {table[p, c]:.4f}（列从 0 数起，第 {c} 列属于第 {c // 2} 对）。")
        check.checked("(10, 8) 和 (50, 16) 两张编码表的每一个数")


# ----------------------------------------------------------------------------------------------- 4.4

def _cache_sequence():
    rng = np.random.default_rng(7)
    queries = (1.5 * rng.normal(size=(6, 4))).astype("float32")
    keys = (1.5 * rng.normal(size=(6, 4))).astype("float32")
    values = rng.normal(size=(6, 3)).astype("float32")                  # d_v = 3 differs from d_k = 4
    return queries, keys, values


def _cached_step(check: Check, step, q, k, v, cache_keys, cache_values, case: str):
    """Call the learner's step; return (output as (1, d_v), new keys, new values) as float arrays."""
    result = check.call(step, q, k, v, cache_keys, cache_values)
    output, new_keys, new_values = _pair(result, check, "(输出, 新的键缓存, 新的值缓存)", 3)
    output = check.array(output, f"{case}输出")
    if output.size == v.shape[-1]:
        output = output.reshape(1, -1)
    check.require(output.shape == (1, v.shape[-1]),
                  f"{case}输出的形状应为 (1, {v.shape[-1]})（一个查询，值的维数），你的是 {output.shape}。")
    return output, check.array(new_keys, f"{case}新的键缓存"), check.array(new_values, f"{case}新的值缓存")


def _check_new_cache(check: Check, new, old, row, case: str, name: str) -> None:
    t = len(old)
    expected = np.concatenate([old, row])
    if new.shape == old.shape and (t == 0 or _same(new, old)):
        check.fail(f"{case}返回的{name}缓存还是原来的 {t} 行：新字符的{name}要接到缓存末尾，返回 {t + 1} 行。")
    if new.shape == row.shape and t > 0:
        check.fail(f"{case}返回的{name}缓存只有新字符这一行：要把它接在原来的 {t} 行后面，返回 {t + 1} 行。")
    check.require(new.shape == expected.shape,
                  f"{case}返回的{name}缓存形状应为 {expected.shape}（原来 {t} 行加新的 1 行），你的是 {new.shape}。")
    if t > 0 and _same(new, np.concatenate([row, old])):
        check.fail(f"{case}新字符的{name}接在了缓存的开头；它的位置是 {t}，应接在已有的 {t} 行之后（末尾）。")
    check.require(_same(new, expected), f"{case}返回的{name}缓存内容不对：前 {t} 行应是原来的缓存，最后一行是新字符的{name}。")


def check_cached_attention_step(cached_attention_step) -> None:
    """Exercise 4.4: ``cached_attention_step(q, k, v, cache_keys, cache_values)`` -> (output, keys, values) where
    the new token's key/value are appended to the cache and its query attends over all of it."""
    queries, keys, values = _cache_sequence()
    with Check("练习 4.4", "键值缓存的一步") as check:
        t = 3
        case = f"缓存里已有 {t} 个字符、读入第 {t + 1} 个时，"
        q, k, v = queries[t:t + 1], keys[t:t + 1], values[t:t + 1]
        output, new_keys, new_values = _cached_step(check, cached_attention_step, q, k, v, keys[:t], values[:t], case)
        expected = _reference_attention(q, keys[:t + 1], values[:t + 1])[0]
        if not _same(output, expected):
            if _same(output, _reference_attention(q, keys[:t], values[:t])[0]):
                check.fail(f"{case}输出只看了缓存里原来的 {t} 个字符，没有看新字符自己：先把新的键和值接到缓存里，"
                           "再让查询去看全部。")
            if _same(output, v):
                check.fail(f"{case}输出就是新字符自己的值：查询只看了它自己。缓存里之前的 {t} 个字符也要看。")
            if _same(output, values[:1]):
                check.fail(f"{case}输出等于第 0 个字符的值：查询只看了位置 0。新字符在位置 {t}，它之前的位置全都"
                           "能看——如果用了因果掩码，它对应的是掩码的最后一行，而不是第一行。")
            if _same(output, _reference_attention(q, keys[:t + 1], values[:t + 1], scale=1.0)[0]):
                check.fail(f"{case}分数没有缩放：是不是忘了除以 √d_k？")
            values_sum = values[:t + 1].astype(np.float64).sum(axis=0, keepdims=True)
            if _same(output, values_sum):
                check.fail(f"{case}输出等于所有值之和：权重之和应为 1，softmax 是在长度为 {t + 1} 的那个轴（各个键）上做的吗？")
            worst = float(np.abs(output - expected).max())
            check.fail(f"{case}输出与对 {t + 1} 个键值做注意力的结果不同（最大差 {worst:.3g}）。")
        _check_new_cache(check, new_keys, keys[:t], k, case, "键")
        _check_new_cache(check, new_values, values[:t], v, case, "值")
        check.checked("已有 3 个字符时一步的输出和新缓存")

        empty_keys, empty_values = np.zeros((0, 4), "float32"), np.zeros((0, 3), "float32")
        case = "缓存为空（形状 (0, d)，还没有任何字符）时，"
        try:
            output, new_keys, new_values = _cached_step(check, cached_attention_step, queries[:1], keys[:1],
                                                        values[:1], empty_keys, empty_values, case)
        except CheckFailed as failure:
            if failure.hint.startswith(case):
                raise
            check.fail(f"{case}{failure.hint}")
        check.require(_same(output, values[:1]), f"{case}第一个字符只能看它自己，输出应等于它自己的值。")
        _check_new_cache(check, new_keys, empty_keys, keys[:1], case, "键")
        _check_new_cache(check, new_values, empty_values, values[:1], case, "值")

        cache_keys, cache_values = empty_keys, empty_values
        full = _reference_attention(queries, keys, values, np.tril(np.ones((6, 6), dtype=bool)))[0]
        for position in range(6):
            case = f"从空缓存开始逐个读入 6 个字符，读到第 {position + 1} 个时，"
            output, cache_keys, cache_values = _cached_step(
                check, cached_attention_step, queries[position:position + 1], keys[position:position + 1],
                values[position:position + 1], cache_keys.astype("float32"), cache_values.astype("float32"), case)
            check.require(_same(output, full[position:position + 1]),
                          f"{case}输出与整段做因果注意力的第 {position + 1} 行不同。")
        check.checked("从空缓存逐个读入 6 个字符，每一步都等于整段的因果注意力")


# ----------------------------------------------------------------------------------------------- 4.5

SCALE_DIM = 256  # d_k of the prediction in exercise 4.5
SCALE_KEYS = 32


def scale_experiment(d_k: int, scale: float, seed: int = 0) -> tuple[float, float]:
    """Scores of 256 random queries against 32 random keys (unit-variance components), times ``scale``:
    (standard deviation of the scores, mean largest softmax weight)."""
    rng = np.random.default_rng(seed)
    queries = rng.normal(size=(256, 1, d_k))
    keys = rng.normal(size=(256, SCALE_KEYS, d_k))
    scores = (queries @ np.swapaxes(keys, -1, -2))[:, 0, :] * scale
    return float(scores.std()), float(_softmax(scores).max(-1).mean())


def check_scale_prediction(prediction) -> bool:
    """Exercise 4.5: the standard deviation of the scores for d_k = 256 when they are divided by d_k."""
    std, top = scale_experiment(SCALE_DIM, 1 / SCALE_DIM)
    std_right, top_right = scale_experiment(SCALE_DIM, 1 / np.sqrt(SCALE_DIM))
    explanation = (
        f"q·k 是 d_k 个独立乘积之和，方差为 d_k、标准差为 √d_k = {np.sqrt(SCALE_DIM):.0f}。除以 √d_k 后标准差回到 1"
        f"（实测 {std_right:.2f}）；除以 d_k 则成了 √d_k/d_k = 1/√d_k = {1 / np.sqrt(SCALE_DIM):.4f}（实测 {std:.4f}）。"
        f"\n分数都挤在 0 附近，softmax 几乎是均匀分布：{SCALE_KEYS} 个键时最大权重平均只有 {top:.3f}"
        f"（均匀分布是 1/{SCALE_KEYS} = {1 / SCALE_KEYS:.3f}；除以 √d_k 时是 {top_right:.3f}）。"
        "注意力分不清该看谁，而且 d_k 越大越“平”——缩放过头与不缩放一样有害，只是方向相反。"
        "\n（这里的“实测”是检查自己另抽一组随机向量、只对 d_k = 256 重做的，所以和上面实验格的表略有出入。）")
    return check_prediction("练习 4.5", "把 1/√d_k 换成 1/d_k（d_k = 256 时分数的标准差）", prediction, std,
                            explanation, tolerance=0.02)


# ----------------------------------------------------------------------------------------------- 4.6

NEW_TOKENS = 128  # exercise 4.6: characters generated after a one-character prompt


def count_attention_scores(new_tokens: int) -> tuple[int, int]:
    """Attention scores (q·k products) one layer and one head compute to generate ``new_tokens`` characters
    after a one-character prompt: (without a cache: the full T x T matrix at every step, with a cache: one
    query row per step)."""
    uncached = cached = 0
    for length in range(1, new_tokens + 1):   # the step that predicts character length + 1 reads length characters
        uncached += length * length
        cached += 1 * length
    return uncached, cached


def check_cache_savings(prediction, uncached_scores: int, cached_scores: int) -> bool:
    """Exercise 4.6: how many times more attention scores generation computes without the key/value cache."""
    uncached, cached = count_attention_scores(NEW_TOKENS)
    if (int(uncached_scores), int(cached_scores)) != (uncached, cached):
        raise CheckFailed("练习 4.6", f"实验格数出的分数个数（不带缓存 {int(uncached_scores):,}、带缓存 "
                                     f"{int(cached_scores):,}）与生成 {NEW_TOKENS} 个字时应有的不同：实验格被改过吗？"
                                     "把它恢复原样，重新运行实验格，再运行这一格。")
    ratio = uncached / cached
    explanation = (
        f"不带缓存时，前缀有 T 个字的那一步要算 T×T 个分数，共 Σ T² = {uncached:,}（约 N³/3）；带缓存时只算新字那一行的"
        f" T 个，共 Σ T = {cached:,}（约 N²/2）。两者之比恰好是 (2N+1)/3 = {ratio:.1f}：生成得越长，省得越多，与 N 成正比。"
        f"\n投影和 MLP 每个位置的计算量是固定的，不带缓存时每步要为 T 个位置都算一遍，省下的倍数是 (N+1)/2 = "
        f"{(NEW_TOKENS + 1) / 2:.1f}；再加上每一步调用的固定开销，第 6 节实测的加速远小于这两个倍数。")
    return check_prediction("练习 4.6", f"生成 {NEW_TOKENS} 个字：不带缓存的注意力分数是带缓存的多少倍", prediction,
                            ratio, explanation, tolerance=0.2)


# ----------------------------------------------------------------------------------------------- 4.7

STEP_BUDGET = by_mode(500, 20)       # training steps the baby GPT may take
PARAMETER_LIMIT = 1_000_000          # the chapter's baby GPT has 804,096
CONTEXT = 64                         # the baby GPT configuration's context
GOAL = by_mode(2.10, 3.3)            # validation nats/char to get under (the chapter's baseline: 2.32)
VAL_CHARS = by_mode(None, 8192)      # validation characters measured (None: the whole validation split)


def check_baby_gpt(model) -> None:
    """Exercise 4.7: a baby GPT trained for at most ``STEP_BUDGET`` steps gets under ``GOAL`` nats/char on the
    Tiny Shakespeare validation split (measured here, on held-out text, with the course's ``nats_per_char``)."""
    from aigc_course.data.corpora import load_char_corpus
    from aigc_course.metrics import nats_per_char
    from aigc_course.models.gpt import GPT

    mode = "快速模式（AIGC_QUICK=1）的目标" if is_quick() else "正常模式的目标"
    with Check("练习 4.7", "baby GPT：限定步数内把验证损失降到目标以下") as check:
        check.require(isinstance(model, GPT), f"传给检查的应是训练好的 GPT 模型（aigc_course.models.gpt.GPT），"
                                              f"你传的是 {type(model).__name__}。")
        corpus = load_char_corpus("shakespeare")
        check.require(model.vocab_size == len(corpus.vocab),
                      f"模型的字符表大小是 {model.vocab_size}，Tiny Shakespeare 的是 {len(corpus.vocab)}：要在莎士比亚语料上训练。")
        check.require(model.context_length == CONTEXT,
                      f"规则是上下文长度 {CONTEXT}（baby GPT 的配置），你的模型是 {model.context_length}。")
        parameters = model.count_params()
        check.require(parameters <= PARAMETER_LIMIT,
                      f"模型有 {parameters:,} 个参数，规则是不超过 {PARAMETER_LIMIT:,}：这个练习比的是训练方法，"
                      "不是把模型做大。")
        steps = int(model.optimizer.iterations.numpy()) if getattr(model, "optimizer", None) is not None else 0
        check.require(steps > 0, "模型还没有训练（优化器走了 0 步）：先运行训练那一格。")
        check.require(steps <= STEP_BUDGET,
                      f"模型训练了 {steps} 步，超过了预算 {STEP_BUDGET} 步。训练格里的 STEPS 是规则，不要改；"
                      "如果在别的格里又对这个模型调用了 fit，步数会累加。把训练格恢复原样，重新运行它（它会从头建一个新模型）。")
        val_ids = corpus.val_ids[:VAL_CHARS]
        loss = nats_per_char(model, val_ids, batch_size=256, jit_compile=False)  # no XLA compile to wait for
        where = f"验证集{'全部' if VAL_CHARS is None else '前'} {len(val_ids):,} 个字符"
        check.require(loss < GOAL,
                      f"{where}上是 {loss:.3f} nats/字符，{mode}是低于 {GOAL:.2f}（走了 {steps} 步，预算 {STEP_BUDGET}）。"
                      "练习本里的基线设置（正常模式下 500 步约 2.32）达不到它。想想第 5 节的对照实验说明了什么，学习率也值得"
                      "试一试；一次只改一两样，记下每次的结果。")
        check.checked(f"{steps} 步（预算 {STEP_BUDGET}），{parameters:,} 个参数，{where}上 {loss:.3f} nats/字符"
                      f" < {GOAL:.2f}（{mode}）")
