"""Loaded by pytest for every test and notebook: quick mode, the data folder if there is one, data markers.

The suite runs on a fresh clone in three situations: with a data folder (``AIGC_COURSE_DATA``, as CI sets
it), with no data folder but a network (the loaders download into the learner's cache, or from
``AIGC_COURSE_MIRROR``), and with neither: then every test and notebook that needs a data set is skipped
with one line saying which and how to get it. Under ``CI=true`` a missing data set is a failure instead.
"""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent

os.environ["AIGC_QUICK"] = "1"                      # notebooks run with small step counts
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
if "AIGC_COURSE_DATA" not in os.environ and (REPO.parent / "shared" / "data").is_dir():  # "" = no data folder
    os.environ["AIGC_COURSE_DATA"] = str(REPO.parent / "shared" / "data")

# What each notebook reads (it is skipped, or fails in CI, when one of them cannot be had)
NOTEBOOK_DATASETS = {
    "00_intro": ("mnist", "fashion_mnist", "tang_poems"),
    "01_rnn_text_generation": ("shakespeare", "tang_poems"),
    "02_gan": ("mnist",),
    "03_vae": ("mnist",),
    "04_transformer": ("shakespeare", "tang_poems"),
    "05_diffusion": ("mnist",),
}


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_data(*names): the test reads these data sets "
                                       "(skipped without them; a failure in CI)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        stem = Path(str(item.fspath)).stem
        if stem in NOTEBOOK_DATASETS:
            item.add_marker(pytest.mark.needs_data(*NOTEBOOK_DATASETS[stem]))


def pytest_runtest_setup(item):
    from aigc_course.testing import require_datasets

    for marker in item.iter_markers("needs_data"):
        require_datasets(*marker.args)
