"""Loaded by pytest for every test and notebook: quick mode, the data folder if there is one, data markers.

The suite runs on a fresh clone in three situations: with a data folder (``AIGC_COURSE_DATA``, as CI sets
it), with no data folder but a network (the loaders download into the learner's cache, or from
``AIGC_COURSE_MIRROR``), and with neither: then every test and notebook that needs a data set is skipped
with one line saying which and how to get it. Under ``CI=true`` a missing data set is a failure instead.
"""

import os
from pathlib import Path

import pytest

from aigc_course.testing import CHAPTER_DATASETS

REPO = Path(__file__).resolve().parent

os.environ["AIGC_QUICK"] = "1"                      # notebooks run with small step counts
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
if "AIGC_COURSE_DATA" not in os.environ and (REPO.parent / "shared" / "data").is_dir():  # "" = no data folder
    os.environ["AIGC_COURSE_DATA"] = str(REPO.parent / "shared" / "data")


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_data(*names): the test reads these data sets "
                                       "(skipped without them; a failure in CI)")
    config.addinivalue_line("markers", "offline_kit: builds and installs the offline workshop kit (downloads "
                                       "~0.5 GB, minutes; not in the default run: `bash run.sh test -m offline_kit`)")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.fspath))
        if path.suffix == ".ipynb" and path.name[:2] in CHAPTER_DATASETS:
            item.add_marker(pytest.mark.needs_data(*CHAPTER_DATASETS[path.name[:2]]))
        # The suite runs on two workers (pytest-xdist, --dist loadgroup). A notebook's cells share one kernel,
        # so they stay together; the tests that read the once-per-session evaluation of the shipped
        # checkpoints stay together so that each checkpoint is evaluated once.
        if path.suffix == ".ipynb":
            item.add_marker(pytest.mark.xdist_group(f"notebook-{path.name}"))
        elif "shipped_metrics" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("shipped-checkpoints"))


def pytest_runtest_setup(item):
    from aigc_course.testing import require_datasets

    for marker in item.iter_markers("needs_data"):
        require_datasets(*marker.args)
