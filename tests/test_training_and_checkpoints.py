"""Resumable training and checkpoint safety."""

import json

import numpy as np
import pytest

from aigc_course.checkpoints import load_checkpoint, save_checkpoint
from aigc_course.errors import CheckpointError
from aigc_course.training import fit_resumable, read_state


def tiny_model(units=4):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


def tiny_data():
    """64 examples of a linear target, as a tf.data pipeline of 2 batches."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5], "float32"))[:, None]
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(32)


def CountBatches():
    """A callback that counts the training steps a ``fit`` call actually runs."""
    import keras

    class Counter(keras.callbacks.Callback):
        steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1

    return Counter()


def test_interrupted_run_resumes_from_last_epoch(tmp_path):
    from aigc_course.runtime import set_seed

    set_seed(0)
    data = tiny_data()
    first = tiny_model()
    fit_resumable(first, data, 2, tmp_path, "tiny", verbose=0)  # "interrupted" after 2 of 4 epochs
    state = read_state(tmp_path)
    assert state["epoch"] == 2 and len(state["history"]["loss"]) == 2
    first_history = list(state["history"]["loss"])

    resumed = tiny_model()  # fresh weights: only the checkpoint can bring the first run back
    counter = CountBatches()
    result = fit_resumable(resumed, data, 4, tmp_path, "tiny", verbose=0, callbacks=[counter])
    assert counter.steps == 2 * 2                                     # ran only the 2 remaining epochs
    assert result["history"]["loss"][:2] == first_history             # the first run's history is kept
    assert len(result["history"]["loss"]) == 4
    assert result["history"]["loss"][2] < first_history[0]            # continued from trained weights
    assert resumed.optimizer.iterations.numpy() == 4 * 2              # optimizer state came back too
    assert sorted(p.name for p in tmp_path.glob("*.weights.h5")) == ["epoch-0004.weights.h5"]

    # a finished run is not trained again
    again = CountBatches()
    fit_resumable(tiny_model(), data, 4, tmp_path, "tiny", verbose=0, callbacks=[again])
    assert again.steps == 0


def test_run_dir_of_another_model_is_refused(tmp_path):
    data = tiny_data()
    fit_resumable(tiny_model(), data, 1, tmp_path, "tiny", verbose=0)
    with pytest.raises(CheckpointError, match="holds a training run of 'tiny', not 'other'"):
        fit_resumable(tiny_model(), data, 2, tmp_path, "other", verbose=0)


def test_checkpoint_for_another_model_is_a_clear_error(tmp_path):
    path = save_checkpoint(tiny_model(), tmp_path / "a.weights.h5", "tiny", {"note": "x"})
    assert json.loads((tmp_path / "a.json").read_text())["model"] == "tiny"
    with pytest.raises(CheckpointError, match="is a checkpoint of 'tiny', not of 'judge-mnist'"):
        load_checkpoint(tiny_model(), path, "judge-mnist")
    (tmp_path / "a.json").unlink()  # no card: the shapes still give it away
    with pytest.raises(CheckpointError, match="does not fit the model 'wide'"):
        load_checkpoint(tiny_model(units=7), path, "wide")
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(tiny_model(), tmp_path / "missing.weights.h5", "tiny")


def test_atomic_save_leaves_no_partial_files(tmp_path):
    save_checkpoint(tiny_model(), tmp_path / "b.weights.h5", "tiny", {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json", "b.weights.h5"]


def test_time_budget_counts_training_batches_only(monkeypatch):
    """Validation and other work between epochs do not use up the budget; training batches after the
    first (which compiles the step) do."""
    import keras

    import aigc_course.training as training

    clock = {"now": 0.0}
    monkeypatch.setattr(training.time, "perf_counter", lambda: clock["now"])

    class Advance(keras.callbacks.Callback):
        def __init__(self, per_batch, per_epoch):
            super().__init__()
            self.per_batch, self.per_epoch = per_batch, per_epoch

        def on_train_batch_begin(self, batch, logs=None):   # runs after TimeBudget's: time passes inside the batch
            clock["now"] += self.per_batch

        def on_epoch_end(self, epoch, logs=None):            # a slow validation pass
            clock["now"] += self.per_epoch

    def batches_run(per_batch, per_epoch):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile("sgd", "mse")
        x, y = np.zeros((8, 2), "float32"), np.zeros((8, 1), "float32")
        budget = training.TimeBudget(10.0)
        model.fit(x, y, batch_size=2, epochs=3, verbose=0, callbacks=[budget, Advance(per_batch, per_epoch)])
        return int(model.optimizer.iterations.numpy()), budget.spent

    assert batches_run(per_batch=0.0, per_epoch=100.0) == (12, 0.0)   # all 3 epochs of 4 batches
    assert batches_run(per_batch=4.0, per_epoch=0.0) == (4, 12.0)      # batches 2-4 count: stops once past 10 s
