"""Resumable training: ``model.fit`` with an atomic per-epoch checkpoint of weights and optimizer."""

from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np

from aigc_course.checkpoints import save_weights_atomic, write_json_atomic
from aigc_course.errors import CheckpointError

STATE_FILE = "state.json"


class ResumableCheckpoint(keras.callbacks.Callback):
    """After each epoch: save ``epoch-NNNN.weights.h5`` (model + optimizer), then ``state.json`` naming it.

    The state file is replaced only after its weights are fully written, so an interruption at any
    moment leaves the previous complete epoch to resume from.
    """

    def __init__(self, run_dir: Path, model_name: str, history: dict, elapsed: float):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.model_name = model_name
        self.history = history
        self.elapsed = elapsed
        self._started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        weights_name = f"epoch-{epoch + 1:04d}.weights.h5"
        save_weights_atomic(self.model, self.run_dir / weights_name)
        previous = read_state(self.run_dir)
        write_json_atomic(self.run_dir / STATE_FILE, {
            "model": self.model_name,
            "epoch": epoch + 1,
            "weights": weights_name,
            "history": self.history,
            "train_seconds": self.elapsed + time.time() - self._started,
        })
        if previous and previous["weights"] != weights_name:
            (self.run_dir / previous["weights"]).unlink(missing_ok=True)


class TimeBudget(keras.callbacks.Callback):
    """Stop training once ``seconds`` of training steps have run (checked after every batch).

    Only the time inside training batches counts, and not the first batch, which compiles the step:
    validation, checkpoint writes and compilation do not use up the budget, so two models compared at
    equal time get the same time to learn.
    """

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self.spent = 0.0
        self.batches = 0

    def on_train_begin(self, logs=None):
        self.spent, self.batches = 0.0, 0

    def on_train_batch_begin(self, batch, logs=None):
        self.batch_started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1
        if self.batches > 1:
            self.spent += time.perf_counter() - self.batch_started
        if self.spent >= self.seconds:
            self.model.stop_training = True


def read_state(run_dir: Path) -> dict | None:
    path = Path(run_dir) / STATE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def fit_resumable(model: keras.Model, train_data, epochs: int, run_dir: Path, model_name: str,
                  validation_data=None, callbacks=(), verbose="auto") -> dict:
    """Train to ``epochs`` epochs, continuing from ``run_dir`` if an earlier run stopped part-way.

    Returns the whole history (earlier epochs included) and ``train_seconds`` in a dict.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state = read_state(run_dir)
    history, initial_epoch, elapsed = {}, 0, 0.0
    if state:
        if state.get("model") != model_name:
            raise CheckpointError(f"{run_dir} holds a training run of {state.get('model')!r}, not "
                                  f"{model_name!r}. Fix: choose another --run-dir or delete {run_dir}.")
        if hasattr(model, "build_optimizer_state"):  # models with their own optimizers (e.g. a GAN's two)
            model.build_optimizer_state()
        elif not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(run_dir / state["weights"])
        history, initial_epoch, elapsed = state["history"], state["epoch"], state["train_seconds"]
        print(f"从 {run_dir} 恢复训练: 已完成 {initial_epoch} / {epochs} 轮 (resuming)")
    if initial_epoch < epochs:
        checkpoint = ResumableCheckpoint(run_dir, model_name, history, elapsed)
        arrays = isinstance(train_data, (np.ndarray, tuple, list))  # a tf.data pipeline shuffles itself
        model.fit(train_data, epochs=epochs, initial_epoch=initial_epoch, shuffle=arrays,
                  validation_data=validation_data, callbacks=[checkpoint, *callbacks], verbose=verbose)
        elapsed = read_state(run_dir)["train_seconds"]
    return {"history": history, "train_seconds": elapsed}


def train_steps_compiled(model: keras.Model, inputs, targets, batch_size: int, steps_per_call: int = 50,
                         on_progress=None) -> dict:
    """Run ``model.train_step`` over ``inputs``/``targets`` in order, ``batch_size`` rows per step, inside one
    XLA-compiled loop of ``steps_per_call`` steps (no tf.data, no per-step Python): the leanest way to
    train a small model on a CPU. ``model`` must be compiled (optimizer, loss). ``on_progress(step, logs)``
    is called after every call. Returns the last logs and ``compile_seconds`` (tracing + XLA, first call).
    """
    import tensorflow as tf

    steps = len(inputs) // batch_size
    if steps % steps_per_call or steps * batch_size != len(inputs):
        raise ValueError(f"{len(inputs)} rows must make whole batches of {batch_size}, and their {steps} steps a "
                         f"multiple of steps_per_call={steps_per_call}")
    # (steps, batch, ...): a step's batch is one dynamic index, which XLA compiles
    inputs = tf.constant(np.reshape(inputs, (steps, batch_size, *np.shape(inputs)[1:])))
    targets = tf.constant(np.reshape(targets, (steps, batch_size, *np.shape(targets)[1:])))

    @tf.function(jit_compile=True)
    def run(first_step):
        def body(step, _):
            logs = model.train_step((tf.gather(inputs, step), tf.gather(targets, step)))
            return step + 1, tf.cast(logs["loss"], tf.float32)

        _, loss = tf.while_loop(lambda step, _: step < first_step + steps_per_call, body,
                                (first_step, tf.constant(0.0)))
        return loss

    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    logs, compile_seconds = {}, 0.0
    for first in range(0, steps, steps_per_call):
        started = time.perf_counter()
        logs = {"loss": float(run(tf.constant(first, tf.int32)))}
        if first == 0:
            compile_seconds = time.perf_counter() - started
        if on_progress:
            on_progress(first + steps_per_call, logs)
    return {**logs, "compile_seconds": compile_seconds}


def warmup_cosine(peak: float, total_steps: int, warmup_steps: int = 0, final_ratio: float = 0.05):
    """The course's learning-rate schedule: a linear warm-up from 0 to ``peak`` over ``warmup_steps`` (none
    when 0), then cosine decay to ``final_ratio * peak`` at ``total_steps``."""
    total_steps = max(int(total_steps), 1)
    if warmup_steps <= 0:
        return keras.optimizers.schedules.CosineDecay(peak, decay_steps=total_steps, alpha=final_ratio)
    return keras.optimizers.schedules.CosineDecay(0.0, decay_steps=max(total_steps - warmup_steps, 1),
                                                  alpha=final_ratio, warmup_target=peak, warmup_steps=warmup_steps)
