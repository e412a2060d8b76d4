"""Chapter 02: GAN losses on hand-computed cases, the networks' shapes, and one training step."""

import math

import numpy as np
import pytest

from aigc_course.models.gan import (InfoGAN, build_dcgan_discriminator, build_dcgan_generator, build_gan,
                                    code_loss, discriminator_loss, generator_loss)


def _log_sigmoid(x):
    return -math.log1p(math.exp(-x))


def test_losses_at_even_odds_are_log_two():
    zero = np.zeros((4, 1), "float32")
    assert float(discriminator_loss(zero, zero)) == pytest.approx(2 * math.log(2), rel=1e-6)
    assert float(generator_loss(zero)) == pytest.approx(math.log(2), rel=1e-6)
    assert float(generator_loss(zero, "minimax")) == pytest.approx(-math.log(2), rel=1e-6)


def test_losses_match_the_formulas_by_hand():
    real, fake = np.array([[2.0]], "float32"), np.array([[-1.0]], "float32")
    # -log D(x) - log(1 - D(G(z))), with D = sigmoid(logit) and 1 - sigmoid(l) = sigmoid(-l)
    expected = -_log_sigmoid(2.0) - _log_sigmoid(1.0)
    assert float(discriminator_loss(real, fake)) == pytest.approx(expected, rel=1e-6)
    # one-sided label smoothing: the real target is 0.9, the fake target stays 0
    smoothed = -(0.9 * _log_sigmoid(2.0) + 0.1 * _log_sigmoid(-2.0)) - _log_sigmoid(1.0)
    assert float(discriminator_loss(real, fake, real_label=0.9)) == pytest.approx(smoothed, rel=1e-6)
    assert float(generator_loss(fake)) == pytest.approx(-_log_sigmoid(-1.0), rel=1e-6)
    assert float(generator_loss(fake, "minimax")) == pytest.approx(_log_sigmoid(1.0), rel=1e-6)


def test_minimax_generator_gradient_vanishes_where_non_saturating_does_not():
    import tensorflow as tf

    logits = tf.constant([[-6.0]])  # D confidently rejects the fake (D(G(z)) ~ 0.0025)
    grads = {}
    for kind in ("minimax", "non_saturating"):
        with tf.GradientTape() as tape:
            tape.watch(logits)
            loss = generator_loss(logits, kind)
        grads[kind] = abs(float(tape.gradient(loss, logits)[0, 0]))
    assert grads["minimax"] < 0.01 < 0.9 < grads["non_saturating"]


def test_unknown_settings_are_refused():
    with pytest.raises(ValueError, match="non_saturating"):
        generator_loss(np.zeros((1, 1), "float32"), "wasserstein")
    with pytest.raises(ValueError, match="dcgan"):
        build_gan("vae")
    gan = build_gan("dcgan")
    with pytest.raises(ValueError, match="label smoothing"):
        gan.compile(real_label=0.3)


@pytest.mark.parametrize("kind,num_classes", [("mlp", None), ("dcgan", None), ("dcgan", 10)])
def test_shapes_and_value_range(kind, num_classes):
    gan = build_gan(kind, num_classes)
    labels = None if num_classes is None else np.arange(6) % 10
    images = gan.sample(6, seed=1, labels=labels)
    assert images.shape == (6, 28, 28, 1)
    assert images.min() >= -1.0 and images.max() <= 1.0
    logits = np.asarray(gan.discriminator_logits(images, labels))
    assert logits.shape == (6, 1)
    np.testing.assert_array_equal(images, gan.sample(6, seed=1, labels=labels))  # same seed, same images


def test_conditional_networks_use_the_label():
    generator = build_dcgan_generator(num_classes=10)
    discriminator = build_dcgan_discriminator(num_classes=10)
    noise = np.random.default_rng(0).standard_normal((2, 100)).astype("float32")
    first = np.asarray(generator([noise, np.array([3, 3])]))
    second = np.asarray(generator([noise, np.array([3, 7])]))
    np.testing.assert_array_equal(first[0], second[0])
    assert np.abs(first[1] - second[1]).max() > 1e-4
    d_same = np.asarray(discriminator([first, np.array([3, 3])]))
    d_other = np.asarray(discriminator([first, np.array([5, 5])]))
    assert np.abs(d_same - d_other).max() > 1e-6


@pytest.mark.parametrize("num_classes", [None, 10])
def test_one_train_step_changes_both_networks(num_classes):
    import tensorflow as tf

    gan = build_gan("dcgan", num_classes)
    gan.compile()
    images = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype("float32")
    labels = np.arange(16) % 10
    before_g = [w.copy() for w in gan.generator.get_weights()]
    before_d = [w.copy() for w in gan.discriminator.get_weights()]
    batches = tf.data.Dataset.from_tensors((images, labels))
    history = gan.fit(batches, epochs=1, verbose=0, shuffle=False).history
    assert set(history) >= {"d_loss", "g_loss", "d_real", "d_fake"}
    assert 0.0 < history["d_real"][0] < 1.0 and 0.0 < history["d_fake"][0] < 1.0
    for before, network in ((before_g, gan.generator), (before_d, gan.discriminator)):
        changed = max(np.abs(a - b).max() for a, b in zip(before, network.get_weights()))
        assert changed > 1e-6, network.name


def test_conditional_gan_needs_labels():
    import tensorflow as tf

    gan = build_gan("dcgan", 10)
    gan.compile()
    images = np.zeros((4, 28, 28, 1), "float32")
    with pytest.raises(ValueError, match="labels"):
        gan.fit(tf.data.Dataset.from_tensors(images), epochs=1, verbose=0, shuffle=False)
    with pytest.raises(ValueError, match="labels in 0..9"):
        gan.sample(3, labels=[1, 2, 12])


def test_code_loss_is_the_cross_entropy_by_hand():
    logits = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]], "float32")
    log_softmax_first = 2.0 - math.log(math.exp(2.0) + 1.0 + math.exp(-1.0))
    expected = (-log_softmax_first + math.log(3.0)) / 2  # code 0 for the first row, any code for the second
    assert float(code_loss(np.array([0, 2]), logits)) == pytest.approx(expected, rel=1e-6)


def test_infogan_shapes_codes_and_sampling():
    gan = build_gan("dcgan", codes=10)
    assert isinstance(gan, InfoGAN) and gan.num_classes is None
    images = gan.sample(12, seed=3)
    assert images.shape == (12, 28, 28, 1) and images.min() >= -1.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, gan.sample(12, seed=3))
    codes = gan.sample_codes(2000, seed=0)
    assert codes.min() == 0 and codes.max() == 9 and np.bincount(codes).min() > 150  # uniform draws
    assert gan.code_probabilities(images).shape == (12, 10)
    # the same noise with another code gives another image: the generator uses the code
    noise = gan.fixed_noise(2, seed=0)
    assert np.abs(np.asarray(gan(noise, np.array([1, 1]))) - np.asarray(gan(noise, np.array([1, 8])))).max() > 1e-4
    with pytest.raises(ValueError, match="not class-conditional"):
        gan.sample(4, labels=[1, 2, 3, 4])
    with pytest.raises(ValueError, match="codes in 0..9"):
        gan.sample(2, codes=[0, 10])
    with pytest.raises(ValueError, match="InfoGAN"):
        build_gan("dcgan", num_classes=10, codes=10)


def test_infogan_train_step_changes_both_networks_and_logs_the_code_loss():
    import tensorflow as tf

    gan = build_gan("dcgan", codes=10)
    gan.compile()
    images = np.random.default_rng(0).uniform(-1, 1, (16, 28, 28, 1)).astype("float32")
    before_g = [w.copy() for w in gan.generator.get_weights()]
    before_d = [w.copy() for w in gan.discriminator.get_weights()]
    history = gan.fit(tf.data.Dataset.from_tensors(images), epochs=1, verbose=0, shuffle=False).history
    assert set(history) >= {"d_loss", "g_loss", "info_loss", "d_real", "d_fake"}
    assert 0.5 * math.log(10) < history["info_loss"][0] < 2 * math.log(10)  # untrained Q: near log 10
    for before, network in ((before_g, gan.generator), (before_d, gan.discriminator)):
        changed = max(np.abs(a - b).max() for a, b in zip(before, network.get_weights()))
        assert changed > 1e-6, network.name
