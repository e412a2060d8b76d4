"""Data availability for the course's tests: skip a test whose data set is missing, or fail it under CI."""

from __future__ import annotations

import os

_availability: dict[str, str | None] = {}


def in_ci() -> bool:
    """True under ``CI=true``: there a missing data set is a failure, never a skip."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing_dataset_reason(name: str) -> str | None:
    """None when data set ``name`` is here (downloading it first when downloads are allowed); else why not.
    Memoised: each data set is checked once per process."""
    if name not in _availability:
        from aigc_course.data.catalog import ensure_dataset
        from aigc_course.errors import DataError

        try:
            ensure_dataset(name)
            _availability[name] = None
        except DataError as error:
            _availability[name] = str(error)
    return _availability[name]


def require_datasets(*names: str) -> None:
    """Skip the calling test with one line on how to get the data (fail it under CI) unless every data set
    in ``names`` is available."""
    import pytest

    from aigc_course.data.catalog import how_to_get

    for name in names:
        reason = missing_dataset_reason(name)
        if reason is not None:
            if in_ci():
                pytest.fail(f"CI needs every data set, and {name} is missing: {reason}", pytrace=False)
            pytest.skip(how_to_get(name))
