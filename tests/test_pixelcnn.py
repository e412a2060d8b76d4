"""PixelCNN: masks that respect raster order, no blind spot in the gated version, exact NLL in nats."""

import math

import keras
import numpy as np
import pytest

from aigc_course.errors import SettingsError
from aigc_course.models.pixelcnn import (GatedPixelCNN, MaskedConv2D, check_binary_images, nats_to_bits_per_dim,
                                         raster_mask)

SMALL = (7, 7, 1)


def randomised(model, seed=0, scale=0.3):
    """The model with random weights everywhere (zero-initialised outputs would hide any dependence)."""
    if not model.built:
        model(np.zeros((1, *model.image_shape), dtype="float32"))
    assert model.weights
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        weight.assign(rng.normal(0, scale, weight.shape).astype("float32"))
    return model


def dependence(model, shape, position):
    """Boolean (H, W): which outputs change when the input pixel at ``position`` flips (several random images)."""
    rng = np.random.default_rng(1)
    images = (rng.random((4, *shape)) < 0.5).astype("float32")
    flipped = images.copy()
    flipped[:, position[0], position[1], 0] = 1.0 - flipped[:, position[0], position[1], 0]
    before, after = np.asarray(model(images)), np.asarray(model(flipped))
    return np.any(np.abs(before - after) > 1e-6, axis=(0, 3))


def receptive_field(model, shape, position):
    """Boolean (H, W): which input pixels the output at ``position`` depends on (its gradient is non-zero)."""
    import tensorflow as tf

    images = tf.constant((np.random.default_rng(2).random((1, *shape)) < 0.5).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(images)
        output = model(images)[0, position[0], position[1], 0]
    return np.abs(np.asarray(tape.gradient(output, images))[0, :, :, 0]) > 1e-9


def raster_before(shape, position):
    """Boolean (H, W): outputs that come strictly before ``position`` in raster order, or at it."""
    height, width = shape[:2]
    order = np.arange(height * width).reshape(height, width)
    return order <= position[0] * width + position[1]


def test_the_masks_hide_the_future_and_mask_a_the_centre_too():
    np.testing.assert_array_equal(raster_mask(3, "A"), [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(raster_mask(3, "B"), [[1, 1, 1], [1, 1, 0], [0, 0, 0]])
    for bad in ((4, "A"), (3, "C")):
        with pytest.raises(SettingsError):
            raster_mask(*bad)


@pytest.mark.parametrize("position", [(0, 0), (3, 3), (6, 2)])
def test_a_masked_stack_never_lets_a_pixel_see_itself_or_later_pixels(position):
    inputs = keras.Input(SMALL)
    x = MaskedConv2D(8, 5, "A")(inputs)
    for _ in range(3):
        x = MaskedConv2D(8, 3, "B")(keras.layers.Activation("tanh")(x))
    model = randomised(keras.Model(inputs, MaskedConv2D(1, 1, "B")(x)))
    changed = dependence(model, SMALL, position)
    assert not np.any(changed & raster_before(SMALL, position))


@pytest.mark.parametrize("position", [(0, 0), (3, 3), (6, 2), (2, 6)])
def test_the_gated_pixelcnn_is_causal(position):
    model = randomised(GatedPixelCNN(channels=8, num_layers=4, head_channels=8, image_shape=SMALL))
    changed = dependence(model, SMALL, position)
    assert not np.any(changed & raster_before(SMALL, position))
    assert np.any(changed), "flipping a pixel should change some later output"


def test_the_gated_pixelcnn_has_no_blind_spot_where_the_plain_one_has():
    """The output at the centre should depend on every earlier pixel once the stack is deep enough; a plain stack
    of masked 3x3 convolutions misses the pixels up and to the right."""
    centre = (4, 3)
    target = raster_before(SMALL, centre)
    target[centre] = False
    gated = randomised(GatedPixelCNN(channels=8, num_layers=6, kernel_size=3, first_kernel_size=3, head_channels=8,
                                     image_shape=SMALL))
    sees = receptive_field(gated, SMALL, centre)
    assert np.all(sees[target]) and not np.any(sees[~target])

    inputs = keras.Input(SMALL)
    x = MaskedConv2D(8, 3, "A")(inputs)
    for _ in range(5):
        x = MaskedConv2D(8, 3, "B")(keras.layers.Activation("tanh")(x))
    plain = randomised(keras.Model(inputs, x))
    plain_sees = receptive_field(plain, SMALL, centre)
    assert not np.any(plain_sees[~target])
    assert not np.all(plain_sees[target]), "a plain masked stack should have a blind spot"
    assert not plain_sees[centre[0] - 1, centre[1] + 2]   # up one row, two to the right: in the blind spot


def test_an_untrained_model_gives_every_pixel_one_half_so_exactly_784_ln2_nats():
    model = GatedPixelCNN(channels=8, num_layers=2, head_channels=8)
    images = (np.random.default_rng(0).random((5, 28, 28, 1)) < 0.3).astype("float32")
    assert model.evaluate_nll(images) == pytest.approx(784 * math.log(2), rel=1e-6)
    assert nats_to_bits_per_dim(784 * math.log(2)) == pytest.approx(1.0)


def test_likelihoods_refuse_images_that_are_not_binary_or_the_wrong_shape():
    with pytest.raises(SettingsError, match="exactly 0 or 1"):
        check_binary_images(np.full((2, 28, 28, 1), 0.5))
    with pytest.raises(SettingsError, match="shape"):
        check_binary_images(np.zeros((2, 32, 32, 1)))


def test_training_lowers_the_nll_and_sampling_gives_binary_images():
    keras.utils.set_random_seed(0)
    model = GatedPixelCNN(channels=8, num_layers=2, head_channels=8, image_shape=SMALL)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    images = np.zeros((32, *SMALL), dtype="float32")
    images[:, :, 3] = 1.0                       # every image: one vertical bar
    before = model.evaluate_nll(images)
    model.fit(images, epochs=15, batch_size=32, verbose=0)
    assert model.evaluate_nll(images) < 0.5 * before
    samples = model.sample(3, seed=0)
    assert samples.shape == (3, *SMALL) and set(np.unique(samples)) <= {0.0, 1.0}
    with pytest.raises(SettingsError, match="temperature"):
        model.sample(1, temperature=0)


def test_the_sampler_computes_exactly_the_logits_of_a_full_pass_row_by_row():
    model = randomised(GatedPixelCNN(channels=8, num_layers=3, head_channels=8))
    assert model.rows_seen_above == 3 + 2 * 1 + 1
    images = (np.random.default_rng(2).random((3, 28, 28, 1)) < 0.4).astype("float32")
    full = np.asarray(model(images))
    for row in (0, 3, model.rows_seen_above, 20, 27):
        np.testing.assert_allclose(model.row_logits(images, row), full[:, row], atol=1e-4)
    # a pixel's logit does not move when a pixel below the band changes: the band is wide enough
    changed = images.copy()
    changed[:, 27 - model.rows_seen_above - 1] = 1.0 - changed[:, 27 - model.rows_seen_above - 1]
    np.testing.assert_allclose(np.asarray(model(changed))[:, 27], full[:, 27], atol=1e-5)


def test_training_binarises_gray_images_afresh_and_check_mode_thresholds_them():
    keras.utils.set_random_seed(0)
    gray = np.full((8, *SMALL), 0.3, dtype="float32")
    model = GatedPixelCNN(channels=8, num_layers=2, head_channels=8, image_shape=SMALL)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(gray, epochs=40, batch_size=8, verbose=0)
    # trained on pixels that are 1 three times in ten, each pixel's probability goes to about 0.3
    probability = 1 / (1 + np.exp(-np.asarray(model(np.zeros((1, *SMALL), dtype="float32")))))
    assert 0.15 < float(np.mean(probability)) < 0.45
    check = GatedPixelCNN(channels=8, num_layers=2, head_channels=8, image_shape=SMALL, for_check=True)
    check.compile(optimizer=keras.optimizers.Adam(1e-2))
    check.fit(gray, epochs=40, batch_size=8, verbose=0)   # thresholded at 1/2: every pixel 0
    probability = 1 / (1 + np.exp(-np.asarray(check(np.zeros((1, *SMALL), dtype="float32")))))
    assert float(np.mean(probability)) < 0.1
