"""A shallow generative model of binary images: per class, a mixture of independent-pixel Bernoullis.

p(x | y) = sum_k pi_{y,k} prod_d mu_{y,k,d}^{x_d} (1 - mu_{y,k,d})^{1 - x_d}, fitted by EM for each
class. With one component it is the naive-Bayes model; with more, each component learns one way of
writing the digit. Because it models p(x | y), it can both classify (Bayes' rule) and sample.
"""

from __future__ import annotations

import numpy as np


def threshold_pixels(images, threshold: float = 0.5) -> np.ndarray:
    """Images (N, 28, 28[, 1]), uint8 (0-255) or float in [0, 1], -> float (N, 784) of 0/1 pixels: each pixel
    is 1 where it is brighter than ``threshold`` (deterministic; compare ``models.vae.binarize``, which draws)."""
    array = np.asarray(images)
    array = array / 255.0 if array.dtype == np.uint8 else array.astype("float32")
    return (array.reshape(len(array), -1) > threshold).astype("float64")


def _log_bernoulli(pixels: np.ndarray, means: np.ndarray) -> np.ndarray:
    """log p(x | component) for every image and component: (N, D) x (K, D) -> (N, K)."""
    return pixels @ np.log(means).T + (1.0 - pixels) @ np.log1p(-means).T


def _logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    top = values.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(values - top).sum(axis=axis, keepdims=True))).squeeze(axis)


class BernoulliMixtureClassModel:
    """Class-conditional Bernoulli mixtures with a class prior p(y): generative classifier and sampler."""

    def __init__(self, num_components: int = 1, num_classes: int = 10, iterations: int = 30,
                 smoothing: float = 1.0, seed: int = 0):
        if num_components < 1:
            raise ValueError(f"num_components must be at least 1, got {num_components}")
        self.num_components = num_components
        self.num_classes = num_classes
        self.iterations = iterations
        self.smoothing = smoothing  # Laplace smoothing keeps every mean inside (0, 1)
        self.seed = seed

    def fit(self, images, labels) -> "BernoulliMixtureClassModel":
        pixels, labels = threshold_pixels(images), np.asarray(labels)
        rng = np.random.default_rng(self.seed)
        self.class_log_prior = np.log(np.bincount(labels, minlength=self.num_classes) / len(labels))
        self.weights = np.zeros((self.num_classes, self.num_components))
        self.means = np.zeros((self.num_classes, self.num_components, pixels.shape[1]))
        self.train_log_likelihood = []
        for digit in range(self.num_classes):
            weights, means, curve = self._em(pixels[labels == digit], rng)
            self.weights[digit], self.means[digit] = weights, means
            self.train_log_likelihood.append(curve)
        return self

    def _em(self, pixels: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray, list[float]]:
        k, a = self.num_components, self.smoothing
        # Start from k random images of the class, blurred towards the class mean.
        start = pixels[rng.choice(len(pixels), size=k, replace=False)]
        means = np.clip(0.5 * start + 0.5 * pixels.mean(axis=0), 0.05, 0.95)
        weights = np.full(k, 1.0 / k)
        curve = []
        for _ in range(self.iterations if k > 1 else 1):
            log_joint = _log_bernoulli(pixels, means) + np.log(weights)      # E step
            log_total = _logsumexp(log_joint, axis=1)
            curve.append(float(log_total.mean()))
            responsibilities = np.exp(log_joint - log_total[:, None])      # (N, K)
            counts = responsibilities.sum(axis=0)                            # M step
            weights = (counts + a) / (counts.sum() + a * k)
            means = (responsibilities.T @ pixels + a) / (counts[:, None] + 2 * a)
        return weights, means, curve

    def log_likelihood_per_class(self, images) -> np.ndarray:
        """log p(x | y) for every image and class: (N, num_classes), in nats."""
        pixels = threshold_pixels(images)
        return np.stack([
            _logsumexp(_log_bernoulli(pixels, self.means[y]) + np.log(self.weights[y]), axis=1)
            for y in range(self.num_classes)], axis=1)

    def log_likelihood(self, images) -> np.ndarray:
        """log p(x) = log sum_y p(y) p(x | y), per image, in nats."""
        return _logsumexp(self.log_likelihood_per_class(images) + self.class_log_prior, axis=1)

    def predict(self, images) -> np.ndarray:
        """Bayes' rule: argmax_y p(y) p(x | y)."""
        return (self.log_likelihood_per_class(images) + self.class_log_prior).argmax(axis=1)

    def sample(self, labels, seed: int = 0, binary: bool = False) -> np.ndarray:
        """One image per requested label: pick a component, then each pixel (or its mean) independently.

        ``binary=False`` returns the chosen component's pixel probabilities, the usual way to show
        Bernoulli samples; ``binary=True`` draws the 0/1 pixels themselves.
        """
        rng = np.random.default_rng(seed)
        labels = np.asarray(labels)
        components = np.array([rng.choice(self.num_components, p=self.weights[y]) for y in labels])
        means = self.means[labels, components]
        pixels = (rng.random(means.shape) < means).astype("float32") if binary else means
        return pixels.reshape(len(labels), 28, 28).astype("float32")
