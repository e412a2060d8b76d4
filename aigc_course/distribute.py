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
# most this fraction of the largest weight change of the step itself. Float error measures 5e-9..2e-6 of the
# step (every model of the zoo, 2 replicas); a loss averaged over each replica's own half batch (the classic
# mistake: twice the step) gives 1.0, 2.6 for the GANs, and a worker that reads the whole batch 0.6.
RELATIVE_TOLERANCE = 1e-3

TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["10.0.0.1:12345", "10.0.0.2:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}')


# --------------------------------------------------------------------------------------------- strategies
def configure_devices(devices: int):
    """A strategy over ``devices`` GPUs, or over as many logical CPU devices when there are fewer GPUs.

    Must run before TensorFlow has executed anything (logical devices are fixed at start-up); calling it
    again with the same number of devices returns the same strategy (two strategies over the same devices
    would reuse each other's collective-op keys). With ``devices <= 1`` it returns the default strategy.
    """
    import tensorflow as tf

    if devices <= 1:
        return tf.distribute.get_strategy()
    if devices not in _MIRRORED:
        _MIRRORED[devices] = _mirrored_strategy(devices)
    return _MIRRORED[devices]


_MIRRORED: dict = {}  # devices -> the MirroredStrategy of this process


def _mirrored_strategy(devices: int):
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) >= devices:
        return tf.distribute.MirroredStrategy([f"/gpu:{index}" for index in range(devices)])
    cpu = tf.config.list_physical_devices("CPU")[0]
    if len(tf.config.get_logical_device_configuration(cpu) or ()) != devices:
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * devices)
        except RuntimeError as error:
            raise RuntimeError(f"cannot split the CPU into {devices} devices after TensorFlow has started "
                               f"({error}). Fix: call configure_devices first in a fresh process.") from error
        print(f"只有 {len(gpus)} 块 GPU: 把 CPU 分成 {devices} 个逻辑设备 (检查分布式代码用, 不会更快)")
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
        if not isinstance(addresses, list) or not all(
                isinstance(address, str) and address.rpartition(":")[2].isdigit() for address in addresses):
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
    _let_keras_fit_run_with_multi_worker_strategy()
    task = config["task"]
    print(f"worker {task['type']} {task['index']} of {workers}: {strategy.num_replicas_in_sync} replicas in all")
    return strategy


def _let_keras_fit_run_with_multi_worker_strategy() -> None:
    """Work around two bugs of Keras 3's ``fit`` with ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585;
    Keras 3.15 still has them). Other strategies keep Keras's own code.

    1. Before the first step ``fit`` builds the model from the first batch averaged over the replicas with
       ``strategy.reduce``, which fails for a batch of several tensors (``(images, labels)``: "Attempt to
       convert a value (PerReplica ...)"). Only the shapes matter there: the build gets this worker's first
       replica's part of the batch instead.
    2. After each step it averages the logs over the replicas with ``strategy.reduce("MEAN", v, axis=0)``,
       which fails for scalars ("Invalid reduction dimension 0"): they are averaged over the replicas
       (``axis=None``), what ``reduction="mean"`` means on one machine.
    """
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer

    if getattr(trainer.reduce_per_replica, "course_work_around", False):
        return
    original_build, original_reduce = trainer.TensorFlowTrainer._maybe_symbolic_build, trainer.reduce_per_replica

    def multi_worker(strategy) -> bool:
        return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if iterator is None or not multi_worker(strategy):
            return original_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            data_batch = tf.nest.map_structure(
                lambda value: strategy.experimental_local_results(value)[0]
                if isinstance(value, tf.distribute.DistributedValues) else value, next(batches))
            break
        return original_build(self, data_batch=data_batch)

    def reduce_per_replica(values, strategy, reduction):
        if multi_worker(strategy) and reduction in ("auto", "mean"):
            return tf.nest.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), values)
        return original_reduce(values, strategy, reduction)

    reduce_per_replica.course_work_around = True
    trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
    trainer.reduce_per_replica = reduce_per_replica


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


_PRIME = 2_147_483_647  # 2^31 - 1: every hash value below lies in [0, _PRIME), so products fit in an int64


@functools.lru_cache(maxsize=None)
def _feature_weights(features: int) -> np.ndarray:
    return np.random.default_rng([features, 20240501]).integers(1, _PRIME, features, dtype=np.int64)


def _mix(h):
    """A hash of int64 values in [0, 2^31 - 1): multiply-add modulo the prime and fold the high bits in, three
    times (integer arithmetic: the same bits on every device, whatever the batch)."""
    import tensorflow as tf

    for multiplier, increment in ((48271, 12345), (69621, 67890), (16807, 13579)):
        h = tf.math.floormod(h * multiplier + increment, _PRIME)
        h = tf.bitwise.bitwise_xor(h, tf.bitwise.right_shift(h, tf.constant(11, tf.int64)))
    return tf.math.floormod(h, _PRIME)


def _example_keys(examples, salt: int):
    """One int64 key per example, a hash of all its values (read exactly, to 1/4096, as integers)."""
    import tensorflow as tf

    flat = tf.cast(tf.reshape(examples, (-1, int(np.prod(examples.shape[1:])))), tf.float32)
    levels = tf.cast(tf.round(tf.clip_by_value(flat, -2.0 ** 19, 2.0 ** 19) * 4096.0), tf.int64)
    weights = tf.constant(_feature_weights(int(flat.shape[1])))
    terms = tf.math.floormod(tf.math.floormod(levels, _PRIME) * weights, _PRIME)  # each < 2^31
    key = tf.math.floormod(tf.reduce_sum(terms, axis=1), _PRIME)  # exact: integer sums do not round
    return _mix(tf.math.floormod(key + 1_000_003 * (salt + 1), _PRIME))


def example_index(examples, modulus: int, salt: int = 0):
    """Check mode's stand-in for ``keras.random.randint((batch,), 0, modulus)``: an int32 in 0..modulus-1
    hashed exactly from each example's values, so it is the same whichever replica sees the example and
    whatever else is in its batch; ``salt`` gives another, independent draw."""
    import tensorflow as tf

    return tf.cast(tf.math.floormod(_example_keys(examples, salt), modulus), tf.int32)


def example_noise(examples, shape, salt: int = 0):
    """Check mode's stand-in for ``keras.random.normal((batch, *shape))``: N(0, 1) values (Box-Muller on
    uniforms hashed from each example's key and the position), the same whichever replica sees the example
    and whatever else is in its batch; ``salt`` gives another, independent draw."""
    import tensorflow as tf

    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    key = _example_keys(examples, salt)[:, None]
    position = tf.range(int(np.prod(shape)), dtype=tf.int64)[None, :]

    def uniform(offset):  # in (0, 1)
        hashed = _mix(tf.math.floormod(key + 7919 * (2 * position + offset), _PRIME))
        return (tf.cast(hashed, tf.float64) + 0.5) / _PRIME

    noise = tf.sqrt(-2.0 * tf.math.log(uniform(0))) * tf.cos(2.0 * np.pi * uniform(1))
    return tf.reshape(tf.cast(noise, tf.float32), (-1, *shape))


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
