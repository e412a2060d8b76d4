"""Training on several devices (``MirroredStrategy``) or machines (``MultiWorkerMirroredStrategy``), and a check
that one distributed step is exactly the single-device step.

Three kinds of helpers:

- strategies: ``configure_devices`` (the GPUs or logical CPU devices of this machine) and ``configure_workers``
  (a cluster of machines described by the ``TF_CONFIG`` environment variable);
- for custom ``train_step``s: ``global_mean`` (a loss averaged over the *global* batch, as the gradients of
  all replicas are summed) and ``per_replica_value`` (its value for the logs); ``example_noise`` and
  ``example_index``, the "random" draws of check mode, made fixed functions of each example;
- the checks: ``one_step_difference`` (two logical devices) and ``multi_worker_step`` (one worker of a cluster).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os

import numpy as np

from aigc_course.errors import CourseError

# A distributed step is "the same step" when the largest weight difference from the single-device step is at
# most this fraction of the largest weight change of the step itself. Float error measures about 1e-5..3e-4
# of the step; a loss scaled by the number of replicas (2) gives a difference about equal to the step (1.0).
RELATIVE_TOLERANCE = 1e-2

TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}')


# --------------------------------------------------------------------------------------------- strategies
def configure_devices(devices: int):
    """A strategy over ``devices`` GPUs, or over as many logical CPU devices when there are fewer GPUs.

    Must run before TensorFlow has executed anything (logical devices are fixed at start-up); calling it
    again with the same number of devices is fine. With ``devices <= 1`` it returns the default strategy.
    """
    import tensorflow as tf

    if devices <= 1:
        return tf.distribute.get_strategy()
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) >= devices:
        return tf.distribute.MirroredStrategy([f"/gpu:{index}" for index in range(devices)])
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
        print(f"只有 {len(gpus)} 块 GPU: 把 CPU 分成 {devices} 个逻辑设备 (检查分布式代码用, 不会更快)")
    except RuntimeError as error:
        if len(tf.config.list_logical_devices("CPU")) < devices:
            raise RuntimeError(f"cannot split the CPU into {devices} devices after TensorFlow has started "
                               f"({error}). Fix: call configure_devices first in a fresh process.") from error
    return tf.distribute.MirroredStrategy([f"/cpu:{index}" for index in range(devices)])


def read_tf_config(workers: int) -> dict:
    """The cluster in ``TF_CONFIG``, checked: JSON with ``cluster`` (``worker``: a list of "host:port", and
    optionally one ``chief``) and this process's ``task`` (type and index), ``workers`` tasks in all."""
    def fail(problem: str):
        raise CourseError(f"--workers {workers}: {problem}. Fix: on every machine set TF_CONFIG to the same "
                          f"cluster and that machine's own task index, e.g. TF_CONFIG='{TF_CONFIG_EXAMPLE}' "
                          f"(index 0 on the first machine, 1 on the second; see README).")

    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        fail("the environment variable TF_CONFIG is not set, so this process does not know the other workers")
    try:
        config = json.loads(raw)
    except ValueError as error:
        fail(f"TF_CONFIG is not valid JSON ({error})")
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict) \
            or not isinstance(config.get("task"), dict):
        fail("TF_CONFIG must be a JSON object with a 'cluster' object and a 'task' object")
    cluster, task = config["cluster"], config["task"]
    unknown = sorted(set(cluster) - {"worker", "chief"})
    if unknown:
        fail(f"TF_CONFIG's cluster has {unknown}: only 'worker' (and one 'chief') take part in "
             "MultiWorkerMirroredStrategy")
    for kind, addresses in cluster.items():
        if not isinstance(addresses, list) or not all(isinstance(address, str) and address.rpartition(":")[2].isdigit()
                                                      for address in addresses):
            fail(f"TF_CONFIG's cluster['{kind}'] must be a list of 'host:port' strings, got {addresses!r}")
    if len(cluster.get("chief", [])) > 1:
        fail("a cluster has at most one chief")
    total = sum(len(addresses) for addresses in cluster.values())
    if total != workers:
        fail(f"TF_CONFIG lists {total} worker{'s' * (total != 1)} ({cluster}), not {workers}")
    kind, index = task.get("type"), task.get("index")
    if kind not in cluster or not isinstance(index, int) or isinstance(index, bool) \
            or not 0 <= index < len(cluster[kind]):
        fail(f"TF_CONFIG's task {task!r} is not one of the cluster's tasks (type 'worker' and an index in "
             f"0..{len(cluster.get('worker', [])) - 1})")
    return config


def configure_workers(workers: int):
    """A ``MultiWorkerMirroredStrategy`` over the cluster in ``TF_CONFIG`` (this process is one of its
    ``workers`` tasks). Every worker must run the same program; each one blocks here until all have
    started. Like ``configure_devices`` it must run before TensorFlow has executed anything."""
    config = read_tf_config(workers)
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    task = config["task"]
    print(f"worker {task['type']} {task['index']} of {workers}: {strategy.num_replicas_in_sync} replicas in all")
    return strategy


# --------------------------------------------------------------------------------------------- train steps
def replicas() -> int:
    """How many replicas train in sync (1 outside any distribution strategy)."""
    import tensorflow as tf

    return int(tf.distribute.get_strategy().num_replicas_in_sync)


def global_mean(values):
    """The mean of ``values`` (this replica's per-example losses) over the *global* batch: this replica's sum
    divided by the number of values of all replicas together.

    The optimizer sums the gradients of the replicas, so each replica's loss must be its share of the global
    mean; a plain mean over the replica's own batch would make the step ``replicas`` times too large. With one
    replica this is exactly ``ops.mean(values)``.
    """
    import tensorflow as tf
    from keras import ops

    context = tf.distribute.get_replica_context()
    if replicas() == 1 or context is None:
        return ops.mean(values)
    values = ops.convert_to_tensor(values)
    count = context.all_reduce(tf.distribute.ReduceOp.SUM, ops.cast(ops.size(values), values.dtype))
    return ops.sum(values) / count


def per_replica_value(loss):
    """A ``global_mean`` loss scaled back to this replica's own mean, for the logs (Keras averages the
    replicas' logged values, as it does for its built-in losses)."""
    from keras import ops

    count = replicas()
    return loss if count == 1 else loss * ops.cast(count, loss.dtype)


@functools.lru_cache(maxsize=None)
def _projection(features: int, outputs: int, salt: int) -> np.ndarray:
    rng = np.random.default_rng([features, outputs, salt, 20240501])
    return (rng.standard_normal((features, outputs)) / np.sqrt(features)).astype("float32")


def _flat(examples):
    """(batch, ...) -> float32 (batch, features), the number of features known when tracing."""
    from keras import ops

    return ops.reshape(ops.cast(examples, "float32"), (-1, int(np.prod(examples.shape[1:]))))


def example_noise(examples, shape, salt: int = 0):
    """Check mode's stand-in for ``keras.random.normal((batch, *shape))``: each example's "noise" is a fixed
    random projection of its own standardised values, so it is the same whichever replica sees the example
    and whatever else is in its batch. About N(0, 1) per entry; ``salt`` selects another projection."""
    from keras import ops

    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    flat = _flat(examples)
    centred = flat - ops.mean(flat, axis=1, keepdims=True)
    standardised = centred / (ops.sqrt(ops.mean(ops.square(centred), axis=1, keepdims=True)) + 1e-3)
    noise = ops.matmul(standardised, _projection(int(flat.shape[1]), int(np.prod(shape)), salt))
    return ops.reshape(noise, (-1, *shape))


def example_index(examples, modulus: int, salt: int = 0):
    """Check mode's stand-in for ``keras.random.randint((batch,), 0, modulus)``: an integer in 0..modulus-1
    computed exactly (integer arithmetic, no rounding) from each example: how many of its values lie above
    the midpoint of its range, and where the first of them is."""
    from keras import ops

    flat = _flat(examples)
    middle = (ops.max(flat, axis=1, keepdims=True) + ops.min(flat, axis=1, keepdims=True)) / 2.0
    bright = flat > middle
    count = ops.sum(ops.cast(bright, "int32"), axis=1)
    first = ops.cast(ops.argmax(ops.cast(bright, "int32"), axis=1), "int32")
    return (count * 7919 + first * 104729 + salt * 15485863) % modulus


# --------------------------------------------------------------------------------------------- the checks
def _one_batch_dataset(batch):
    """``batch`` as a dataset of one global batch, split across replicas and workers: with DATA auto-sharding
    each worker keeps its own replicas' part of the batch (not every other batch of the dataset)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return tf.data.Dataset.from_tensors(batch).with_options(options)


def _compare_one_step(name: str, strategy, seed: int) -> dict:
    """One ``fit`` step of ``name``'s check model on one device and under ``strategy`` from the same weights
    and batch: the largest weight difference, the largest change of the step, and the weights' digest."""
    from aigc_course.runtime import set_seed
    from aigc_course.zoo import get_entry

    entry = get_entry(name)
    set_seed(seed)
    batch = entry.example_batch()
    single = entry.build(for_check=True)
    initial = [weight.copy() for weight in single.get_weights()]
    single.fit(_one_batch_dataset(batch), epochs=1, verbose=0)
    with strategy.scope():
        distributed = entry.build(for_check=True)
    distributed.set_weights(initial)
    distributed.fit(_one_batch_dataset(batch), epochs=1, verbose=0)
    after_single, after_distributed = single.get_weights(), distributed.get_weights()
    digest = hashlib.sha256()
    for weight in after_distributed:
        digest.update(np.ascontiguousarray(weight).tobytes())
    difference = max(float(np.abs(a - b).max()) for a, b in zip(after_single, after_distributed))
    step = max(float(np.abs(a - b).max()) for a, b in zip(after_single, initial))
    return {"name": name, "replicas": int(strategy.num_replicas_in_sync), "max_weight_difference": difference,
            "max_step_size": step, "relative_difference": difference / step if step else float("inf"),
            "digest": digest.hexdigest()}


def one_step_difference(name: str, devices: int = 2, seed: int = 0) -> dict:
    """Train model ``name`` one step on one device and on ``devices`` mirrored devices from the same
    weights and batch; return the largest weight difference and the size of the step itself."""
    return _compare_one_step(name, configure_devices(devices), seed)


def one_step_differences(names, devices: int = 2, seed: int = 0) -> dict:
    """``one_step_difference`` for every name in ``names``, in one process: {name: report}."""
    strategy = configure_devices(devices)
    return {name: _compare_one_step(name, strategy, seed) for name in names}


def multi_worker_step(name: str, workers: int = 2, seed: int = 0) -> dict:
    """Run as one of the ``workers`` processes of the cluster in ``TF_CONFIG``: one step of ``name``'s check
    model with ``MultiWorkerMirroredStrategy`` (the example batch split over all workers' replicas), compared
    with the single-device step on this machine. Every worker returns the same digest of the weights."""
    import tensorflow as tf

    strategy = configure_workers(workers)
    report = _compare_one_step(name, strategy, seed)
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    return {**report, "task": f"{resolver.task_type}:{resolver.task_id}"}
