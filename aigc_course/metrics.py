"""The course's metrics: nats per character for text models; for generated images, the judge's FID-judge,
confidence and class histogram.

FID (Fréchet Inception Distance) compares the mean and covariance of two sets of features; here the
features come from the course's own judge (its 128-d layer) instead of Inception, so the numbers are
only comparable with other FID-judge numbers of this course, not with published FIDs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from aigc_course.plotting import to_display
from aigc_course.sampling import softmax


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(C_a + C_b - 2 (C_a^1/2 C_b C_a^1/2)^1/2), in float64."""
    a = np.asarray(features_a, dtype="float64")
    b = np.asarray(features_b, dtype="float64")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected two (N, D) feature arrays with the same D, got {a.shape} and {b.shape}")
    if min(len(a), len(b)) < 2:
        raise ValueError("need at least two samples on each side to estimate a covariance")
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    # Tr sqrt(C_a C_b) via the symmetric form sqrt(C_a) C_b sqrt(C_a), which has the same eigenvalues.
    eigvals_a, eigvecs_a = np.linalg.eigh(cov_a)
    sqrt_a = (eigvecs_a * np.sqrt(np.clip(eigvals_a, 0, None))) @ eigvecs_a.T
    middle = sqrt_a @ cov_b @ sqrt_a
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    distance = ((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt
    return float(max(distance, 0.0))


def as_judge_input(images, value_range=None) -> np.ndarray:
    """An image batch (uint8, or float with its ``value_range``; with or without channel) -> float32 (N, 28, 28, 1)
    in [0, 1], what the judge reads."""
    return to_display(images, value_range)[..., None]


@dataclass
class Judge:
    """A trained judge classifier with the helpers every image chapter uses."""

    classifier: object  # keras.Model producing logits
    class_names: tuple[str, ...]
    batch_size: int = 500
    _reference_cache: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        import keras

        from aigc_course.models.judge import FEATURE_LAYER

        self._features_and_logits = keras.Model(
            self.classifier.input,
            [self.classifier.get_layer(FEATURE_LAYER).output, self.classifier.outputs[0]],
        )

    def _run(self, images, value_range=None) -> tuple[np.ndarray, np.ndarray]:
        """(features, logits) in batches; a direct call is faster than ``predict`` for a few thousand images."""
        inputs = as_judge_input(images, value_range)
        outputs = [self._features_and_logits(inputs[start:start + self.batch_size], training=False)
                   for start in range(0, len(inputs), self.batch_size)]
        return (np.concatenate([np.asarray(features) for features, _ in outputs]),
                np.concatenate([np.asarray(logits) for _, logits in outputs]))

    # Every method takes uint8 images, or float images with their ``value_range`` ((0, 1) or (-1, 1))
    def features(self, images, value_range=None) -> np.ndarray:
        return self._run(images, value_range)[0]

    def probabilities(self, images, value_range=None) -> np.ndarray:
        return softmax(self._run(images, value_range)[1])

    def predict(self, images, value_range=None) -> np.ndarray:
        return self.probabilities(images, value_range).argmax(axis=1)

    def reference_features(self, images, value_range=None) -> np.ndarray:
        """``features`` of a reference set, remembered by content: scoring many batches against the same
        real images computes their features once."""
        array = np.ascontiguousarray(images)
        key = (hashlib.blake2b(array.tobytes(), digest_size=16).hexdigest(), array.dtype.str, array.shape,
               None if array.dtype == np.uint8 else value_range)
        if key not in self._reference_cache:
            if len(self._reference_cache) >= 4:
                self._reference_cache.pop(next(iter(self._reference_cache)))
            self._reference_cache[key] = self.features(array, value_range)
        return self._reference_cache[key]

    def accuracy(self, images, labels, value_range=None) -> float:
        return float((self.predict(images, value_range) == np.asarray(labels)).mean())

    def fid(self, images_a, images_b, value_range=None) -> float:
        """FID-judge between two batches (``value_range`` for whichever of them is float)."""
        return frechet_distance(self.features(images_a, value_range), self.features(images_b, value_range))

    def report(self, generated, reference, heldout=None, value_range=None) -> dict:
        """The course's image metrics for ``generated`` (in ``value_range`` when float) against the real
        ``reference`` images, and the real-vs-real floor when ``heldout`` is given."""
        features, logits = self._run(generated, value_range)
        probs = softmax(logits)
        shares = np.bincount(probs.argmax(axis=1), minlength=len(self.class_names)) / len(probs)
        reference_features = self.reference_features(reference, value_range)
        result = {
            "fid_judge": frechet_distance(features, reference_features),
            "judge_confidence": float(probs.max(axis=1).mean()),
            "class_share_min": float(shares.min()),
            "class_share_max": float(shares.max()),
        }
        if heldout is not None:
            result["fid_judge_real"] = frechet_distance(self.features(heldout, value_range), reference_features)
        return result


def class_histogram(judge: Judge, images, value_range=None) -> np.ndarray:
    """How many images the judge puts in each class (a flat histogram means no mode collapse)."""
    return np.bincount(judge.predict(images, value_range), minlength=len(judge.class_names))


def code_purity(codes, predicted_classes) -> float:
    """How well an unsupervised code lines up with the judge's classes: for each code, the share of its
    samples in that code's most common class, weighted by the code's size (1.0: each code one class)."""
    codes, predicted_classes = np.asarray(codes), np.asarray(predicted_classes)
    if codes.shape != predicted_classes.shape or codes.ndim != 1:
        raise ValueError(f"need one code per prediction, got shapes {codes.shape} and {predicted_classes.shape}")
    majority = sum(np.bincount(predicted_classes[codes == code]).max() for code in np.unique(codes))
    return float(majority / len(codes))


def nats_per_char(model, ids: np.ndarray, window: int | None = None, batch_size: int = 32,
                  jit_compile: bool | None = None) -> float:
    """Mean cross-entropy (nats/char) of a character model over non-overlapping ``window``-long chunks of ``ids``,
    each from a fresh state (an LSTM) or an empty context (a GPT).

    ``window`` defaults to the model's ``context_length`` when it has one (a GPT), else 256. The forward pass is
    one compiled graph, with XLA when ``jit_compile`` (default: the model's ``compiles_with_xla``), so evaluating
    is not slower than training.
    """
    import tensorflow as tf
    from keras import ops

    window = window or getattr(model, "context_length", 256)
    if jit_compile is None:
        jit_compile = bool(getattr(model, "compiles_with_xla", False))
    ids = np.asarray(ids, dtype=np.int32)
    count = (len(ids) - 1) // window
    if count == 0:
        raise ValueError(f"need more than {window} characters to evaluate, got {len(ids)}")
    starts = np.arange(count) * window
    inputs = np.stack([ids[start:start + window] for start in starts])
    targets = np.stack([ids[start + 1:start + window + 1] for start in starts])
    # pad to whole batches (padded rows weigh 0), so the function is traced and compiled for one shape only
    padded = -count % batch_size
    weights = np.concatenate([np.ones(count, "float32"), np.zeros(padded, "float32")])
    inputs = np.concatenate([inputs, np.zeros((padded, window), np.int32)])
    targets = np.concatenate([targets, np.zeros((padded, window), np.int32)])

    @tf.function(jit_compile=jit_compile)
    def summed_loss(batch_inputs, batch_targets, batch_weights):
        logits = model(batch_inputs, training=False)
        losses = ops.sparse_categorical_crossentropy(batch_targets, logits, from_logits=True)
        return ops.sum(losses * batch_weights[:, None])

    total = 0.0
    for first in range(0, len(inputs), batch_size):
        batch = slice(first, first + batch_size)
        total += float(summed_loss(inputs[batch], targets[batch], weights[batch]))
    return total / (count * window)
