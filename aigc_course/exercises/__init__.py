"""Exercises that check themselves: one module per chapter (``ch00`` ... ``ch05``) with its ``check_*`` functions.

In a notebook::

    from aigc_course.exercises import ch01
    ch01.check_top_p(top_p_filter)      # ✓ 正确 — ... or a hint in Chinese saying what is wrong

Each chapter module lists its exercises in ``EXERCISES``; the learner's notebooks are in ``exercises/`` and the
reference solutions in ``solutions/`` (see :mod:`aigc_course.exercises.notebooks`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from aigc_course.exercises.checking import Check, CheckFailed, check_prediction

__all__ = ["Check", "CheckFailed", "Exercise", "KINDS", "CHAPTERS", "chapter_exercises", "check_prediction"]

KINDS = {"implement": "动手实现", "predict": "先预测再运行", "experiment": "有目标的实验"}
STARS = {1: "★（几分钟）", 2: "★★（一段短代码）", 3: "★★★（一个实验）"}
CHAPTERS = ("ch00", "ch01", "ch02", "ch03", "ch04", "ch05", "ch06")


@dataclass(frozen=True)
class Exercise:
    """One exercise: its number (``"1.2"``), title, stars (1-3), kind (a key of ``KINDS``), the name of its
    check function in the chapter module, and for ``implement`` exercises the name of the function the
    learner writes in the notebook."""

    number: str
    title: str
    stars: int
    kind: str
    check: str
    function: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"exercise {self.number}: kind must be one of {sorted(KINDS)}, not {self.kind!r}")
        if self.stars not in STARS:
            raise ValueError(f"exercise {self.number}: stars must be 1, 2 or 3, not {self.stars!r}")
        if (self.kind == "implement") != (self.function is not None):
            raise ValueError(f"exercise {self.number}: an implement exercise names the learner's function, "
                             "the others do not")

    @property
    def heading(self) -> str:
        """How the exercise's heading starts in both notebooks, e.g. ``练习 1.2 ★★``."""
        return f"练习 {self.number} {'★' * self.stars}"


def chapter_exercises(chapter: str) -> tuple[Exercise, ...]:
    """``EXERCISES`` of ``aigc_course.exercises.<chapter>`` (e.g. ``"ch01"``)."""
    return importlib.import_module(f"aigc_course.exercises.{chapter}").EXERCISES
