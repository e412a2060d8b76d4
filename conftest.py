"""Loaded by pytest for every test and notebook: quick mode, offline data folder, private cache."""

import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent

os.environ["AIGC_QUICK"] = "1"                      # notebooks run with small step counts
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
if not os.environ.get("AIGC_COURSE_DATA") and (REPO.parent / "shared" / "data").is_dir():
    os.environ["AIGC_COURSE_DATA"] = str(REPO.parent / "shared" / "data")
os.environ["AIGC_COURSE_CACHE"] = tempfile.mkdtemp(prefix="aigc-test-cache-")
os.environ["AIGC_COURSE_OFFLINE"] = "1"             # tests never reach the internet
