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


@keras.saving.register_keras_serializable(package="aigc_course")
class ElementwiseAffine(layers.Layer):
    """y = x * exp(log_scale) + shift with one learned (log_scale, shift) per position and channel, both starting
    at 0 (the identity): log |det| = sum of log_scale, the same for every example. It lets a flow learn each
    pixel's own location and spread directly (RealNVP uses batch normalisation for this; Glow an "actnorm")."""

    def build(self, input_shape):
        self.log_scale = self.add_weight(name="log_scale", shape=tuple(input_shape[1:]), initializer="zeros")
        self.shift = self.add_weight(name="shift", shape=tuple(input_shape[1:]), initializer="zeros")

    def call(self, x):
        log_det = ops.sum(self.log_scale) * ops.ones((ops.shape(x)[0],), dtype=x.dtype)
        return x * ops.exp(self.log_scale) + self.shift, log_det

    def inverse(self, y):
        return (y - self.shift) * ops.exp(-self.log_scale)

    def initialize_from(self, x, floor: float = 0.05):
        """Data-dependent start: make these examples' outputs zero-mean and unit-variance at every position (the
        flow then starts from a model of each pixel's own spread instead of learning it a small step at a time).
        ``floor`` bounds the starting scale where the examples barely vary: a stroke that appears there later
        would otherwise land hundreds of standard deviations out and derail the first steps."""
        x = np.asarray(x, dtype="float64")
        std = np.maximum(x.std(axis=0), floor)
        self.log_scale.assign((-np.log(std)).astype("float32"))
        self.shift.assign((-x.mean(axis=0) / std).astype("float32"))


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


def check_pixels(pixels, shape=(28, 28, 1)) -> np.ndarray:
    """8-bit images as float32 (N, H, W, C) holding whole numbers 0-255, or a clear error."""
    array = np.asarray(pixels)
    if array.ndim == len(shape) and array.shape[1:] == tuple(shape[:-1]):
        array = array[..., None]
    if array.ndim != len(shape) + 1 or array.shape[1:] != tuple(shape):
        raise SettingsError(f"expected 8-bit images of shape (N, {', '.join(map(str, shape))}), got {array.shape}")
    if array.dtype != np.uint8:
        if array.size and (array.min() < 0 or array.max() > 255 or np.any(array != np.round(array))):
            raise SettingsError("a likelihood of 8-bit images needs whole-number pixels 0-255; got values in "
                                f"[{array.min():.3g}, {array.max():.3g}] (images scaled to [0, 1]? pass the uint8 "
                                "images, or multiply by 255 and round)")
        if array.size and array.max() <= 1:
            raise SettingsError("these pixels are all 0 or 1: binarised images have a different likelihood "
                                "(nats per image, PixelCNN); a flow models the 8-bit images (0-255)")
    return array.astype("float32")


def level_masks(count: int, shape) -> list[np.ndarray]:
    """The masks of one level's ``count`` couplings: checkerboard, the other parity, channel halves, the other
    half, and round again, so every position is transformed and conditions the others."""
    height, width, channels = shape
    cycle = [checkerboard_mask(height, width, 0), checkerboard_mask(height, width, 1),
             channel_mask(channels, 0), channel_mask(channels, 1)]
    return [cycle[index % len(cycle)] for index in range(count)]


@keras.saving.register_keras_serializable(package="aigc_course")
class RealNVP(keras.Model):
    """A multi-scale RealNVP for 8-bit images: logit transform, then for each level a squeeze (2x2 blocks to
    channels), an ``ElementwiseAffine`` (set from the data before training: ``initialize_from``) and the level's
    affine couplings; z ~ N(0, I) has shape ``latent_shape``. No dimensions are factored out between levels: the
    second level works on 7x7 positions and costs about a third of the first (a quarter of the positions, four
    times the channels at its ends), so factoring out half of them would save about 6% of the work.

    ``fit`` on 8-bit pixels as floats (N, 28, 28, 1) in 0-255: each batch is dequantised afresh and the loss is
    bits per dimension (-log p(u) + D log 256, over D ln 2), the logit transform's log-determinant included.
    Validation data: already dequantised u in [0, 1) (``dequantize`` with a fixed seed).
    ``for_check``: the dequantisation noise is 1/2 (no random draw), for the one-step distributed check.
    """

    value_range = (0.0, 1.0)  # what sample() and decode() return

    def __init__(self, image_shape=(28, 28, 1), couplings=(6, 6), hidden: int = 64, depth: int = 2,
                 alpha: float = LOGIT_ALPHA, seed: int = 0, for_check: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.image_shape, self.couplings = tuple(image_shape), tuple(couplings)
        self.hidden, self.depth, self.alpha, self.for_check = hidden, depth, alpha, for_check
        self.dimensions = int(np.prod(self.image_shape))
        height, width, channels = self.image_shape
        self.levels, shape = [], None
        for level, count in enumerate(self.couplings):
            height, width, channels = height // 2, width // 2, channels * 4
            shape = (height, width, channels)
            self.levels.append([ElementwiseAffine(name=f"affine_{level}")]
                               + [AffineCoupling(mask, hidden, depth, name=f"coupling_{level}_{index}")
                                  for index, mask in enumerate(level_masks(count, shape))])
        self.latent_shape = shape
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.tracker = keras.metrics.Mean(name="bits_per_dim")

    @property
    def metrics(self):
        return [self.tracker]

    def build(self, input_shape=None):
        self.forward(keras.KerasTensor((1, *self.image_shape)))
        self.built = True

    def forward(self, u):
        """u in [0, 1)^D -> (z, log |det dz/du| per example), the logit transform included."""
        x, log_det = logit_transform(u, self.alpha)
        for level in self.levels:
            x = squeeze(x)
            for coupling in level:
                x, coupling_log_det = coupling(x)
                log_det = log_det + coupling_log_det
        return x, log_det

    def call(self, u):
        return self.forward(u)[0]

    def initialize_from(self, u):
        """Set each level's ``ElementwiseAffine`` from a batch of dequantised images (before training)."""
        x, _ = logit_transform(ops.convert_to_tensor(u, "float32"), self.alpha)
        for level in self.levels:
            x = squeeze(x)
            for layer in level:
                if isinstance(layer, ElementwiseAffine):
                    layer.initialize_from(x)
                x, _ = layer(x)

    def log_density(self, u):
        """log p(u) per example (nats): log N(f(u); 0, I) + log |det df/du|."""
        z, log_det = self.forward(u)
        return standard_normal_log_density(z) + log_det

    def bits_per_dim_of(self, u):
        """Bits per dimension of the 8-bit images behind each dequantised u (see ``bits_per_dim``)."""
        return (self.dimensions * math.log(256.0) - self.log_density(u)) / (self.dimensions * math.log(2.0))

    def train_step(self, data):
        import tensorflow as tf

        from aigc_course.distribute import global_mean, per_replica_value

        pixels = ops.cast(data[0] if isinstance(data, (tuple, list)) else data, "float32")
        noise = 0.5 if self.for_check else keras.random.uniform(ops.shape(pixels), seed=self.noise_seed)
        u = (pixels + noise) / 256.0
        with tf.GradientTape() as tape:
            loss = global_mean(self.bits_per_dim_of(u))
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        self.tracker.update_state(per_replica_value(loss))
        return {"bits_per_dim": self.tracker.result()}

    def test_step(self, data):
        u = ops.cast(data[0] if isinstance(data, (tuple, list)) else data, "float32")
        self.tracker.update_state(ops.mean(self.bits_per_dim_of(u)))
        return {"bits_per_dim": self.tracker.result()}

    def evaluate_bits_per_dim(self, pixels, seed: int = 0, batch_size: int = 500) -> float:
        """Mean bits per dimension of 8-bit ``pixels`` (one dequantisation draw with ``seed``)."""
        u = dequantize(check_pixels(pixels, self.image_shape), np.random.default_rng(seed))
        total = sum(float(ops.sum(self.bits_per_dim_of(u[start:start + batch_size])))
                    for start in range(0, len(u), batch_size))
        return total / len(u)

    def encode(self, u):
        return np.asarray(self.forward(ops.convert_to_tensor(u, "float32"))[0])

    def decode(self, z):
        """z -> u in [0, 1] (the inverse of every step, last first)."""
        x = ops.convert_to_tensor(z, "float32")
        for level in reversed(self.levels):
            for coupling in reversed(level):
                x = coupling.inverse(x)
            x = unsqueeze(x)
        return np.clip(np.asarray(inverse_logit_transform(x, self.alpha)), 0.0, 1.0)

    def sample(self, n: int, seed: int = 0, temperature: float = 1.0) -> np.ndarray:
        """``n`` images in [0, 1] decoded from z ~ N(0, temperature^2 I)."""
        if not temperature > 0:
            raise SettingsError(f"temperature must be > 0, got {temperature}")
        z = np.random.default_rng(seed).standard_normal((n, *self.latent_shape)).astype("float32") * temperature
        return self.decode(z)

    def get_config(self):
        return {**super().get_config(), "image_shape": self.image_shape, "couplings": self.couplings,
                "hidden": self.hidden, "depth": self.depth, "alpha": self.alpha, "for_check": self.for_check}


def train_realnvp(model: RealNVP, data, epochs: int, run_dir, name: str, batch_size: int = 64,
                  learning_rate: float = 1e-3, seed: int = 0, steps_per_epoch: int | None = None, callbacks=(),
                  verbose="auto") -> dict:
    """Train on ``data.x_train`` (8-bit, dequantised afresh every batch) with validation on ``data.x_val``
    dequantised once (seed 0), cosine-decayed Adam with a short warm-up, resumably."""
    import tensorflow as tf

    from aigc_course.training import fit_resumable, warmup_cosine

    pixels = check_pixels(data.x_train, model.image_shape)
    model.initialize_from(dequantize(pixels, np.random.default_rng(seed)))  # a resumed run then loads its weights
    train = (tf.data.Dataset.from_tensor_slices(pixels).shuffle(len(pixels), seed=seed)
             .batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE))
    if steps_per_epoch:
        train = train.take(steps_per_epoch)
    held_out = dequantize(check_pixels(data.x_val, model.image_shape), np.random.default_rng(0))
    val = tf.data.Dataset.from_tensor_slices(held_out).batch(500)
    steps = max(1, epochs * (steps_per_epoch or len(pixels) // batch_size))
    model.compile(optimizer=keras.optimizers.Adam(warmup_cosine(learning_rate, steps, warmup_steps=min(200, steps // 10),
                                                                final_ratio=0.05)))
    return fit_resumable(model, train, epochs, run_dir, name, validation_data=val, callbacks=callbacks,
                         verbose=verbose)
