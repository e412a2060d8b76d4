"""RealNVP building blocks: exact inverses and log-determinants that match autodiff; units of bits per dimension."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from aigc_course.errors import SettingsError
from aigc_course.models.flows import (AffineCoupling, RealNVP, bits_per_dim, channel_mask, check_pixels,
                                      checkerboard_mask, dequantize, feature_mask, inverse_logit_transform,
                                      logit_transform, squeeze, unsqueeze)


def randomised(layer, example, seed=0, scale=0.4):
    layer(example)   # builds the conditioner
    rng = np.random.default_rng(seed)
    for weight in layer.weights:    # the last layer starts at zero (the identity): make it do something
        weight.assign(rng.normal(0, scale, weight.shape).astype("float32"))
    return layer


def test_masks_alternate_and_cover_every_position():
    board = checkerboard_mask(4, 4, 0)[..., 0]
    np.testing.assert_array_equal(board + checkerboard_mask(4, 4, 1)[..., 0], np.ones((4, 4)))
    assert board[0, 0] == 1 and board[0, 1] == 0 and board.sum() == 8
    np.testing.assert_array_equal(channel_mask(4, 0)[0, 0] + channel_mask(4, 1)[0, 0], np.ones(4))
    np.testing.assert_array_equal(feature_mask(4, 1), [0, 1, 0, 1])


def test_the_coupling_log_determinant_equals_the_jacobians_computed_by_autodiff():
    x = tf.constant(np.random.default_rng(1).normal(size=(3, 4)).astype("float32"))
    layer = randomised(AffineCoupling(feature_mask(4, 0), hidden=16), x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y, log_det = layer(x)
    jacobian = tape.batch_jacobian(y, x)                      # (3, 4, 4)
    _, autodiff = np.linalg.slogdet(np.asarray(jacobian, dtype="float64"))
    np.testing.assert_allclose(np.asarray(log_det), autodiff, rtol=1e-5, atol=1e-5)
    assert np.max(np.abs(autodiff)) > 0.1                     # the layer is not just the identity


@pytest.mark.parametrize("mask", [checkerboard_mask(4, 4, 1), channel_mask(4, 0)])
def test_image_couplings_and_squeeze_invert_to_float_tolerance(mask):
    x = np.random.default_rng(2).normal(size=(2, 4, 4, 4)).astype("float32")
    layer = randomised(AffineCoupling(mask, hidden=8), x)
    y, _ = layer(x)
    assert not np.allclose(np.asarray(y), x)
    np.testing.assert_allclose(np.asarray(layer.inverse(y)), x, rtol=1e-5, atol=1e-5)
    images = np.random.default_rng(3).normal(size=(2, 28, 28, 1)).astype("float32")
    assert tuple(squeeze(images).shape) == (2, 14, 14, 4)
    np.testing.assert_array_equal(np.asarray(unsqueeze(squeeze(images))), images)


def test_the_logit_transform_log_determinant_matches_autodiff_and_inverts():
    u = tf.constant(np.random.default_rng(4).random((2, 5)).astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(u)
        y, log_det = logit_transform(u)
    derivative = tape.gradient(y, u)     # elementwise map: the Jacobian is diagonal
    np.testing.assert_allclose(np.asarray(log_det), np.log(np.asarray(derivative)).sum(axis=1), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(inverse_logit_transform(y)), np.asarray(u), atol=1e-6)


def test_a_uniform_model_scores_exactly_8_bits_per_dimension_and_dequantisation_checks_its_input():
    assert bits_per_dim(np.zeros(10), dimensions=784) == pytest.approx(8.0)
    # a density twice as high everywhere (on half the cube) saves exactly one bit per dimension
    assert bits_per_dim(np.full(3, 784 * math.log(2)), dimensions=784) == pytest.approx(7.0)
    u = dequantize(np.array([[0, 255, 128]], dtype=np.uint8), np.random.default_rng(0))
    assert np.all((u >= 0) & (u < 1)) and np.all(np.floor(u * 256) == [[0, 255, 128]])
    with pytest.raises(SettingsError, match="8-bit"):
        dequantize(np.array([0.5, 1.2]), np.random.default_rng(0))



def randomised_flow(seed=5):
    flow = RealNVP(image_shape=(8, 8, 1), couplings=(2, 2), hidden=8)
    flow.build()
    rng = np.random.default_rng(seed)
    for weight in flow.weights:   # large enough to move every layer, small enough to keep float32 errors small
        weight.assign(rng.normal(0, 0.1, weight.shape).astype("float32"))
    return flow


def test_the_whole_flow_counts_its_log_determinant_exactly_logit_transform_included():
    flow = randomised_flow()
    u = tf.constant(np.random.default_rng(6).random((2, 8, 8, 1)).astype("float32") * 0.98 + 0.01)
    with tf.GradientTape() as tape:
        tape.watch(u)
        z, log_det = flow.forward(u)
        flat_z = tf.reshape(z, (2, -1))
    jacobian = tape.batch_jacobian(flat_z, u)                             # (2, 64, 8, 8, 1)
    _, autodiff = np.linalg.slogdet(np.asarray(jacobian, dtype="float64").reshape(2, 64, 64))
    np.testing.assert_allclose(np.asarray(log_det), autodiff, rtol=1e-4)
    assert np.max(np.abs(autodiff - np.asarray(logit_transform(u)[1]))) > 0.1    # the couplings contribute
    assert tuple(z.shape[1:]) == flow.latent_shape == (2, 2, 16)


def test_the_flow_inverts_to_float_tolerance_and_samples_lie_in_the_unit_interval():
    flow = randomised_flow()
    u = np.random.default_rng(7).random((3, 8, 8, 1)).astype("float32") * 0.9 + 0.05
    np.testing.assert_allclose(flow.decode(flow.encode(u)), u, atol=1e-4)
    samples = flow.sample(4, seed=0, temperature=0.7)
    assert samples.shape == (4, 8, 8, 1) and samples.min() >= 0 and samples.max() <= 1
    with pytest.raises(SettingsError, match="temperature"):
        flow.sample(1, temperature=-1)


def test_flow_likelihoods_refuse_scaled_binary_or_misshapen_images():
    assert check_pixels(np.zeros((2, 28, 28), dtype=np.uint8)).shape == (2, 28, 28, 1)
    with pytest.raises(SettingsError, match="0-255"):
        check_pixels(np.full((2, 28, 28, 1), 0.5))
    with pytest.raises(SettingsError, match="binarised"):
        check_pixels(np.ones((2, 28, 28, 1)))
    with pytest.raises(SettingsError, match="shape"):
        check_pixels(np.zeros((2, 32, 32, 3), dtype=np.uint8))


def test_training_the_flow_lowers_bits_per_dim():
    keras.utils.set_random_seed(0)
    flow = RealNVP(image_shape=(8, 8, 1), couplings=(2, 2), hidden=16)
    flow.build()
    pixels = np.zeros((64, 8, 8, 1), dtype="float32")
    pixels[:, 2:6, 3:5] = 255.0                                            # a bar on black
    before = flow.evaluate_bits_per_dim(pixels)
    flow.compile(optimizer=keras.optimizers.Adam(3e-3))
    flow.fit(pixels, epochs=30, batch_size=32, verbose=0)
    assert flow.evaluate_bits_per_dim(pixels) < before - 1.0
