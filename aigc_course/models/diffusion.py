"""Denoising diffusion (DDPM, Ho et al. 2020) with DDIM sampling (Song et al. 2021) and classifier-free
guidance (Ho & Salimans 2022), for 28x28 gray images in [-1, 1].

Forward process: q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I), abar_t = prod_{s<=t} (1 - beta_s).
The network predicts the noise eps in x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps; training minimises
||eps - eps_theta(x_t, t, y)||^2 with t uniform in 1..T. Timesteps are 1-based as in the paper: index 0
of the schedule arrays is t = 0 (no noise, abar_0 = 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
from keras import layers, ops

from aigc_course.distribute import example_index, example_noise, global_mean, per_replica_value
from aigc_course.errors import SettingsError

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10  # the label NUM_CLASSES means "no label" (the unconditional model of classifier-free guidance)


# --- the noise schedule -------------------------------------------------------------------------------

@dataclass(frozen=True)
class NoiseSchedule:
    """beta_1..beta_T and what follows from them, as float64 arrays indexed by t = 0..T (t = 0: clean)."""

    betas: np.ndarray  # (T + 1,), betas[0] = 0

    @classmethod
    def linear(cls, steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> "NoiseSchedule":
        """DDPM's schedule: beta rises linearly from 1e-4 to 0.02 over 1,000 steps."""
        return cls(np.concatenate([[0.0], np.linspace(beta_start, beta_end, steps, dtype=np.float64)]))

    @classmethod
    def cosine(cls, steps: int = 1000, offset: float = 0.008, max_beta: float = 0.999) -> "NoiseSchedule":
        """Nichol & Dhariwal (2021): abar_t = f(t)/f(0), f(t) = cos^2((t/T + s)/(1 + s) * pi/2); betas clipped."""
        f = np.cos((np.arange(steps + 1, dtype=np.float64) / steps + offset) / (1 + offset) * math.pi / 2) ** 2
        alpha_bars = f / f[0]
        betas = np.clip(1 - alpha_bars[1:] / alpha_bars[:-1], 0, max_beta)
        return cls(np.concatenate([[0.0], betas]))

    @classmethod
    def named(cls, name: str, steps: int = 1000) -> "NoiseSchedule":
        if name not in ("linear", "cosine"):
            raise ValueError(f"unknown noise schedule {name!r}: use 'linear' or 'cosine'")
        return getattr(cls, name)(steps)

    @property
    def steps(self) -> int:
        return len(self.betas) - 1

    @property
    def alphas(self) -> np.ndarray:
        return 1.0 - self.betas

    @property
    def alpha_bars(self) -> np.ndarray:
        return np.cumprod(self.alphas)

    @property
    def signal_to_noise(self) -> np.ndarray:
        """SNR(t) = abar_t / (1 - abar_t) (infinite at t = 0)."""
        with np.errstate(divide="ignore"):
            return self.alpha_bars / (1.0 - self.alpha_bars)

    def posterior(self, t):
        """Coefficients of q(x_{t-1} | x_t, x_0) = N(c0 x_0 + ct x_t, var), for t >= 1:
        c0 = sqrt(abar_{t-1}) beta_t / (1 - abar_t), ct = sqrt(alpha_t) (1 - abar_{t-1}) / (1 - abar_t),
        var = beta_t (1 - abar_{t-1}) / (1 - abar_t). Returns (c0, ct, var) as arrays shaped like ``t``."""
        t = np.asarray(t)
        if np.any(t < 1) or np.any(t > self.steps):
            raise ValueError(f"t must lie in 1..{self.steps}")
        abar, abar_prev = self.alpha_bars[t], self.alpha_bars[t - 1]
        beta = self.betas[t]
        return (np.sqrt(abar_prev) * beta / (1 - abar), np.sqrt(self.alphas[t]) * (1 - abar_prev) / (1 - abar),
                beta * (1 - abar_prev) / (1 - abar))


def q_sample(x0, t, noise, alpha_bars):
    """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, in one step (the closed form of the forward process).
    ``t``: (batch,) integer steps; ``alpha_bars``: the schedule's (T + 1,) table (NumPy or tensor)."""
    abar = ops.reshape(ops.take(ops.convert_to_tensor(alpha_bars, "float32"), t), (-1, 1, 1, 1))
    return ops.sqrt(abar) * x0 + ops.sqrt(1.0 - abar) * noise


# --- the network: a small U-Net with a time (and label) embedding -------------------------------------

def timestep_embedding(t, dim: int):
    """Sinusoidal features of the (float) timestep, (batch,) -> (batch, dim), as positions in a Transformer."""
    half = dim // 2
    frequencies = ops.exp(-math.log(10000.0) * ops.arange(half, dtype="float32") / half)
    angles = ops.cast(ops.reshape(t, (-1, 1)), "float32") * frequencies[None, :]
    return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)


def _residual_block(x, condition, width: int, name: str):
    """GroupNorm-swish-conv; then GroupNorm whose scale and shift come from the condition (time + label), as in
    the "AdaGN" of Dhariwal & Nichol (2021); swish-conv; added to the input (1x1 conv when the width changes).
    A multiplicative condition lets the label steer the features far more than an added bias does."""
    skip = x if x.shape[-1] == width else layers.Conv2D(width, 1, name=f"{name}_skip")(x)
    h = layers.Conv2D(width, 3, padding="same", name=f"{name}_conv1")(
        layers.Activation("swish")(layers.GroupNormalization(8, name=f"{name}_norm1")(x)))
    scale_shift = layers.Dense(2 * width, name=f"{name}_condition")(condition)
    scale = layers.Reshape((1, 1, width))(scale_shift[:, :width])
    shift = layers.Reshape((1, 1, width))(scale_shift[:, width:])
    h = layers.GroupNormalization(8, name=f"{name}_norm2")(h) * (1.0 + scale) + shift
    h = layers.Conv2D(width, 3, padding="same", name=f"{name}_conv2", kernel_initializer="zeros")(
        layers.Activation("swish")(h))
    return skip + h


def build_unet(widths=(24, 48, 96), embedding_dim: int = 128, name: str = "unet") -> keras.Model:
    """(noisy images (N, 28, 28, 1), timesteps (N,), labels (N,) in 0..10 with 10 = none) -> predicted noise.

    Resolutions 28 -> 14 -> 7 with one residual block per level on the way down and up (skip connections
    concatenated), one in the middle. The timestep and the label are embedded, summed and given to every
    block as a scale and shift of its features; the last convolutions of each block start at zero so the
    network starts as the identity on its residual paths."""
    images = keras.Input(IMAGE_SHAPE, name="noisy_images")
    timesteps = keras.Input((), name="timesteps")
    labels = keras.Input((), dtype="int32", name="labels")
    condition = layers.Lambda(lambda t: timestep_embedding(t, embedding_dim), name="time_features")(timesteps)
    condition = layers.Dense(embedding_dim, activation="swish", name="time_dense1")(condition)
    condition = layers.Dense(embedding_dim, name="time_dense2")(condition)
    condition = condition + layers.Embedding(NUM_CLASSES + 1, embedding_dim, name="label_embedding")(labels)
    condition = layers.Activation("swish")(condition)

    x = layers.Conv2D(widths[0], 3, padding="same", name="stem")(images)
    skips = []
    for level, width in enumerate(widths):
        x = _residual_block(x, condition, width, f"down{level}")
        skips.append(x)
        if level < len(widths) - 1:
            x = layers.Conv2D(widths[level + 1], 3, strides=2, padding="same", name=f"downsample{level}")(x)
    x = _residual_block(x, condition, widths[-1], "middle")
    for level in reversed(range(len(widths))):
        x = _residual_block(layers.Concatenate()([x, skips[level]]), condition, widths[level], f"up{level}")
        if level > 0:
            x = layers.UpSampling2D(2, interpolation="nearest")(x)
            x = layers.Conv2D(widths[level - 1], 3, padding="same", name=f"upsample{level}")(x)
    x = layers.Activation("swish")(layers.GroupNormalization(8, name="out_norm")(x))
    noise = layers.Conv2D(1, 3, padding="same", kernel_initializer="zeros", name="out")(x)
    return keras.Model([images, timesteps, labels], noise, name=name)


# --- the model: training step with the eps loss, EMA weights, samplers --------------------------------

@keras.saving.register_keras_serializable(package="aigc_course")
class DiffusionModel(keras.Model):
    """A U-Net trained to predict the noise, with an exponential moving average (EMA) of its weights that
    the samplers use. ``fit`` on images in [-1, 1] (and labels, for guidance): each step draws t uniformly
    in 1..T and fresh noise, and with probability ``label_dropout`` replaces the label by "none", so one
    network learns both p(x | y) and p(x) (classifier-free guidance). Logs ``loss`` (the mean squared error
    of the predicted noise).

    ``for_check``: the same networks, but no random draw in a training step: t and the noise are computed
    from each image (``example_index``, ``example_noise``) and labels are never dropped, so a step is the
    same however the batch is split over replicas (``aigc_course.distribute``)."""

    value_range = (-1.0, 1.0)  # what sample() returns: for plotting and the judge

    def __init__(self, schedule: str = "cosine", steps: int = 1000, widths=(24, 48, 96), label_dropout: float = 0.2,
                 ema_decay: float = 0.999, seed: int = 0, min_snr_gamma: float | None = None, for_check: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        if not 0 <= label_dropout <= 1:
            raise ValueError(f"label_dropout={label_dropout} must lie in [0, 1]")
        if min_snr_gamma is not None and min_snr_gamma <= 0:
            raise ValueError(f"min_snr_gamma={min_snr_gamma} must be positive (or None for the plain eps loss)")
        if for_check:
            label_dropout = 0.0
        self.for_check = for_check
        self.min_snr_gamma = min_snr_gamma
        self.schedule_name, self.widths = schedule, tuple(widths)
        self.label_dropout, self.ema_decay = label_dropout, ema_decay
        self.schedule = NoiseSchedule.named(schedule, steps)
        self.alpha_bars = ops.convert_to_tensor(self.schedule.alpha_bars, "float32")
        self.network = build_unet(self.widths, name="network")
        self.ema_network = build_unet(self.widths, name="ema_network")
        self.ema_network.trainable = False  # updated by averaging, not by the optimizer
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self._sampler = None  # made on first use, so its compiled steps are reused across calls

    @property
    def metrics(self):
        return [self.loss_tracker]

    def build(self, input_shape=None):
        for network in (self.network, self.ema_network):
            network([ops.zeros((1, *IMAGE_SHAPE)), ops.zeros((1,)), ops.zeros((1,), "int32")])
        for ema, weight in zip(self.ema_network.weights, self.network.weights):
            ema.assign(weight)
        self.built = True

    def call(self, inputs, training=False):
        """Predicted noise for (x_t, t, labels) from the trained (non-EMA) network."""
        return self.network(inputs, training=training)

    def _unpack(self, data):
        if isinstance(data, (tuple, list)):
            images, labels = data[0], data[1] if len(data) > 1 else None
        else:
            images, labels = data, None
        if labels is None:
            labels = ops.full((ops.shape(images)[0],), NUM_CLASSES, "int32")
        return images, ops.cast(labels, "int32")

    def noise_prediction_loss(self, images, labels, training=False, mean=ops.mean):
        """Draw t and eps, noise the images in closed form and return the mean squared noise error
        (``mean``: over the batch; ``train_step`` passes ``global_mean``, over all replicas' batches)."""
        batch = ops.shape(images)[0]
        if self.for_check:  # no draws: t and eps are fixed functions of each image
            t, noise = 1 + example_index(images, self.schedule.steps), example_noise(images, IMAGE_SHAPE)
        else:
            t = keras.random.randint((batch,), 1, self.schedule.steps + 1, seed=self.noise_seed)
            noise = keras.random.normal(ops.shape(images), seed=self.noise_seed)
        if training and self.label_dropout > 0:
            drop = keras.random.uniform((batch,), seed=self.noise_seed) < self.label_dropout
            labels = ops.where(drop, NUM_CLASSES, labels)
        noisy = q_sample(images, t, noise, self.alpha_bars)
        predicted = self.network([noisy, ops.cast(t, "float32"), labels], training=training)
        errors = ops.mean(ops.square(noise - predicted), axis=(1, 2, 3))
        if training and self.min_snr_gamma is not None:
            errors = errors * self.loss_weights(t)
        return mean(errors)

    def loss_weights(self, t):
        """Min-SNR-gamma weights min(SNR_t, gamma) / SNR_t (Hang et al., 2023): the easy, nearly clean steps
        count less, so the noisy steps where the digit's class is decided get a fair share of the gradient."""
        abar = ops.take(self.alpha_bars, t)
        snr = abar / (1.0 - abar)
        return ops.minimum(snr, self.min_snr_gamma) / snr

    def train_step(self, data):
        import tensorflow as tf

        images, labels = self._unpack(data)
        with tf.GradientTape() as tape:
            loss = self.noise_prediction_loss(images, labels, training=True, mean=global_mean)
        gradients = tape.gradient(loss, self.network.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.network.trainable_weights))
        # EMA with a warm-up: early on the average follows the weights closely (decay (1+n)/(10+n))
        step = ops.cast(self.optimizer.iterations, "float32")
        decay = ops.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        for ema, weight in zip(self.ema_network.weights, self.network.weights):
            ema.assign(decay * ema + (1.0 - decay) * weight)
        self.loss_tracker.update_state(per_replica_value(loss))
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        images, labels = self._unpack(data)
        self.loss_tracker.update_state(self.noise_prediction_loss(images, labels))
        return {"loss": self.loss_tracker.result()}

    def get_config(self):
        return {**super().get_config(), "schedule": self.schedule_name, "steps": self.schedule.steps,
                "widths": list(self.widths), "label_dropout": self.label_dropout, "ema_decay": self.ema_decay,
                "min_snr_gamma": self.min_snr_gamma, "for_check": self.for_check}

    # --- sampling -------------------------------------------------------------------------------------
    def sample(self, n: int, steps: int = 50, eta: float = 0.0, labels=None, guidance: float = 0.0,
               seed: int = 0, batch_size: int = 250, trajectory_every: int | None = None, timesteps=None):
        """``n`` images in [-1, 1] (N, 28, 28, 1) from pure noise in ``steps`` denoising steps.

        ``eta=0``: DDIM (deterministic given the starting noise); ``eta=1`` with ``steps=T``: DDPM's
        ancestral sampling. ``labels`` (N,) asks for digits; ``guidance`` w mixes the predictions as
        eps_none + (1 + w) (eps_label - eps_none) (w = 0: the conditional model alone, one pass per step;
        no labels: the unconditional model p(x)).
        With ``trajectory_every=k`` also returns the intermediate x_t every k steps (first batch only).
        ``timesteps`` (e.g. ``[1000, 900, ..., 1]``, decreasing) replaces the ``steps`` evenly spaced ones.
        """
        if self._sampler is None:
            self._sampler = DiffusionSampler(self)
        return self._sampler.sample(n, steps, eta, labels, guidance, seed, batch_size, trajectory_every, timesteps)


def sampling_timesteps(total: int, steps: int) -> np.ndarray:
    """``steps`` timesteps from T down to 1, evenly spaced ("uniform skipping" of the DDIM paper), then 0."""
    if not 1 <= steps <= total:
        raise SettingsError(f"steps must lie in 1..{total}, got {steps}")
    times = np.unique(np.round(np.linspace(1, total, steps)).astype(int))[::-1]
    return np.concatenate([times, [0]])


def custom_timesteps(timesteps, total: int) -> np.ndarray:
    """A chosen sampling path: integers in 1..``total``, strictly decreasing, then 0 appended."""
    times = np.asarray(timesteps)
    if times.ndim != 1 or len(times) == 0 or not np.all(times == np.round(times)):
        raise SettingsError(f"timesteps must be a 1-D list of whole numbers, got {timesteps!r}")
    times = times.astype(int)
    if times.min() < 1 or times.max() > total or np.any(np.diff(times) >= 0):
        raise SettingsError(f"timesteps must lie in 1..{total} and strictly decrease, got {times.tolist()}")
    return np.concatenate([times, [0]])


class DiffusionSampler:
    """DDIM / DDPM sampling loop over the EMA network; each step is one XLA-compiled function."""

    def __init__(self, model: DiffusionModel):
        import tensorflow as tf

        self.model = model
        self._step = tf.function(self._denoise, jit_compile=True, reduce_retracing=True)

    def _denoise(self, x, t, t_prev, labels, guidance, eta, noise, guided: bool):
        """One step x_t -> x_{t_prev} (generalised DDIM update, x_0 estimate clipped to [-1, 1])."""
        x, labels = ops.convert_to_tensor(x, "float32"), ops.convert_to_tensor(labels, "int32")
        abar, abar_prev = ops.take(self.model.alpha_bars, t), ops.take(self.model.alpha_bars, t_prev)
        batch = ops.shape(x)[0]
        times = ops.full((batch,), ops.cast(t, "float32"))
        if guided:  # one pass over [with label; without label]
            none = ops.full((batch,), NUM_CLASSES, "int32")
            both = self.model.ema_network([ops.concatenate([x, x]), ops.concatenate([times, times]),
                                           ops.concatenate([labels, none])])
            eps_label, eps_none = both[:batch], both[batch:]
            eps = eps_none + (1.0 + guidance) * (eps_label - eps_none)
        else:
            eps = self.model.ema_network([x, times, labels])
        x0 = ops.clip((x - ops.sqrt(1.0 - abar) * eps) / ops.sqrt(abar), -1.0, 1.0)
        eps = (x - ops.sqrt(abar) * x0) / ops.sqrt(1.0 - abar)  # the noise consistent with the clipped x0
        sigma = eta * ops.sqrt((1.0 - abar_prev) / (1.0 - abar) * (1.0 - abar / abar_prev))
        direction = ops.sqrt(ops.maximum(1.0 - abar_prev - sigma ** 2, 0.0)) * eps
        return ops.sqrt(abar_prev) * x0 + direction + sigma * noise, x0

    def sample(self, n, steps=50, eta=0.0, labels=None, guidance=0.0, seed=0, batch_size=250,
               trajectory_every=None, timesteps=None):
        import tensorflow as tf

        guided = labels is not None and guidance != 0.0
        if labels is None:
            labels = np.full(n, NUM_CLASSES)
        labels = np.asarray(labels, dtype="int32").reshape(-1)
        if len(labels) != n or labels.min() < 0 or labels.max() > NUM_CLASSES:
            raise SettingsError(f"need {n} labels in 0..{NUM_CLASSES - 1} (or {NUM_CLASSES} for none)")
        times = sampling_timesteps(self.model.schedule.steps, steps) if timesteps is None else \
            custom_timesteps(timesteps, self.model.schedule.steps)
        rng = np.random.default_rng(seed)
        images, trajectory = [], []
        for start in range(0, n, batch_size):
            count = min(batch_size, n - start)
            x = rng.standard_normal((count, *IMAGE_SHAPE)).astype("float32")
            chunk = tf.constant(labels[start:start + count])
            for index, (t, t_prev) in enumerate(zip(times[:-1], times[1:])):
                noise = rng.standard_normal(x.shape).astype("float32") if eta > 0 else np.zeros_like(x)
                x, _ = self._step(x, tf.constant(t, tf.int32), tf.constant(t_prev, tf.int32), chunk,
                                  tf.constant(guidance, tf.float32), tf.constant(eta, tf.float32), noise, guided)
                if trajectory_every and start == 0 and (index % trajectory_every == 0 or t_prev == 0):
                    trajectory.append((int(t_prev), np.asarray(x)))
            images.append(np.asarray(x))
        images = np.concatenate(images)
        return (images, trajectory) if trajectory_every else images


def train_diffusion(model: DiffusionModel, data, epochs: int, run_dir, name: str, batch_size: int = 64,
                    learning_rate: float = 1e-3, seed: int = 0, steps_per_epoch: int | None = None,
                    callbacks=(), verbose="auto") -> dict:
    """Train on ``data.x_train`` with its labels (scaled to [-1, 1], shuffled), validation
    loss on ``data.x_val``; Adam with warm-up and cosine decay, XLA-compiled step, resumable."""
    import tensorflow as tf

    from aigc_course.data.images import scale_images
    from aigc_course.runtime import keras_xla_allowed
    from aigc_course.training import fit_resumable, warmup_cosine

    x_train = scale_images(data.x_train, "symmetric")
    train = (tf.data.Dataset.from_tensor_slices((x_train, data.y_train.astype("int32")))
             .shuffle(len(x_train), seed=seed).batch(batch_size, drop_remainder=True))
    if steps_per_epoch:
        train = train.take(steps_per_epoch)
    train = train.prefetch(2)
    val = tf.data.Dataset.from_tensor_slices((scale_images(data.x_val, "symmetric"),
                                              data.y_val.astype("int32"))).batch(500)
    total = max(1, epochs * (steps_per_epoch or len(x_train) // batch_size))
    warmup = min(200, max(total // 10, 1))
    schedule = warmup_cosine(learning_rate, total, warmup, final_ratio=0.05)
    with keras_xla_allowed():
        model.compile(optimizer=keras.optimizers.Adam(schedule, global_clipnorm=1.0), jit_compile=True)
    return fit_resumable(model, train, epochs, run_dir, name, validation_data=val, callbacks=callbacks,
                         verbose=verbose)
