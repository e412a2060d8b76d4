"""A convolutional VAE for binarised 28x28 images: Bernoulli decoder, diagonal Gaussian encoder.

Units are nats per image. ``negative_elbo`` is the training loss; ``importance_weighted_nll`` is the
tighter estimate of -log p(x) with k samples (Burda et al. 2016), always <= the negative ELBO on average.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

from aigc_course.distribute import example_noise, global_mean, per_replica_value

IMAGE_SHAPE = (28, 28, 1)
LOG_2PI = math.log(2 * math.pi)


# ----------------------------------------------------------------------------------------------- formulas
def kl_diagonal_gaussians(mean_q, log_var_q, mean_p=0.0, log_var_p=0.0):
    """KL(N(mean_q, e^log_var_q) || N(mean_p, e^log_var_p)), summed over the last axis (closed form):
    1/2 sum[log_var_p - log_var_q + (e^log_var_q + (mean_q - mean_p)^2) / e^log_var_p - 1]."""
    return 0.5 * ops.sum(log_var_p - log_var_q + (ops.exp(log_var_q) + (mean_q - mean_p) ** 2)
                         / ops.exp(log_var_p) - 1.0, axis=-1)


def gaussian_log_density(z, mean, log_var):
    """log N(z; mean, e^log_var), summed over the last axis."""
    return -0.5 * ops.sum(LOG_2PI + log_var + (z - mean) ** 2 / ops.exp(log_var), axis=-1)


def bernoulli_log_likelihood(x, logits):
    """log p(x | logits) for binary x, summed over all pixels: sum x log s(l) + (1 - x) log(1 - s(l))."""
    per_pixel = -(x * ops.softplus(-logits) + (1.0 - x) * ops.softplus(logits))
    return ops.sum(ops.reshape(per_pixel, (ops.shape(per_pixel)[0], -1)), axis=-1)


def reparameterize(mean, log_var, seed=None):
    """z = mean + sigma * eps with eps ~ N(0, I): the randomness sits in eps, so gradients reach mean and
    log_var."""
    eps = keras.random.normal(ops.shape(mean), seed=seed)
    return mean + ops.exp(0.5 * log_var) * eps


def binarize(images, seed: int | None = None) -> np.ndarray:
    """Gray images (uint8 0-255, or float in [0, 1]) -> 0/1 float32 with P(1) = intensity (stochastic
    binarisation; compare ``bernoulli_mixture.threshold_pixels``, which thresholds).

    With a fixed ``seed`` the result is the same every time (our held-out set); training draws a new one
    every batch (dynamic binarisation), which works as a regulariser.
    """
    images = np.asarray(images)
    images = images / np.float32(255.0) if images.dtype == np.uint8 else images.astype("float32")
    if images.ndim == 3:
        images = images[..., None]
    return (np.random.default_rng(seed).random(images.shape) < images).astype("float32")


# ----------------------------------------------------------------------------------------------- networks
def build_encoder(latent_dim: int, width: int = 32, name="encoder") -> keras.Model:
    """Image -> (mean, log_var) of q(z | x)."""
    image = keras.Input(IMAGE_SHAPE, name="image")
    x = layers.Conv2D(width, 3, strides=2, padding="same", activation="relu")(image)
    x = layers.Conv2D(width * 2, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Dense(256, activation="relu")(layers.Flatten()(x))
    return keras.Model(image, [layers.Dense(latent_dim, name="mean")(x), layers.Dense(latent_dim, name="log_var")(x)],
                       name=name)


def build_decoder(latent_dim: int, width: int = 32, name="decoder") -> keras.Model:
    """z -> Bernoulli logits of every pixel, p(x | z).

    Kept light (about 2M multiply-adds per image): the importance-weighted estimate decodes every
    held-out image k times, 200,000 decodes for 2,000 images and k = 100.
    """
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(256, activation="relu")(z)
    x = layers.Dense(7 * 7 * width * 2, activation="relu")(x)
    x = layers.Reshape((7, 7, width * 2))(x)
    x = layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu")(x)
    return keras.Model(z, layers.Conv2DTranspose(1, 3, strides=2, padding="same", name="logits")(x), name=name)


class VAE(keras.Model):
    """Encoder q(z|x), decoder p(x|z), prior N(0, I). ``fit`` on gray images in [0, 1]: each batch is
    binarised afresh; the loss is the negative ELBO -E_q[log p(x|z)] + beta KL(q(z|x) || p(z)) in nats per
    image, and ``reconstruction``, ``kl`` and ``loss`` are logged (validation data: already binary).

    ``for_check``: the same networks, but no random draw in a training step: the images are binarised at
    1/2 and the eps of z = mean + sigma * eps is computed from each image (``example_noise``), so a step is
    the same however the batch is split over replicas (``aigc_course.distribute``)."""

    value_range = (0.0, 1.0)  # what sample() and decode() return (pixel probabilities)

    def __init__(self, latent_dim: int = 16, beta: float = 1.0, width: int = 32, seed: int = 0,
                 for_check: bool = False, **kwargs):
        super().__init__(**kwargs)
        if beta <= 0:
            raise ValueError(f"beta={beta}: the KL weight must be > 0 (1 is the true ELBO)")
        self.latent_dim, self.beta, self.width = latent_dim, beta, width
        self.for_check = for_check
        self.encoder = build_encoder(latent_dim, width)
        self.decoder = build_decoder(latent_dim, width)
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "reconstruction", "kl")}

    @property
    def metrics(self):
        return list(self.trackers.values())

    def build(self, input_shape=None):
        mean, _ = self.encoder(ops.zeros((1, *IMAGE_SHAPE)))
        self.decoder(mean)
        self.built = True

    def call(self, images, training=False):
        """Reconstruction logits for ``images`` (one sample of z)."""
        mean, log_var = self.encoder(images, training=training)
        return self.decoder(reparameterize(mean, log_var, self.noise_seed), training=training)

    def elbo_terms(self, binary_images, training=False):
        """(reconstruction = -log p(x|z) with one z ~ q, kl), each per image."""
        mean, log_var = self.encoder(binary_images, training=training)
        if self.for_check:  # eps a fixed function of each image instead of a draw
            z = mean + ops.exp(0.5 * log_var) * example_noise(binary_images, self.latent_dim)
        else:
            z = reparameterize(mean, log_var, self.noise_seed)
        logits = self.decoder(z, training=training)
        return -bernoulli_log_likelihood(binary_images, logits), kl_diagonal_gaussians(mean, log_var)

    def _step(self, binary_images, training, mean=ops.mean):
        """(loss, reconstruction, kl): ``mean`` averages the loss over the batch (``train_step`` passes
        ``global_mean``: over all replicas' batches)."""
        reconstruction, kl = self.elbo_terms(binary_images, training=training)
        loss = mean(reconstruction + self.beta * kl)
        return loss, reconstruction, kl

    def _update(self, loss, reconstruction, kl):
        self.trackers["loss"].update_state(loss)
        self.trackers["reconstruction"].update_state(ops.mean(reconstruction))
        self.trackers["kl"].update_state(ops.mean(kl))
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data):
        import tensorflow as tf

        images = data[0] if isinstance(data, (tuple, list)) else data
        if self.for_check:
            binary = ops.cast(images > 0.5, "float32")
        else:
            binary = ops.cast(keras.random.uniform(ops.shape(images), seed=self.noise_seed) < images, "float32")
        with tf.GradientTape() as tape:
            loss, reconstruction, kl = self._step(binary, training=True, mean=global_mean)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self._update(per_replica_value(loss), reconstruction, kl)

    def test_step(self, data):
        images = data[0] if isinstance(data, (tuple, list)) else data
        return self._update(*self._step(ops.cast(images, "float32"), training=False))

    def sample(self, n: int, seed: int = 0, mean_image: bool = True) -> np.ndarray:
        """``n`` images decoded from z ~ N(0, I): pixel probabilities (``mean_image``) or 0/1 samples."""
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype("float32")
        return self.decode(z, mean_image, seed)

    def decode(self, z, mean_image: bool = True, seed: int = 0) -> np.ndarray:
        probabilities = np.asarray(ops.sigmoid(self.decoder(np.asarray(z, "float32"))))
        if mean_image:
            return probabilities
        return (np.random.default_rng(seed).random(probabilities.shape) < probabilities).astype("float32")

    def encode(self, images) -> tuple[np.ndarray, np.ndarray]:
        mean, log_var = self.encoder(np.asarray(images, "float32"))
        return np.asarray(mean), np.asarray(log_var)


def _log_weights(vae: VAE, binary_images, k: int, rng: np.random.Generator):
    """log p(x, z_i) - log q(z_i | x) for k samples z_i ~ q(z | x): shape (N, k)."""
    mean, log_var = vae.encoder(binary_images)
    n = binary_images.shape[0]
    eps = rng.standard_normal((k, n, vae.latent_dim)).astype("float32")
    z = ops.expand_dims(mean, 0) + ops.exp(0.5 * ops.expand_dims(log_var, 0)) * eps  # (k, N, d)
    flat_z = ops.reshape(z, (k * n, vae.latent_dim))
    logits = vae.decoder(flat_z)
    repeated = ops.reshape(ops.broadcast_to(ops.expand_dims(binary_images, 0), (k, *binary_images.shape)),
                           (k * n, *IMAGE_SHAPE))
    log_px_z = ops.reshape(bernoulli_log_likelihood(repeated, logits), (k, n))
    log_pz = gaussian_log_density(z, 0.0, 0.0)
    log_qz = gaussian_log_density(z, ops.expand_dims(mean, 0), ops.expand_dims(log_var, 0))
    return ops.transpose(log_px_z + log_pz - log_qz)


def evaluate_bounds(vae: VAE, binary_images, k: int = 100, batch_size: int = 100, seed: int = 0) -> dict:
    """Per-image averages (nats) on already binary images, from the same k samples z_i ~ q(z | x) with
    weights w_i = p(x, z_i) / q(z_i | x): ``negative_elbo`` = -mean_i log w_i (Monte Carlo) and ``iw_nll``
    = -log mean_i w_i, the importance-weighted bound: never larger (Jensen), and it tends to -log p(x) as
    k grows."""
    rng = np.random.default_rng(seed)
    binary_images = np.asarray(binary_images, "float32")
    elbos, iw = [], []
    for start in range(0, len(binary_images), batch_size):
        batch = binary_images[start:start + batch_size]
        log_w = np.asarray(_log_weights(vae, batch, k, rng), dtype="float64")
        elbos.append(log_w.mean(axis=1))
        peak = log_w.max(axis=1, keepdims=True)
        iw.append((peak + np.log(np.exp(log_w - peak).mean(axis=1, keepdims=True)))[:, 0])
    elbo, log_px = np.concatenate(elbos), np.concatenate(iw)
    return {"negative_elbo": float(-elbo.mean()), "iw_nll": float(-log_px.mean()), "iw_samples": k,
            "images": len(binary_images)}


def train_vae(vae: VAE, data, epochs: int, run_dir, name: str, batch_size: int = 128, learning_rate=1e-3,
              seed: int = 0, steps_per_epoch: int | None = None, callbacks=(), verbose="auto") -> dict:
    """Train on ``data.x_train`` (dynamic binarisation) with validation on a fixed binarisation of
    ``data.x_val`` (seed 0), cosine-decayed Adam, resumably. Returns the ``fit_resumable`` result."""
    import tensorflow as tf

    from aigc_course.data.images import image_pipeline
    from aigc_course.training import fit_resumable, warmup_cosine

    train = image_pipeline(data.x_train, batch_size=batch_size, value_range="unit", seed=seed, drop_remainder=True)
    if steps_per_epoch:
        train = train.take(steps_per_epoch)
    val = tf.data.Dataset.from_tensor_slices(binarize(data.x_val, seed=0)).batch(500)
    steps = max(1, epochs * (steps_per_epoch or len(data.x_train) // batch_size))
    vae.compile(optimizer=keras.optimizers.Adam(warmup_cosine(learning_rate, steps, final_ratio=0.05)))
    return fit_resumable(vae, train, epochs, run_dir, name, validation_data=val, callbacks=callbacks,
                         verbose=verbose)
