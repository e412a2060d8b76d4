"""Normalising flows (RealNVP, Dinh et al. 2017): invertible maps with a log-determinant that costs nothing.

Change of variables: for z = f(x) invertible, log p(x) = log p_Z(f(x)) + log |det df/dx|.

An affine coupling layer keeps the pixels (or features) where ``mask`` is 1 and transforms the others:
    y = m * x + (1 - m) * (x * exp(s(m * x)) + t(m * x)),
so the Jacobian is triangular and log |det| = sum over the transformed positions of s. Alternating masks
(checkerboard, then the other parity; channel halves after a squeeze) lets every position be transformed.

8-bit images need two more steps, both counted in the likelihood (``dequantize``, ``logit_transform``):
uniform dequantisation u = (x + noise) / 256 turns the discrete pixels into a density on [0, 1)^D (the bound
log P(x) >= E log p(u) - D log 256), and y = logit(alpha + (1 - 2 alpha) u) maps [0, 1) to the real line with
log |dy/du| = log(1 - 2 alpha) - log v - log(1 - v), v = alpha + (1 - 2 alpha) u.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

from aigc_course.errors import SettingsError

LOG_2PI = math.log(2 * math.pi)
LOGIT_ALPHA = 0.05   # RealNVP's value for MNIST-like data


def checkerboard_mask(height: int, width: int, parity: int = 0) -> np.ndarray:
    """(H, W, 1) float mask, 1 where (row + column) % 2 == parity."""
    rows, columns = np.indices((height, width))
    return ((rows + columns) % 2 == parity).astype("float32")[..., None]


def channel_mask(channels: int, parity: int = 0) -> np.ndarray:
    """(1, 1, C) float mask, 1 on the first half of the channels (parity 0) or the second (parity 1)."""
    mask = np.zeros(channels, dtype="float32")
    half = channels // 2
    mask[:half] = 1.0
    return (mask if parity == 0 else 1.0 - mask)[None, None, :]


def feature_mask(features: int, parity: int = 0) -> np.ndarray:
    """(F,) float mask for vectors, alternating features."""
    return (np.arange(features) % 2 == parity).astype("float32")


def squeeze(x):
    """(N, H, W, C) -> (N, H/2, W/2, 4C): each 2x2 block becomes four channels (invertible, log-det 0)."""
    n, h, w, c = ops.shape(x)
    x = ops.reshape(x, (n, h // 2, 2, w // 2, 2, c))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (n, h // 2, w // 2, 4 * c))


def unsqueeze(x):
    """The inverse of ``squeeze``."""
    n, h, w, c = ops.shape(x)
    x = ops.reshape(x, (n, h, w, 2, 2, c // 4))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (n, 2 * h, 2 * w, c // 4))


@keras.saving.register_keras_serializable(package="aigc_course")
class AffineCoupling(layers.Layer):
    """One affine coupling layer. ``mask`` broadcasts against one example ((F,) for vectors, (H, W, C) or
    (1, 1, C) for images); the conditioner is a small MLP (vectors) or CNN (images) whose last layer starts at
    zero, so a new layer is the identity. ``s`` is bounded by ``scale_limit * tanh`` for stable training."""

    def __init__(self, mask, hidden: int = 64, depth: int = 2, scale_limit: float = 2.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_values = np.asarray(mask, dtype="float32")
        self.hidden, self.depth, self.scale_limit = hidden, depth, scale_limit
        self.images = self.mask_values.ndim == 3

    def build(self, input_shape):
        channels = input_shape[-1]
        if self.images:
            hidden = [layers.Conv2D(self.hidden, 3, padding="same", activation="relu") for _ in range(self.depth)]
            out = layers.Conv2D(2 * channels, 3, padding="same", kernel_initializer="zeros")
        else:
            hidden = [layers.Dense(self.hidden, activation="relu") for _ in range(self.depth)]
            out = layers.Dense(2 * channels, kernel_initializer="zeros")
        self.conditioner = keras.Sequential([*hidden, out], name="conditioner")
        self.conditioner.build(tuple(input_shape))

    def _scale_and_shift(self, kept):
        raw_scale, shift = ops.split(self.conditioner(kept), 2, axis=-1)
        changed = 1.0 - self.mask_values
        return self.scale_limit * ops.tanh(raw_scale) * changed, shift * changed

    def call(self, x):
        """x -> (y, log |det dy/dx| per example)."""
        kept = x * self.mask_values
        scale, shift = self._scale_and_shift(kept)
        y = kept + (1.0 - self.mask_values) * x * ops.exp(scale) + shift
        return y, ops.sum(ops.reshape(scale, (ops.shape(scale)[0], -1)), axis=-1)

    def inverse(self, y):
        kept = y * self.mask_values
        scale, shift = self._scale_and_shift(kept)
        return kept + (1.0 - self.mask_values) * (y - shift) * ops.exp(-scale)

    def get_config(self):
        return {**super().get_config(), "mask": self.mask_values.tolist(), "hidden": self.hidden,
                "depth": self.depth, "scale_limit": self.scale_limit}


def standard_normal_log_density(z):
    """log N(z; 0, I) per example, summed over all but the first axis."""
    flat = ops.reshape(z, (ops.shape(z)[0], -1))
    return -0.5 * ops.sum(flat ** 2 + LOG_2PI, axis=-1)


def dequantize(pixels, rng: np.random.Generator) -> np.ndarray:
    """8-bit pixels (0-255) -> u = (x + U[0, 1)) / 256 in [0, 1): a density on [0, 1)^D whose likelihood is
    a lower bound on the discrete one once ``D log 256`` is subtracted (see ``bits_per_dim``)."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 and (pixels.min() < 0 or pixels.max() > 255 or np.any(pixels != np.round(pixels))):
        raise SettingsError("dequantize expects 8-bit pixel values (whole numbers 0-255)")
    return ((pixels.astype("float64") + rng.random(pixels.shape)) / 256.0).astype("float32")


def logit_transform(u, alpha: float = LOGIT_ALPHA):
    """u in [0, 1) -> (y = logit(alpha + (1 - 2 alpha) u), log |dy/du| summed per example)."""
    v = alpha + (1.0 - 2.0 * alpha) * u
    y = ops.log(v) - ops.log1p(-v)
    log_det = math.log(1.0 - 2.0 * alpha) - ops.log(v) - ops.log1p(-v)
    return y, ops.sum(ops.reshape(log_det, (ops.shape(log_det)[0], -1)), axis=-1)


def inverse_logit_transform(y, alpha: float = LOGIT_ALPHA):
    return (ops.sigmoid(y) - alpha) / (1.0 - 2.0 * alpha)


def bits_per_dim(log_density_u, dimensions: int) -> float:
    """Bits per dimension of 8-bit data from the mean log-density of the dequantised u in [0, 1)^D (which already
    includes the logit transform's log-determinant): -(log p(u) - D log 256) / (D ln 2). A model uniform on
    [0, 1)^D has log p(u) = 0, so it scores exactly 8 bits per dimension."""
    return float(-(np.mean(log_density_u) - dimensions * math.log(256.0)) / (dimensions * math.log(2.0)))
