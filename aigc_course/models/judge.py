"""The judge: a small CNN classifier of 28x28 images whose features and probabilities score generators."""

from __future__ import annotations

import keras
from keras import layers

FEATURE_LAYER = "features"


def build_judge(num_classes: int = 10, dropout_rate: float = 0.3, name: str = "judge") -> keras.Model:
    """Conv-conv-pool twice, a 128-d feature layer, then class logits. Input: (28, 28, 1) in [0, 1]."""
    inputs = keras.Input(shape=(28, 28, 1), name="images")
    x = inputs
    for filters in (32, 64):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    features = layers.Dense(128, activation="relu", name=FEATURE_LAYER)(x)
    x = layers.Dropout(dropout_rate)(features)
    logits = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, logits, name=name)


def compile_judge(model: keras.Model, learning_rate=1e-3, optimizer=None) -> keras.Model:
    """Cross-entropy on logits, Adam (or ``optimizer``), accuracy metric."""
    model.compile(
        optimizer=optimizer or keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def augmenter(seed: int = 0) -> keras.Sequential:
    """Small random shifts, rotations and zooms: the judge should not depend on exact placement."""
    return keras.Sequential([
        layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=seed),
        layers.RandomRotation(0.04, fill_mode="constant", seed=seed + 1),
        layers.RandomZoom(0.1, fill_mode="constant", seed=seed + 2),
    ], name="augmenter")


def judge_datasets(data, batch_size: int = 128, seed: int = 0):
    """(augmented training batches, validation batches) as tf.data pipelines for an ``ImageData``."""
    from aigc_course.data import image_pipeline

    augment = augmenter(seed)
    train = image_pipeline(data.x_train, data.y_train, batch_size, shuffle=True, seed=seed)
    train = train.map(lambda x, y: (augment(x, training=True), y))
    val = image_pipeline(data.x_val, data.y_val, 500, shuffle=False)
    return train, val


def train_judge(data, epochs: int, run_dir, name: str, batch_size: int = 128, seed: int = 0,
                verbose="auto"):
    """Train a judge on ``data`` (an ``ImageData``) for ``epochs`` epochs, resumably; return (model, result)."""
    from aigc_course.training import fit_resumable, warmup_cosine

    train, val = judge_datasets(data, batch_size, seed)
    steps = epochs * len(train)
    schedule = warmup_cosine(1e-3, steps, final_ratio=0.02)
    model = compile_judge(build_judge(len(data.class_names), name=name.replace("-", "_")), schedule)
    result = fit_resumable(model, train, epochs, run_dir, name, validation_data=val, verbose=verbose)
    return model, result
