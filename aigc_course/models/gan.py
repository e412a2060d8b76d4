"""GANs for 28x28 images: the articles' MLP GAN (made to work), a DCGAN, a class-conditional DCGAN, and
an InfoGAN-regularised DCGAN (an unconditional DCGAN with a categorical code; no labels used).

Images are in [-1, 1] (the generator ends in tanh). The discriminator returns a logit, never a
probability: the losses below are computed from logits, which is numerically stable.
"""

from __future__ import annotations

import time

import keras
import numpy as np
from keras import layers, ops

from aigc_course.distribute import example_index, example_noise, global_mean, per_replica_value
from aigc_course.errors import SettingsError

IMAGE_SHAPE = (28, 28, 1)
LATENT_DIM = 100


# ----------------------------------------------------------------------------------------------- losses
def bce_with_logits(labels, logits):
    """Binary cross-entropy -[y log s(l) + (1-y) log(1-s(l))] from logits l, per element."""
    return labels * ops.softplus(-logits) + (1.0 - labels) * ops.softplus(logits)


def discriminator_loss(real_logits, fake_logits, real_label: float = 1.0, mean=ops.mean):
    """-E[log D(x)] - E[log(1 - D(G(z)))]: the negative of the value V(D, G) that D maximises.

    ``real_label`` < 1 is one-sided label smoothing (e.g. 0.9): the real target is softened, the fake not.
    ``mean`` averages over the batch (``train_step`` passes ``global_mean``: over all replicas' batches).
    """
    real = bce_with_logits(real_label * ops.ones_like(real_logits), real_logits)
    fake = bce_with_logits(ops.zeros_like(fake_logits), fake_logits)
    return mean(real) + mean(fake)


def generator_loss(fake_logits, kind: str = "non_saturating", mean=ops.mean):
    """What G minimises. ``minimax``: E[log(1 - D(G(z)))], the game as written, whose gradient vanishes
    when D confidently rejects the fakes; ``non_saturating``: -E[log D(G(z))], the same fixed point with
    strong gradients early on (Goodfellow et al. 2014, section 3)."""
    if kind == "non_saturating":
        return mean(ops.softplus(-fake_logits))
    if kind == "minimax":
        return -mean(ops.softplus(fake_logits))
    raise ValueError(f"unknown generator loss {kind!r}; choose 'non_saturating' or 'minimax'")


# ----------------------------------------------------------------------------------------------- networks
def _label_input(num_classes):
    return None if num_classes is None else keras.Input((), dtype="int32", name="label")


def build_mlp_generator(latent_dim: int = LATENT_DIM, name="mlp_generator") -> keras.Model:
    """Article 003's generator, with its 784 outputs reshaped to an image (article 002's Dense(1024)
    cannot be reshaped to 28x28)."""
    noise = keras.Input((latent_dim,), name="noise")
    x = noise
    for units in (256, 512, 1024):
        x = layers.LeakyReLU(0.2)(layers.Dense(units)(x))
    x = layers.Dense(int(np.prod(IMAGE_SHAPE)), activation="tanh")(x)
    return keras.Model(noise, layers.Reshape(IMAGE_SHAPE)(x), name=name)


def build_mlp_discriminator(dropout: float = 0.3, name="mlp_discriminator") -> keras.Model:
    """Article 003's discriminator (784-1024-512-256-1, a logit), with dropout against memorising."""
    image = keras.Input(IMAGE_SHAPE, name="image")
    x = layers.Flatten()(image)
    for units in (1024, 512, 256):
        x = layers.Dropout(dropout)(layers.LeakyReLU(0.2)(layers.Dense(units)(x)))
    return keras.Model(image, layers.Dense(1, name="logit")(x), name=name)


def build_dcgan_generator(latent_dim: int = LATENT_DIM, num_classes: int | None = None, width: int = 64,
                          name="dcgan_generator", synchronized: bool = False) -> keras.Model:
    """Noise (and a class label) -> Dense 7x7xwidth -> two stride-2 transposed convolutions -> 28x28x1.

    Article 000 section 5.2 starts the same design (TensorFlow's DCGAN tutorial) and breaks off; this one
    is narrower (width 64 instead of 256, 4x4 kernels) so that an epoch takes seconds on a CPU.
    ``synchronized``: batch normalisation over the global batch of all replicas (same weights, more traffic).
    """
    noise = keras.Input((latent_dim,), name="noise")
    label = _label_input(num_classes)
    x = noise if label is None else layers.Concatenate()([noise, layers.Embedding(num_classes, 32)(label)])
    x = layers.Dense(7 * 7 * width, use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization(synchronized=synchronized)(x))
    x = layers.Reshape((7, 7, width))(x)
    x = layers.Conv2DTranspose(width // 2, 4, strides=2, padding="same", use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization(synchronized=synchronized)(x))
    image = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")(x)
    return keras.Model(noise if label is None else [noise, label], image, name=name)


def build_dcgan_discriminator(num_classes: int | None = None, width: int = 32, dropout: float = 0.3,
                              codes: int | None = None, name="dcgan_discriminator") -> keras.Model:
    """28x28x1 (and a label) -> two stride-2 convolutions -> a logit.

    The conditional version is a projection discriminator (Miyato & Koyama 2018): the logit gets the
    extra term <embedding(label), features>, so D judges "is this a real image *of this class*".
    With ``codes`` (InfoGAN) the network has a second output: Q's logits over the ``codes`` categories,
    computed from the same features.
    """
    if codes is not None and num_classes is not None:
        raise ValueError("a discriminator is either class-conditional (num_classes) or has an InfoGAN code "
                         "head (codes), not both")
    image = keras.Input(IMAGE_SHAPE, name="image")
    label = _label_input(num_classes)
    x = layers.LeakyReLU(0.2)(layers.Conv2D(width, 4, strides=2, padding="same")(image))
    x = layers.LeakyReLU(0.2)(layers.Conv2D(width * 2, 4, strides=2, padding="same")(x))
    features = layers.Dropout(dropout)(layers.Flatten()(x))
    logit = layers.Dense(1, name="logit")(features)
    if codes is not None:
        hidden = layers.LeakyReLU(0.2)(layers.Dense(128, name="q_hidden")(features))
        return keras.Model(image, [logit, layers.Dense(codes, name="code_logits")(hidden)], name=name)
    if label is None:
        return keras.Model(image, logit, name=name)
    embedded = layers.Embedding(num_classes, 7 * 7 * width * 2)(label)
    projection = ops.sum(embedded * features, axis=-1, keepdims=True)
    return keras.Model([image, label], layers.Add()([logit, projection]), name=name)


# ----------------------------------------------------------------------------------------------- the game
class GAN(keras.Model):
    """A generator and a discriminator trained against each other by ``fit``.

    ``fit`` takes images in [-1, 1], or (images, labels) batches; labels are used when the networks are
    class-conditional (``num_classes`` set). Each step: one update of D on a real and a fake batch, then
    one update of G on fresh noise. Logged per step: both losses, and D's mean output on real images
    (``d_real`` = D(x)) and on fakes (``d_fake`` = D(G(z))).

    ``for_check``: the noise of a step is not drawn but computed from each real image (``example_noise``),
    so a step is the same however the batch is split over replicas (``aigc_course.distribute``).
    """

    value_range = (-1.0, 1.0)  # what sample() returns (tanh outputs): for plotting and the judge

    def __init__(self, generator: keras.Model, discriminator: keras.Model, latent_dim: int = LATENT_DIM,
                 num_classes: int | None = None, seed: int = 0, for_check: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.for_check = for_check
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss", "d_real", "d_fake")}

    def compile(self, d_optimizer=None, g_optimizer=None, real_label: float = 1.0,
                g_loss: str = "non_saturating", **kwargs):
        """Adam(2e-4, beta_1=0.5) for both by default, the DCGAN paper's setting."""
        generator_loss(ops.zeros((1, 1)), g_loss)  # fail now on a misspelt loss, not in the first step
        if not 0.5 < real_label <= 1.0:
            raise ValueError(f"real_label={real_label}: use 1.0, or a value a little below 1 (e.g. 0.9) "
                             "for one-sided label smoothing")
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.real_label, self.g_loss_kind = real_label, g_loss

    @property
    def metrics(self):
        return list(self.trackers.values())

    def build(self, input_shape=None):
        noise = ops.zeros((1, self.latent_dim))
        labels = None if self.num_classes is None else ops.zeros((1,), dtype="int32")
        images = self.generator(noise if self.num_classes is None else [noise, labels])
        self.discriminator_logits(images, labels)
        self.built = True

    def build_optimizer_state(self):
        """Create both optimizers' variables (so that a saved training state can be loaded into them)."""
        if not self.d_optimizer.built:
            self.d_optimizer.build(self.discriminator.trainable_variables)
        if not self.g_optimizer.built:
            self.g_optimizer.build(self.generator.trainable_variables)

    def call(self, noise, labels=None, training=False):
        inputs = noise if self.num_classes is None else [noise, labels]
        return self.generator(inputs, training=training)

    def discriminator_logits(self, images, labels=None, training=False):
        inputs = images if self.num_classes is None else [images, labels]
        return self.discriminator(inputs, training=training)

    def _unpack(self, data):
        images, labels = (data if isinstance(data, (tuple, list)) else (data, None))[:2]
        if self.num_classes is not None and labels is None:
            raise ValueError("a conditional GAN needs (images, labels) batches")
        return images, (None if self.num_classes is None else ops.cast(labels, "int32"))

    def _noise(self, real, draw: int):
        """The latent noise of a step's ``draw`` (0: D's update, 1: G's), one row per real image: drawn at
        random, or in check mode computed from each image."""
        if self.for_check:
            return example_noise(real, self.latent_dim, salt=draw)
        return keras.random.normal((ops.shape(real)[0], self.latent_dim), seed=self.noise_seed)

    def train_step(self, data):
        import tensorflow as tf

        real, labels = self._unpack(data)
        noise = self._noise(real, 0)
        with tf.GradientTape() as tape:
            fake = self(noise, labels, training=True)
            real_logits = self.discriminator_logits(real, labels, training=True)
            fake_logits = self.discriminator_logits(fake, labels, training=True)
            d_loss = discriminator_loss(real_logits, fake_logits, self.real_label, mean=global_mean)
        weights = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, weights), weights))

        noise = self._noise(real, 1)
        with tf.GradientTape() as tape:
            fake_logits_g = self.discriminator_logits(self(noise, labels, training=True), labels, training=True)
            g_loss = generator_loss(fake_logits_g, self.g_loss_kind, mean=global_mean)
        weights = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, weights), weights))

        d_loss, g_loss = per_replica_value(d_loss), per_replica_value(g_loss)
        for name, value in (("d_loss", d_loss), ("g_loss", g_loss), ("d_real", ops.mean(ops.sigmoid(real_logits))),
                            ("d_fake", ops.mean(ops.sigmoid(fake_logits)))):
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def fixed_noise(self, n: int, seed: int = 0) -> np.ndarray:
        """The same ``n`` noise vectors for the same seed (for grids that follow training)."""
        return np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype("float32")

    def sample(self, n: int, seed: int = 0, labels=None, batch_size: int = 500) -> np.ndarray:
        """``n`` images in [-1, 1] as a NumPy array (N, 28, 28, 1); ``labels`` for a conditional GAN."""
        if self.num_classes is not None:
            if labels is None:
                labels = np.arange(n) % self.num_classes
            labels = np.asarray(labels, dtype="int32").reshape(-1)
            if len(labels) != n or labels.min() < 0 or labels.max() >= self.num_classes:
                raise SettingsError(f"need {n} labels in 0..{self.num_classes - 1}, got {labels[:10]}...")
        return self._generate_in_batches(self.fixed_noise(n, seed), labels, batch_size)

    def _generate_in_batches(self, noise, condition, batch_size: int) -> np.ndarray:
        """The generator's images for ``noise`` (and per-sample labels or codes), ``batch_size`` at a time."""
        parts = []
        for start in range(0, len(noise), batch_size):
            chunk = None if condition is None else condition[start:start + batch_size]
            parts.append(np.asarray(self(noise[start:start + batch_size], chunk)))
        return np.concatenate(parts)

def code_loss(codes, code_logits, mean=ops.mean):
    """Cross-entropy -log Q(c | x) of the codes ``c`` under Q's logits, averaged: minus the InfoGAN lower
    bound on the mutual information I(c; G(z, c)), up to the constant entropy H(c)."""
    return mean(keras.losses.sparse_categorical_crossentropy(codes, code_logits, from_logits=True))


class InfoGAN(GAN):
    """An unconditional GAN whose generator gets, besides the noise z, a categorical code c drawn
    uniformly from ``codes`` categories, and whose discriminator has a second head Q(c | x) (Chen et al.
    2016). D with Q, and G, each add ``info_weight`` * ``code_loss``: G is pushed to make the code
    recoverable from the image. On MNIST the codes take up digit classes without any labels, which
    spreads the samples more evenly over the ten digits than a plain DCGAN does.

    ``fit`` takes images (labels, if the batches have them, are ignored). ``call(noise, codes)``;
    without codes the categories are used in turn. ``sample`` draws noise and codes from its seed.
    Logged per step: the GAN's losses and D's outputs as in ``GAN``, plus ``info_loss`` (G's code loss).
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, codes: int = 10,
                 info_weight: float = 1.0, latent_dim: int = LATENT_DIM, seed: int = 0, for_check: bool = False,
                 **kwargs):
        super().__init__(generator, discriminator, latent_dim, None, seed=seed, for_check=for_check, **kwargs)
        self.codes, self.info_weight = codes, info_weight
        self.trackers["info_loss"] = keras.metrics.Mean(name="info_loss")

    def build(self, input_shape=None):
        self.discriminator(self.generator([ops.zeros((1, self.latent_dim)), ops.zeros((1,), dtype="int32")]))
        self.built = True

    def call(self, noise, codes=None, training=False):
        if codes is None:  # the categories in turn
            codes = (np.arange(int(ops.shape(noise)[0])) % self.codes).astype("int32")
        return self.generator([noise, codes], training=training)

    def discriminator_outputs(self, images, training=False):
        """(D's logit, Q's code logits)."""
        return tuple(self.discriminator(images, training=training))

    def discriminator_logits(self, images, labels=None, training=False):
        return self.discriminator_outputs(images, training=training)[0]

    def code_probabilities(self, images) -> np.ndarray:
        """Q(c | x) for each image, as a NumPy array (N, codes)."""
        return np.asarray(ops.softmax(self.discriminator_outputs(images)[1]))

    def _random_codes(self, real, draw: int):
        """The codes of a step's ``draw``, one per real image: drawn uniformly, or in check mode computed
        from each image."""
        if self.for_check:
            return example_index(real, self.codes, salt=draw)
        return keras.random.randint((ops.shape(real)[0],), 0, self.codes, seed=self.noise_seed, dtype="int32")

    def train_step(self, data):
        import tensorflow as tf

        real = data[0] if isinstance(data, (tuple, list)) else data
        noise = self._noise(real, 0)
        codes = self._random_codes(real, 0)
        with tf.GradientTape() as tape:
            fake = self(noise, codes, training=True)
            real_logits, _ = self.discriminator_outputs(real, training=True)
            fake_logits, fake_code_logits = self.discriminator_outputs(fake, training=True)
            d_loss = discriminator_loss(real_logits, fake_logits, self.real_label, mean=global_mean)
            d_total = d_loss + self.info_weight * code_loss(codes, fake_code_logits, mean=global_mean)
        weights = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_total, weights), weights))

        noise = self._noise(real, 1)
        codes = self._random_codes(real, 1)
        with tf.GradientTape() as tape:
            logits_g, code_logits_g = self.discriminator_outputs(self(noise, codes, training=True), training=True)
            g_loss = generator_loss(logits_g, self.g_loss_kind, mean=global_mean)
            info_loss = code_loss(codes, code_logits_g, mean=global_mean)
            g_total = g_loss + self.info_weight * info_loss
        weights = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_total, weights), weights))

        d_loss, g_loss, info_loss = (per_replica_value(value) for value in (d_loss, g_loss, info_loss))

        for name, value in (("d_loss", d_loss), ("g_loss", g_loss), ("info_loss", info_loss),
                            ("d_real", ops.mean(ops.sigmoid(real_logits))),
                            ("d_fake", ops.mean(ops.sigmoid(fake_logits)))):
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def sample_codes(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` codes drawn uniformly, the same for the same seed (independent of ``fixed_noise``)."""
        return np.random.default_rng([seed, 1]).integers(0, self.codes, n).astype("int32")

    def sample(self, n: int, seed: int = 0, labels=None, batch_size: int = 500, codes=None) -> np.ndarray:
        """``n`` images in [-1, 1]: noise and codes drawn from ``seed`` (or the ``codes`` you give)."""
        if labels is not None:
            raise SettingsError("an InfoGAN is not class-conditional: its codes are not digit labels "
                                "(pass codes=..., or use the conditional cdcgan-mnist to ask for a digit)")
        codes = self.sample_codes(n, seed) if codes is None else np.asarray(codes, dtype="int32").reshape(-1)
        if len(codes) != n or codes.min() < 0 or codes.max() >= self.codes:
            raise SettingsError(f"need {n} codes in 0..{self.codes - 1}, got {codes[:10]}...")
        return self._generate_in_batches(self.fixed_noise(n, seed), codes, batch_size)


def build_gan(kind: str, num_classes: int | None = None, latent_dim: int = LATENT_DIM, seed: int = 0,
              dropout: float = 0.3, codes: int | None = None, for_check: bool = False) -> GAN:
    """``kind`` 'mlp' or 'dcgan'; ``num_classes`` makes the DCGAN class-conditional; ``codes`` makes it an
    InfoGAN with a categorical code of that many categories.

    ``for_check``: the same networks and weights, but the step's noise (and codes) computed from each real
    image and batch normalisation over the global batch, so a step on several replicas is exactly the
    single-device step (``aigc_course.distribute``); pass ``dropout=0`` too."""
    if codes is not None:
        if kind != "dcgan" or num_classes is not None:
            raise ValueError("the course's InfoGAN is an unconditional DCGAN: use kind='dcgan' without num_classes")
        gan = InfoGAN(build_dcgan_generator(latent_dim, num_classes=codes, synchronized=for_check),
                      build_dcgan_discriminator(dropout=dropout, codes=codes), codes, latent_dim=latent_dim,
                      seed=seed, for_check=for_check, name="infogan")
        gan.build()
        return gan
    if kind == "mlp":
        if num_classes is not None:
            raise ValueError("the course's conditional GAN is the DCGAN: use kind='dcgan'")
        generator, discriminator = build_mlp_generator(latent_dim), build_mlp_discriminator(dropout)
    elif kind == "dcgan":
        generator = build_dcgan_generator(latent_dim, num_classes, synchronized=for_check)
        discriminator = build_dcgan_discriminator(num_classes, dropout=dropout)
    else:
        raise ValueError(f"unknown GAN kind {kind!r}; choose 'mlp' or 'dcgan'")
    prefix = "c" if num_classes else ""
    gan = GAN(generator, discriminator, latent_dim, num_classes, seed=seed, for_check=for_check,
              name=f"{prefix}{kind}_gan")
    gan.build()
    return gan


# ----------------------------------------------------------------------------------------------- callbacks
class SampleSnapshots(keras.callbacks.Callback):
    """Keeps the generator's images for fixed noise after every epoch (``images[e]``), and, with a
    ``judge``, the judge's metrics of ``judge_samples`` fresh images against time spent training."""

    def __init__(self, noise, labels=None, judge=None, reference=None, judge_samples: int = 1000,
                 every: int = 1):
        super().__init__()
        self.noise, self.labels = noise, labels
        self.judge, self.reference, self.judge_samples, self.every = judge, reference, judge_samples, every
        self.images, self.rows = [], []
        self._train_seconds, self._epoch_start = 0.0, None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self._train_seconds += time.time() - self._epoch_start
        labels = self.labels
        if labels is None and self.model.num_classes is not None:  # conditional: the classes in turn
            labels = np.arange(len(self.noise)) % self.model.num_classes
        self.images.append(np.asarray(self.model(self.noise, labels)))
        if self.judge is not None and (epoch + 1) % self.every == 0:
            labels = None if self.model.num_classes is None else np.arange(self.judge_samples) % 10
            samples = self.model.sample(self.judge_samples, seed=10_000 + epoch, labels=labels)
            row = {"epoch": epoch + 1, "train_seconds": round(self._train_seconds, 1),
                   **self.judge.report(samples, self.reference, value_range=GAN.value_range)}
            if labels is not None:
                row["label_match"] = self.judge.accuracy(samples, labels, GAN.value_range)
            self.rows.append(row)


def train_gan(gan: GAN, data, epochs: int, run_dir, name: str, batch_size: int = 128, seed: int = 0,
              real_label: float = 1.0, callbacks=(), verbose="auto", steps_per_epoch: int | None = None) -> dict:
    """Compile ``gan`` and train it on ``data`` (an ``ImageData``; images scaled to [-1, 1]), resumably.

    ``steps_per_epoch`` shortens every epoch (quick runs). Returns the ``fit_resumable`` result.
    """
    from aigc_course.data.images import image_pipeline
    from aigc_course.training import fit_resumable

    batches = image_pipeline(data.x_train, data.y_train, batch_size, value_range="symmetric", seed=seed,
                             drop_remainder=True)
    if steps_per_epoch:
        batches = batches.take(steps_per_epoch)
    gan.compile(real_label=real_label)
    return fit_resumable(gan, batches, epochs, run_dir, name, callbacks=callbacks, verbose=verbose)
