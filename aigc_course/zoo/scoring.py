"""How the image models are scored: the shipped MNIST judge on a fixed split every machine has."""

from __future__ import annotations

import numpy as np

SCORED_SAMPLES = 2000  # generated images scored by the judge (FID-judge against 2,000 training images)


def evaluation_mnist():
    """MNIST's 8,000 / 2,000 split of the 10,000 test images: every shipped MNIST checkpoint was trained on
    the 8,000 and is scored on the 2,000, whichever MNIST files the machine has (the full 60,000 or not)."""
    from aigc_course.data import load_mnist

    return load_mnist(verbose=False, test_split_only=True)


def mnist_judge(data=None):
    """The shipped MNIST judge wrapped in ``metrics.Judge`` (the scorer of every image chapter)."""
    from aigc_course.data.images import MNIST_CLASS_NAMES
    from aigc_course.metrics import Judge
    from aigc_course.zoo.registry import load_trained

    return Judge(load_trained("judge-mnist")[0], data.class_names if data is not None else MNIST_CLASS_NAMES)


def score_samples(samples, value_range, data, judge) -> dict:
    """FID-judge, confidence and class shares of ``samples`` (floats in ``value_range``) against ``SCORED_SAMPLES``
    training images of ``data`` (``evaluation_mnist()``), with the real-vs-real floor (its held-out images against
    the same reference)."""
    return judge.report(samples, data.x_train[:SCORED_SAMPLES], data.x_val, value_range=value_range)


def digit_labels(count: int) -> np.ndarray:
    """0, 1, ..., 9, 0, 1, ...: as many of each digit as ``count`` allows."""
    return np.arange(count) % 10
