"""Training on several devices with ``tf.distribute.MirroredStrategy``, and a check that it is exact."""

from __future__ import annotations

import numpy as np


def configure_devices(devices: int):
    """A strategy over ``devices`` GPUs, or over as many logical CPU devices when there are fewer GPUs.

    Must run before TensorFlow has executed anything (logical devices are fixed at start-up).
    With ``devices <= 1`` it returns the default (single-device) strategy.
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
    except RuntimeError as error:
        raise RuntimeError(f"cannot split the CPU into {devices} devices after TensorFlow has started "
                           f"({error}). Fix: call configure_devices first in a fresh process.") from error
    print(f"只有 {len(gpus)} 块 GPU: 把 CPU 分成 {devices} 个逻辑设备 (检查分布式代码用, 不会更快)")
    return tf.distribute.MirroredStrategy([f"/cpu:{index}" for index in range(devices)])


def one_step_difference(name: str, devices: int = 2, seed: int = 0) -> dict:
    """Train model ``name`` one step on one device and on ``devices`` mirrored devices from the same
    weights and batch; return the largest weight difference and the size of the step itself."""
    import tensorflow as tf

    from aigc_course.runtime import set_seed
    from aigc_course.zoo import get_entry

    strategy = configure_devices(devices)
    entry = get_entry(name)
    set_seed(seed)
    batch = entry.example_batch()
    single = entry.build(for_check=True)
    initial = [weight.copy() for weight in single.get_weights()]
    single.fit(tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0)
    with strategy.scope():
        mirrored = entry.build(for_check=True)
    mirrored.set_weights(initial)
    mirrored.fit(tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0)
    after_single, after_mirrored = single.get_weights(), mirrored.get_weights()
    return {
        "replicas": int(strategy.num_replicas_in_sync),
        "max_weight_difference": float(max(np.abs(a - b).max() for a, b in zip(after_single, after_mirrored))),
        "max_step_size": float(max(np.abs(a - b).max() for a, b in zip(after_single, initial))),
    }
