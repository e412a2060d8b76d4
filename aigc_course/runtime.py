"""Run-time switches shared by notebooks and the CLI: quick mode and seeding."""

from __future__ import annotations

import os
import random

QUICK_ENV = "AIGC_QUICK"


def is_quick() -> bool:
    """True when ``AIGC_QUICK=1``: the same code path with smaller step counts (used by the tests)."""
    return os.environ.get(QUICK_ENV, "").strip() in {"1", "true", "yes"}


def by_mode(normal, quick):
    """``quick`` in quick mode, else ``normal``: e.g. ``EPOCHS = by_mode(20, 1)``."""
    return quick if is_quick() else normal


def set_seed(seed: int = 42) -> None:
    """Fix Python, NumPy and TensorFlow/Keras seeds and make TF ops deterministic."""
    import keras
    import numpy as np
    import tensorflow as tf

    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def describe_mode() -> str:
    return "快速模式 (AIGC_QUICK=1): 步数很少, 只为检查代码能跑通" if is_quick() else "正常模式"


def keras_xla_allowed():
    """Keras turns ``jit_compile`` off whenever TF op determinism is on (``runtime.set_seed`` turns it on),
    because some GPU kernels lack deterministic XLA versions. XLA's CPU kernels are deterministic, and
    XLA makes the GPT ~2x faster on a CPU, so the flag is lifted while Keras reads it and then restored."""
    import contextlib

    import tensorflow as tf
    from tensorflow.python.framework.config import (  # no public getter or switch-off
        disable_op_determinism, is_op_determinism_enabled)

    @contextlib.contextmanager
    def allowed():
        was_on = is_op_determinism_enabled()
        if was_on and not tf.config.list_physical_devices("GPU"):
            disable_op_determinism()
        try:
            yield
        finally:
            if was_on:
                tf.config.experimental.enable_op_determinism()

    return allowed()


# What TensorFlow's C++ start-up prints to stderr whatever TF_CPP_MIN_LOG_LEVEL says: abseil's notice that it
# logs before being initialised, and oneDNN's "custom operations are on" (each once per loaded library).
TENSORFLOW_STARTUP_NOISE = ("WARNING: All log messages before absl::InitializeLog() is called",
                            "oneDNN custom operations are on")


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its start-up notices kept off the terminal (the command line calls this first).

    Standard error is captured at the file-descriptor level for the length of the import (the notices come
    from C++); anything else printed then, an import error above all, is passed on unchanged.
    """
    import sys
    import tempfile

    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines
                                     if not any(noise in line for noise in TENSORFLOW_STARTUP_NOISE)))
            sys.stderr.flush()
