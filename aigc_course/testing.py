"""Data availability for the course's tests: skip a test whose data set is missing, or fail it under CI."""

from __future__ import annotations

import os

_availability: dict[str, tuple[str, str] | None] = {}


def in_ci() -> bool:
    """True under ``CI=true``: there a missing data set is a failure, never a skip."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def dataset_problem(name: str) -> tuple[str, str] | None:
    """``catalog.dataset_problem``, checked once per process for each data set."""
    if name not in _availability:
        from aigc_course.data.catalog import dataset_problem as check

        _availability[name] = check(name)
    return _availability[name]


def require_datasets(*names: str) -> None:
    """Skip the calling test with one line on how to get the data (fail it under CI) unless every data set
    in ``names`` is available. A corrupt file in the data folder always fails: skipping would hide it."""
    import pytest

    from aigc_course.data.catalog import how_to_get

    for name in names:
        problem = dataset_problem(name)
        if problem is None:
            continue
        kind, why = problem
        if kind == "corrupt":
            pytest.fail(f"data set {name} has a bad file: {why}", pytrace=False)
        if in_ci():
            pytest.fail(f"CI needs every data set, and {name} is missing: {why}", pytrace=False)
        pytest.skip(how_to_get(name))


# What each chapter's notebooks read: the chapter notebook, its exercises and their solutions (a notebook is
# skipped, or fails in CI, when one of them cannot be had). Keyed by the chapter number the file name starts with.
CHAPTER_DATASETS = {
    "00": ("mnist", "fashion_mnist", "tang_poems"),
    "01": ("shakespeare", "tang_poems"),
    "02": ("mnist",),
    "03": ("mnist",),
    "04": ("shakespeare", "tang_poems"),
    "05": ("mnist",),
    "06": ("mnist",),
}
