"""The machinery every chapter's exercise checks share: run the learner's code, compare, say what is wrong.

A check either prints one line starting with ``✓ 正确`` that says what was checked, or raises
:class:`CheckFailed` whose message is a hint in Chinese. In a notebook the failure shows as that hint alone,
without a Python traceback. Checks test behaviour on small cases with known answers (never the source text),
so any correct implementation passes, and their messages never contain the solution.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

STUB_MESSAGE = "还没有实现"  # what the exercise notebooks' stubs raise NotImplementedError with


class CheckFailed(AssertionError):
    """A check found a mistake; ``str(error)`` is the hint shown to the learner."""

    def __init__(self, exercise: str, hint: str):
        super().__init__(f"{exercise}：{hint}")
        self.exercise = exercise
        self.hint = hint

    def _render_traceback_(self):  # IPython shows these lines instead of a traceback
        return [f"✗ {self.exercise} 还不对：{self.hint}"]


@dataclass
class Check:
    """One run of a check, used as a context manager::

        with Check("练习 1.2", "top-p 过滤") as check:
            kept = check.call(top_p_filter, logits, 0.9)
            check.require(..., "top-p=0.9 时应保留 3 个词元，你的实现保留了 5 个：……")
            check.checked("3 组 logits 上保留的词元与概率")

    Leaving the block without a failure prints ``✓ 正确 — 练习 1.2 top-p 过滤：检查了 …``.
    """

    exercise: str
    title: str
    what_was_checked: list[str] = field(default_factory=list)

    def __enter__(self) -> "Check":
        return self

    def __exit__(self, error_type, error, tb) -> bool:
        if error is None:
            checked = "；".join(self.what_was_checked) or "全部检查"
            gap = " " if checked[:1].isascii() and checked[:1].isalnum() else ""
            print(f"✓ 正确 — {self.exercise} {self.title}：检查了{gap}{checked}。")
        return False

    def fail(self, hint: str):
        raise CheckFailed(self.exercise, hint)

    def require(self, condition, hint: str) -> None:
        """Fail with ``hint`` unless ``condition`` holds."""
        if not bool(condition):
            self.fail(hint)

    def checked(self, description: str) -> None:
        """Record one thing that passed (listed in the ✓ line)."""
        self.what_was_checked.append(description)

    def call(self, function: Callable, *args, **kwargs):
        """Call the learner's ``function``; a stub or a crash becomes a hint, not a traceback into our code."""
        if not callable(function):
            self.fail(f"传进来的不是函数而是 {type(function).__name__}：把你写的函数名本身传给检查（不要加括号调用它）。")
        try:
            return function(*args, **kwargs)
        except NotImplementedError:
            self.fail("函数还没有实现：把 `# TODO` 下面的 `raise NotImplementedError(...)` 换成你的代码，再运行这一格。")
        except CheckFailed:
            raise
        except Exception as error:  # the learner's code crashed: say where, in their code
            where = _learner_frame(error)
            self.fail(f"你的函数运行时出错 {type(error).__name__}: {error}{where}。")

    def array(self, value, name: str = "返回值", shape=None) -> np.ndarray:
        """``value`` as a float64 NumPy array (Keras/TF tensors too); fail when it is not one or has the wrong shape."""
        try:
            result = np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
        except (TypeError, ValueError):
            self.fail(f"{name}应该是数组（NumPy 数组或张量），你的函数返回了 {type(value).__name__}。")
        if shape is not None and result.shape != tuple(shape):
            self.fail(f"{name}的形状应该是 {tuple(shape)}，你的是 {result.shape}。")
        if not np.all(np.isfinite(result) | np.isneginf(result)):
            self.fail(f"{name}里有 NaN 或 +inf：检查是否对 0 取了对数、除以了 0，或者指数溢出了。")
        return result

    def close(self, actual, expected, hint: str, rtol: float = 1e-5, atol: float = 1e-6) -> None:
        """Fail with ``hint`` unless ``actual`` equals ``expected`` to float tolerance (same shape)."""
        actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
        same = actual.shape == expected.shape and np.allclose(actual, expected, rtol=rtol, atol=atol)
        self.require(same, hint)


def same_values(actual, candidate, rtol: float = 1e-4, atol: float = 1e-5, finite_only: bool = False) -> bool:
    """True when ``actual`` equals ``candidate`` (same shape, to tolerance). With ``finite_only`` a candidate holding
    inf or NaN matches nothing (a wrong variant that overflows must not be mistaken for the learner's result)."""
    with np.errstate(all="ignore"):
        actual, candidate = np.asarray(actual, dtype=np.float64), np.asarray(candidate, dtype=np.float64)
        if actual.shape != candidate.shape or (finite_only and not np.all(np.isfinite(candidate))):
            return False
        return bool(np.allclose(actual, candidate, rtol=rtol, atol=atol))


def first_match(actual, variants, same=same_values) -> str | None:
    """The hint of the first ``(candidate, hint)`` in ``variants`` that ``actual`` equals (by ``same``), if any;
    a ``None`` candidate is skipped. Checks use it to name a typical mistake from what it would return."""
    for candidate, hint in variants:
        if candidate is not None and same(actual, candidate):
            return hint
    return None


def _learner_frame(error: BaseException) -> str:
    """`` (出错的位置在第 N 行: ...)``: the learner's last line in the traceback (a notebook cell or their own
    file; not this package, not an installed library such as TensorFlow), if there is one."""
    def library(filename: str) -> bool:
        return "aigc_course" in filename or "site-packages" in filename or "dist-packages" in filename

    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if not library(frame.filename)]
    if not frames:
        return ""
    frame = frames[-1]
    line = f"：{frame.line.strip()}" if frame.line else ""
    return f"（出错的位置在第 {frame.lineno} 行{line}）"


def check_prediction(exercise: str, title: str, prediction, actual, explanation: str, tolerance: float = 0.0,
                     choices: tuple | None = None) -> bool:
    """The "predict, then run" exercises: compare the learner's ``prediction`` with what the run gave.

    Numbers match within ``tolerance`` (relative, or absolute below 1); a choice matches exactly. The
    explanation is printed either way, because a wrong prediction is where the learning happens; only a
    missing or malformed prediction fails. Returns whether the prediction was right (the reference
    solutions assert it).
    """
    if prediction is None or (isinstance(prediction, str) and not prediction.strip()):
        raise CheckFailed(exercise, "先在预测格里写下你的预测（把 `None` 换成一个数或一个选项），再运行实验格，最后运行这一格。")
    if choices is not None:
        if prediction not in choices:
            raise CheckFailed(exercise, f"预测应该是这几个选项之一：{'、'.join(map(str, choices))}；你写的是 {prediction!r}。")
        right = prediction == actual
    else:
        try:
            value = float(prediction)
        except (TypeError, ValueError):
            raise CheckFailed(exercise, f"这里的预测应该是一个数，你写的是 {prediction!r}。") from None
        right = abs(value - float(actual)) <= tolerance * max(1.0, abs(float(actual)))
    verdict = "✓ 预测对了" if right else "✗ 预测和实际不同（这正是值得想一想的地方）"
    print(f"{verdict} — {exercise} {title}：你的预测 {prediction}，实际 {_show(actual)}。\n{explanation}")
    return right


def _show(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return str(value)
