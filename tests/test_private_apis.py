"""The two private Keras/TensorFlow APIs the package relies on, pinned in pyproject.toml: if an upgrade changes
what they do, these tests fail loudly instead of the course silently getting larger files or slower steps."""

import h5py
import keras
import numpy as np


def small_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.fit(np.ones((8, 3), "float32"), np.ones((8, 1), "float32"), epochs=1, verbose=0)
    return model


def h5_groups(path) -> set[str]:
    with h5py.File(path, "r") as handle:
        return set(handle.keys())


def test_shipped_checkpoints_are_saved_without_the_optimizer(tmp_path):
    """checkpoints.save_weights_atomic(include_optimizer=False) uses keras.src.saving.saving_lib."""
    from aigc_course.checkpoints import save_weights_atomic

    model = small_model()
    with_state = save_weights_atomic(model, tmp_path / "full.weights.h5")
    without = save_weights_atomic(model, tmp_path / "lean.weights.h5", include_optimizer=False)
    assert "optimizer" in h5_groups(with_state) and "optimizer" not in h5_groups(without)
    fresh = small_model()
    fresh.load_weights(without)
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_xla_is_really_on_inside_keras_xla_allowed():
    """Keras turns jit_compile off when TF op determinism is on (runtime.set_seed turns it on); the course lifts
    the flag while Keras reads it (runtime.keras_xla_allowed, a private TF switch). Both halves are checked: if
    Keras stops turning XLA off, the workaround can go; if the workaround stops working, XLA is silently off."""
    from aigc_course.runtime import keras_xla_allowed, set_seed

    set_seed(0)
    plain = small_model()
    plain.compile(optimizer="sgd", loss="mse", jit_compile=True)
    assert plain.jit_compile is False  # what Keras does under op determinism
    lifted = small_model()
    with keras_xla_allowed():
        lifted.compile(optimizer="sgd", loss="mse", jit_compile=True)
    assert lifted.jit_compile is True
    from tensorflow.python.framework.config import is_op_determinism_enabled

    assert is_op_determinism_enabled()  # and determinism is back on afterwards
