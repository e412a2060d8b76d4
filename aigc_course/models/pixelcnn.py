"""Autoregressive image models for binarised 28x28 images: masked convolutions and a gated PixelCNN.

p(x) = prod_i p(x_i | x_<i) in raster order (row by row, left to right), each factor a Bernoulli whose logit
the network computes from the pixels before it; the negative log-likelihood is exact, in nats per image.

- ``MaskedConv2D``: the PixelCNN paper's masked convolution (van den Oord et al. 2016a). Mask "A" (first
  layer) hides the centre pixel too, mask "B" (later layers) lets a position see itself, which by then only
  carries information from before it. A stack of them has a blind spot: pixels up and to the right that no
  output ever sees.
- ``GatedPixelCNN``: the gated PixelCNN (van den Oord et al. 2016b) removes the blind spot with two stacks: a
  vertical stack that sees every row above (a full-width window), and a horizontal stack that sees the pixels
  to the left in the current row and receives the vertical stack shifted down by one row. Gates are
  tanh(a) * sigmoid(b).
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

from aigc_course.errors import SettingsError

IMAGE_SHAPE = (28, 28, 1)


def raster_mask(kernel_size: int, mask_type: str) -> np.ndarray:
    """(k, k) mask of a masked convolution: 1 on the rows above the centre and left of it in the centre row;
    the centre itself is 1 for mask "B" and 0 for mask "A"."""
    if mask_type not in ("A", "B"):
        raise SettingsError(f"mask_type must be 'A' or 'B', not {mask_type!r}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise SettingsError(f"kernel_size must be odd and positive, not {kernel_size}")
    mask = np.zeros((kernel_size, kernel_size), dtype="float32")
    centre = kernel_size // 2
    mask[:centre, :] = 1.0
    mask[centre, :centre] = 1.0
    if mask_type == "B":
        mask[centre, centre] = 1.0
    return mask


@keras.saving.register_keras_serializable(package="aigc_course")
class MaskedConv2D(layers.Layer):
    """A 'same'-padded convolution whose kernel is multiplied by ``raster_mask`` at every call."""

    def __init__(self, filters: int, kernel_size: int, mask_type: str, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.mask_type = filters, kernel_size, mask_type
        self.mask = raster_mask(kernel_size, mask_type)[:, :, None, None]

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(self.kernel_size, self.kernel_size, input_shape[-1],
                                                            self.filters), initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, x):
        return ops.conv(x, self.kernel * self.mask, padding="same") + self.bias

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "mask_type": self.mask_type}


def _shift_down(x):
    """Row i gets row i-1 (row 0 gets zeros): what was "rows <= i" becomes "rows < i"."""
    return ops.pad(x, ((0, 0), (1, 0), (0, 0), (0, 0)))[:, :-1]


def _shift_right(x):
    """Column j gets column j-1 (column 0 gets zeros)."""
    return ops.pad(x, ((0, 0), (0, 0), (1, 0), (0, 0)))[:, :, :-1]


def _centred(images):
    """0/1 -> -1/1, so that a padded (unseen) pixel, 0, is neither."""
    return ops.cast(images, "float32") * 2.0 - 1.0


def _gate(x):
    a, b = ops.split(x, 2, axis=-1)
    return ops.tanh(a) * ops.sigmoid(b)


@keras.saving.register_keras_serializable(package="aigc_course")
class GatedBlock(layers.Layer):
    """One gated layer: (vertical, horizontal) -> (vertical, horizontal).

    The vertical convolution has a (k//2 + 1) x k window ending at the current row, so output row i sees input
    rows i-k//2 .. i; the horizontal one a 1 x (k//2 + 1) window ending at the current column. ``first=True``
    is the mask-"A" version: the horizontal window is shifted right so that it excludes the current pixel.
    """

    def __init__(self, channels: int, kernel_size: int = 3, first: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.kernel_size, self.first = channels, kernel_size, first
        half = kernel_size // 2
        self.vertical = layers.Conv2D(2 * channels, (half + 1, kernel_size), name="vertical")
        self.horizontal = layers.Conv2D(2 * channels, (1, half + 1), name="horizontal")
        self.vertical_to_horizontal = layers.Conv2D(2 * channels, 1, name="vertical_to_horizontal")
        self.horizontal_out = layers.Conv2D(channels, 1, name="horizontal_out")

    def build(self, input_shape):
        vertical_shape, horizontal_shape = input_shape
        self.vertical.build((None, None, None, vertical_shape[-1]))
        self.horizontal.build((None, None, None, horizontal_shape[-1]))
        self.vertical_to_horizontal.build((None, None, None, 2 * self.channels))
        self.horizontal_out.build((None, None, None, self.channels))

    def call(self, inputs):
        vertical, horizontal = inputs
        vertical_out, from_above = self.vertical_step(vertical)
        return vertical_out, self.horizontal_step(horizontal, from_above)

    def vertical_step(self, vertical):
        """The vertical stack: (its output, what it passes to the horizontal stack at each position: computed
        from the rows strictly above). Independent of the horizontal stack, so a sampler computes it once per
        row."""
        half = self.kernel_size // 2
        v = self.vertical(ops.pad(vertical, ((0, 0), (half, 0), (half, half), (0, 0))))     # rows <= i
        return _gate(v), self.vertical_to_horizontal(_shift_down(v))                        # rows < i

    def horizontal_step(self, horizontal, from_above):
        """The horizontal stack: row by row, the pixels to the left (and, after the first layer, itself) plus
        ``from_above``. Works on any number of rows, one row included."""
        half = self.kernel_size // 2
        h_input = _shift_right(horizontal) if self.first else horizontal
        h = self.horizontal(ops.pad(h_input, ((0, 0), (0, 0), (half, 0), (0, 0))))         # columns <= j
        h_out = self.horizontal_out(_gate(h + from_above))
        return h_out if self.first else h_out + horizontal

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "kernel_size": self.kernel_size,
                "first": self.first}


def bernoulli_nll(binary_images, logits):
    """-log p(x) in nats per image for binary images and per-pixel logits (numerically stable)."""
    per_pixel = binary_images * ops.softplus(-logits) + (1.0 - binary_images) * ops.softplus(logits)
    return ops.sum(ops.reshape(per_pixel, (ops.shape(per_pixel)[0], -1)), axis=-1)


def check_binary_images(images, shape=IMAGE_SHAPE) -> np.ndarray:
    """``images`` as float32 (N, 28, 28, 1) of 0s and 1s, or a clear error."""
    array = np.asarray(images, dtype="float32")
    if array.ndim == 3:
        array = array[..., None]
    if array.shape[1:] != tuple(shape):
        raise SettingsError(f"expected binary images of shape (N, {', '.join(map(str, shape))}), got {array.shape}")
    if not np.all((array == 0) | (array == 1)):
        raise SettingsError("a likelihood of binarised images needs pixels that are exactly 0 or 1; binarise first "
                            "(aigc_course.models.vae.binarize)")
    return array


@keras.saving.register_keras_serializable(package="aigc_course")
class GatedPixelCNN(keras.Model):
    """Gated PixelCNN on binarised images: ``call`` gives one Bernoulli logit per pixel, each computed only
    from the pixels before it in raster order. ``fit`` on gray images in [0, 1] (N, 28, 28, 1) binarises each
    batch afresh (dynamic binarisation; binary images stay as they are) and minimises the exact negative
    log-likelihood; it logs ``nll`` in nats per image (validation data: already binary).

    ``for_check``: a training step draws nothing at random (images are binarised at 1/2), so a step is the
    same however the batch is split over replicas (``aigc_course.distribute``)."""

    value_range = (0.0, 1.0)  # what sample() returns (0/1 pixels)

    def __init__(self, channels: int = 32, num_layers: int = 7, kernel_size: int = 3, first_kernel_size: int = 7,
                 head_channels: int = 64, image_shape=IMAGE_SHAPE, seed: int = 0, for_check: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        self.for_check = for_check
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.channels, self.num_layers, self.kernel_size = channels, num_layers, kernel_size
        self.first_kernel_size, self.head_channels, self.image_shape = first_kernel_size, head_channels, tuple(image_shape)
        self.blocks = [GatedBlock(channels, first_kernel_size if index == 0 else kernel_size, first=index == 0,
                                  name=f"gated_{index}") for index in range(num_layers)]
        self.head = layers.Conv2D(head_channels, 1, activation="relu", name="head")
        self.out = layers.Conv2D(image_shape[-1], 1, kernel_initializer="zeros", name="logits")  # starts at p = 1/2
        self.nll_tracker = keras.metrics.Mean(name="nll")

    @property
    def metrics(self):
        return [self.nll_tracker]

    def build(self, input_shape=None):
        inputs = keras.KerasTensor((1, *self.image_shape))
        self.call(inputs)
        self.built = True

    def call(self, images, training=False):
        x = _centred(images)
        vertical = horizontal = x
        for block in self.blocks:
            vertical, horizontal = block((vertical, horizontal))
        return self._logits(horizontal)

    def _logits(self, horizontal):
        return self.out(self.head(ops.relu(horizontal)))

    def from_above(self, images):
        """What each layer's vertical stack passes to its horizontal stack, for every row of ``images``: row i
        depends only on rows < i."""
        vertical, terms = _centred(images), []
        for block in self.blocks:
            vertical, term = block.vertical_step(vertical)
            terms.append(term)
        return terms

    def logits_in_row(self, row_images, terms):
        """The logits of one row (N, 1, W, C) from its own pixels and ``from_above`` of that row."""
        horizontal = _centred(row_images)
        for block, term in zip(self.blocks, terms):
            horizontal = block.horizontal_step(horizontal, term)
        return self._logits(horizontal)

    def negative_log_likelihood(self, binary_images):
        """-log p(x) in nats for each image (exact)."""
        return bernoulli_nll(binary_images, self(binary_images))

    def train_step(self, data):
        import tensorflow as tf

        from aigc_course.distribute import global_mean, per_replica_value

        images = ops.cast(data[0] if isinstance(data, (tuple, list)) else data, "float32")
        if self.for_check:
            binary = ops.cast(images > 0.5, "float32")
        else:
            binary = ops.cast(keras.random.uniform(ops.shape(images), seed=self.noise_seed) < images, "float32")
        with tf.GradientTape() as tape:
            nll = global_mean(self.negative_log_likelihood(binary))
        gradients = tape.gradient(nll, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        self.nll_tracker.update_state(per_replica_value(nll))
        return {"nll": self.nll_tracker.result()}

    def test_step(self, data):
        images = ops.cast(data[0] if isinstance(data, (tuple, list)) else data, "float32")
        self.nll_tracker.update_state(ops.mean(self.negative_log_likelihood(images)))
        return {"nll": self.nll_tracker.result()}

    def evaluate_nll(self, binary_images, batch_size: int = 250) -> float:
        """Mean exact -log p(x) in nats per image over ``binary_images``."""
        images = check_binary_images(binary_images, self.image_shape)
        total = sum(float(ops.sum(self.negative_log_likelihood(images[start:start + batch_size])))
                    for start in range(0, len(images), batch_size))
        return total / len(images)

    @property
    def rows_seen_above(self) -> int:
        """How many rows above its own a pixel's logit depends on: the first vertical window reaches
        first_kernel_size // 2 rows up, each later one kernel_size // 2 more, and the horizontal stack reads the
        vertical stack one row up."""
        return self.first_kernel_size // 2 + (self.num_layers - 1) * (self.kernel_size // 2) + 1

    def row_logits(self, images, row: int):
        """The logits of row ``row``, ``self(images)[:, row]``, computed as the sampler does: the vertical stacks
        over only the band of rows the row depends on, then the horizontal stacks over the row alone."""
        return self._row_logits(images[:, row:row + 1], self._row_terms(images, row))[:, 0]

    def _row_terms(self, images, row: int):
        band = min(self.rows_seen_above + 1, self.image_shape[0])
        top = min(max(0, row - self.rows_seen_above), self.image_shape[0] - band)
        return [term[:, row - top:row - top + 1] for term in self._compiled("from_above")(images[:, top:top + band])]

    def _row_logits(self, row_images, terms):
        return np.asarray(self._compiled("logits_in_row")(row_images, terms))

    def _compiled(self, method: str):
        cache = self.__dict__.setdefault("_compiled_functions", {})
        if method not in cache:
            import tensorflow as tf

            cache[method] = tf.function(getattr(self, method), jit_compile=True, reduce_retracing=True)
        return cache[method]

    def sample(self, n: int, seed: int = 0, temperature: float = 1.0, every: int | None = None,
               batch_size: int = 500):
        """``n`` binary images drawn pixel by pixel in raster order; ``temperature`` divides the logits. Each
        row's vertical stacks run once (over the rows it depends on); each pixel then needs only the horizontal
        stacks over its row: the same numbers as ``self(images)``, at a fraction of 784 full passes. With
        ``every=k`` also returns the partial images after every k pixels (to watch a batch fill in)."""
        if not temperature > 0:
            raise SettingsError(f"temperature must be > 0, got {temperature}")
        rng = np.random.default_rng(seed)
        height, width, _ = self.image_shape
        images = np.zeros((n, *self.image_shape), dtype="float32")
        snapshots = []
        for row in range(height):
            terms = [self._row_terms(images[start:start + batch_size], row) for start in range(0, n, batch_size)]
            for column in range(width):
                for part_terms, start in zip(terms, range(0, n, batch_size)):
                    part = images[start:start + batch_size]
                    logits = self._row_logits(part[:, row:row + 1], part_terms)[:, 0, column, 0] / temperature
                    probabilities = 1.0 / (1.0 + np.exp(-logits))
                    part[:, row, column, 0] = (rng.random(len(part)) < probabilities).astype("float32")
                if every and (row * width + column + 1) % every == 0:
                    snapshots.append(images.copy())
        return (images, snapshots) if every else images

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "num_layers": self.num_layers,
                "kernel_size": self.kernel_size, "first_kernel_size": self.first_kernel_size,
                "head_channels": self.head_channels, "image_shape": self.image_shape, "for_check": self.for_check}


def nats_to_bits_per_dim(nats_per_image: float, dimensions: int = 784) -> float:
    """nats per image -> bits per dimension: divide by the number of dimensions and by ln 2."""
    return nats_per_image / (dimensions * math.log(2))


def train_pixelcnn(model: GatedPixelCNN, data, epochs: int, run_dir, name: str, batch_size: int = 64,
                   learning_rate: float = 1e-3, seed: int = 0, steps_per_epoch: int | None = None, callbacks=(),
                   verbose="auto") -> dict:
    """Train on ``data.x_train`` (gray, binarised afresh every batch) with validation on the fixed binarisation
    of ``data.x_val`` (seed 0, the held-out images of chapter 03), cosine-decayed Adam, resumably. Returns the
    ``fit_resumable`` result."""
    import tensorflow as tf

    from aigc_course.data.images import image_pipeline
    from aigc_course.models.vae import binarize
    from aigc_course.training import fit_resumable, warmup_cosine

    train = image_pipeline(data.x_train, batch_size=batch_size, value_range="unit", seed=seed, drop_remainder=True)
    if steps_per_epoch:
        train = train.take(steps_per_epoch)
    val = tf.data.Dataset.from_tensor_slices(binarize(data.x_val, seed=0)).batch(500)
    steps = max(1, epochs * (steps_per_epoch or len(data.x_train) // batch_size))
    model.compile(optimizer=keras.optimizers.Adam(warmup_cosine(learning_rate, steps, final_ratio=0.05)))
    return fit_resumable(model, train, epochs, run_dir, name, validation_data=val, callbacks=callbacks,
                         verbose=verbose)
