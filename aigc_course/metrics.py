"""Judge-based metrics for generated images: FID-judge, confidence and the class histogram.

FID (Fréchet Inception Distance) compares the mean and covariance of two sets of features; here the
features come from the course's own judge (its 128-d layer) instead of Inception, so the numbers are
only comparable with other FID-judge numbers of this course, not with published FIDs.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def as_judge_input(images) -> np.ndarray:
    """Any image batch (uint8, [0, 1] or [-1, 1]; with or without channel) -> float32 (N, 28, 28, 1) in [0, 1]."""
    return to_display(images)[..., None]


@dataclass
class Judge:
    """A trained judge classifier with the helpers every image chapter uses."""

    classifier: object  # keras.Model producing logits
    class_names: tuple[str, ...]
    batch_size: int = 500

    def __post_init__(self):
        import keras

        from aigc_course.models.judge import FEATURE_LAYER

        self._features_and_logits = keras.Model(
            self.classifier.input,
            [self.classifier.get_layer(FEATURE_LAYER).output, self.classifier.outputs[0]],
        )

    def _run(self, images) -> tuple[np.ndarray, np.ndarray]:
        """(features, logits) in batches; a direct call is faster than ``predict`` for a few thousand images."""
        inputs = as_judge_input(images)
        outputs = [self._features_and_logits(inputs[start:start + self.batch_size], training=False)
                   for start in range(0, len(inputs), self.batch_size)]
        return (np.concatenate([np.asarray(features) for features, _ in outputs]),
                np.concatenate([np.asarray(logits) for _, logits in outputs]))

    def features(self, images) -> np.ndarray:
        return self._run(images)[0]

    def probabilities(self, images) -> np.ndarray:
        return softmax(self._run(images)[1])

    def predict(self, images) -> np.ndarray:
        return self.probabilities(images).argmax(axis=1)

    def accuracy(self, images, labels) -> float:
        return float((self.predict(images) == np.asarray(labels)).mean())

    def fid(self, images_a, images_b) -> float:
        return frechet_distance(self.features(images_a), self.features(images_b))

    def report(self, generated, reference, heldout=None) -> dict:
        """The course's image metrics for ``generated`` (and the real-vs-real floor when ``heldout``)."""
        features, logits = self._run(generated)
        probs = softmax(logits)
        shares = np.bincount(probs.argmax(axis=1), minlength=len(self.class_names)) / len(probs)
        reference_features = self.features(reference)
        result = {
            "fid_judge": frechet_distance(features, reference_features),
            "judge_confidence": float(probs.max(axis=1).mean()),
            "class_share_min": float(shares.min()),
            "class_share_max": float(shares.max()),
        }
        if heldout is not None:
            result["fid_judge_real"] = frechet_distance(self.features(heldout), reference_features)
        return result


def class_histogram(judge: Judge, images) -> np.ndarray:
    """How many images the judge puts in each class (a flat histogram means no mode collapse)."""
    return np.bincount(judge.predict(images), minlength=len(judge.class_names))


def code_purity(codes, predicted_classes) -> float:
    """How well an unsupervised code lines up with the judge's classes: for each code, the share of its
    samples in that code's most common class, weighted by the code's size (1.0: each code one class)."""
    codes, predicted_classes = np.asarray(codes), np.asarray(predicted_classes)
    if codes.shape != predicted_classes.shape or codes.ndim != 1:
        raise ValueError(f"need one code per prediction, got shapes {codes.shape} and {predicted_classes.shape}")
    majority = sum(np.bincount(predicted_classes[codes == code]).max() for code in np.unique(codes))
    return float(majority / len(codes))
