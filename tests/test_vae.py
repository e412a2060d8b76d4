"""Chapter 03: the VAE's formulas (KL, ELBO, importance-weighted bound) and one training step."""

import math

import numpy as np
import pytest

from aigc_course.models.vae import (VAE, binarize, evaluate_bounds, gaussian_log_density,
                                    kl_diagonal_gaussians, reparameterize)


def test_kl_closed_form_matches_monte_carlo():
    rng = np.random.default_rng(0)
    mean_q, log_var_q = rng.normal(0, 1, 4).astype("float32"), rng.normal(0, 0.5, 4).astype("float32")
    mean_p, log_var_p = rng.normal(0, 1, 4).astype("float32"), rng.normal(0, 0.5, 4).astype("float32")
    closed = float(kl_diagonal_gaussians(mean_q, log_var_q, mean_p, log_var_p))
    z = (mean_q + np.exp(0.5 * log_var_q) * rng.standard_normal((200_000, 4))).astype("float32")
    monte_carlo = float(np.mean(np.asarray(gaussian_log_density(z, mean_q, log_var_q))
                                - np.asarray(gaussian_log_density(z, mean_p, log_var_p))))
    assert closed == pytest.approx(monte_carlo, abs=0.02)
    assert float(kl_diagonal_gaussians(mean_q, log_var_q, mean_q, log_var_q)) == pytest.approx(0, abs=1e-6)


def test_kl_to_the_standard_normal_by_hand():
    # KL(N(1, 1) || N(0, 1)) = 1/2 per dimension; KL(N(0, e^2) || N(0, 1)) = 1/2 (e^2 - 1 - 2)
    assert float(kl_diagonal_gaussians(np.ones(3, "float32"), np.zeros(3, "float32"))) == pytest.approx(1.5)
    assert float(kl_diagonal_gaussians(np.zeros(1, "float32"), np.full(1, 2.0, "float32"))) == pytest.approx(
        0.5 * (math.exp(2) - 3), rel=1e-6)


def _zeroed_vae(latent_dim=3, mean_bias=1.0):
    vae = VAE(latent_dim)
    vae.build()
    for network in (vae.encoder, vae.decoder):
        network.set_weights([np.zeros_like(w) for w in network.get_weights()])
    mean_layer = vae.encoder.get_layer("mean")
    mean_layer.set_weights([np.zeros_like(mean_layer.kernel), np.full(latent_dim, mean_bias, "float32")])
    return vae


def test_elbo_on_a_hand_computable_model():
    # decoder logits 0 -> every pixel has p = 1/2 whatever z is: -log p(x|z) = 784 log 2;
    # encoder gives q = N(1, I) in 3 dimensions: KL = 3/2. So -ELBO = 784 log 2 + 1.5 exactly.
    vae = _zeroed_vae()
    images = binarize(np.random.default_rng(0).random((5, 28, 28)), seed=1)
    reconstruction, kl = (np.asarray(term) for term in vae.elbo_terms(images))
    np.testing.assert_allclose(reconstruction, 784 * math.log(2), rtol=1e-5)
    np.testing.assert_allclose(kl, 1.5, rtol=1e-5)
    # with the decoder ignoring z, the importance weights are p(z)/q(z): E_q[log w] = -KL, log E_q[w] = 0
    bounds = evaluate_bounds(vae, images, k=2000)
    assert bounds["negative_elbo"] == pytest.approx(784 * math.log(2) + 1.5, abs=0.1)
    assert bounds["iw_nll"] == pytest.approx(784 * math.log(2), abs=0.2)


def _log_mean_exp(values):
    peak = values.max(axis=-1, keepdims=True)
    return (peak + np.log(np.exp(values - peak).mean(axis=-1, keepdims=True)))[..., 0]


def test_importance_weighted_bound_is_tighter_and_improves_with_k():
    from aigc_course.models.vae import _log_weights

    vae = VAE(4)
    vae.build()
    images = binarize(np.random.default_rng(0).random((20, 28, 28)), seed=2)
    bounds = evaluate_bounds(vae, images, k=200, seed=3)
    assert bounds["iw_nll"] <= bounds["negative_elbo"]
    # On the same 200 samples per image, log-mean-exp of all 200 >= the mean over 20 blocks of 10 >= the
    # mean of the logs (the ELBO): more samples never loosen the bound (concavity of log, not luck).
    log_w = np.asarray(_log_weights(vae, images, 200, np.random.default_rng(3)), dtype="float64")
    every, blocks_of_ten = _log_mean_exp(log_w), _log_mean_exp(log_w.reshape(20, 20, 10)).mean(axis=1)
    assert np.all(every >= blocks_of_ten - 1e-9) and np.all(blocks_of_ten >= log_w.mean(axis=1) - 1e-9)
    assert -every.mean() == pytest.approx(bounds["iw_nll"], rel=1e-5)


def test_reparameterisation_lets_gradients_reach_mean_and_variance():
    import tensorflow as tf

    mean, log_var = tf.Variable([[0.5, -0.5]]), tf.Variable([[0.0, 0.0]])
    with tf.GradientTape() as tape:
        z = reparameterize(mean, log_var, seed=0)
        loss = tf.reduce_sum(z ** 2)
    grad_mean, grad_log_var = tape.gradient(loss, [mean, log_var])
    assert grad_mean is not None and grad_log_var is not None
    assert np.abs(grad_mean.numpy()).min() > 0 and np.abs(grad_log_var.numpy()).min() > 0


def test_binarize_is_seeded_and_follows_intensity():
    gray = np.full((200, 28, 28), 0.25, "float32")
    a, b = binarize(gray, seed=5), binarize(gray, seed=5)
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, 1.0} and abs(a.mean() - 0.25) < 0.01
    assert binarize(np.full((1, 28, 28), 255, "uint8"), seed=0).min() == 1.0


def test_one_train_step_changes_the_weights_and_logs_the_terms():
    import tensorflow as tf
    import keras

    vae = VAE(2)
    vae.build()
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    images = np.random.default_rng(0).random((16, 28, 28, 1)).astype("float32")
    before = [w.copy() for w in vae.get_weights()]
    history = vae.fit(tf.data.Dataset.from_tensors(images), epochs=1, verbose=0, shuffle=False).history
    assert set(history) >= {"loss", "reconstruction", "kl"}
    assert history["loss"][0] == pytest.approx(history["reconstruction"][0] + history["kl"][0], rel=1e-4)
    assert max(np.abs(a - b).max() for a, b in zip(before, vae.get_weights())) > 1e-6


def test_beta_must_be_positive():
    with pytest.raises(ValueError, match="beta"):
        VAE(2, beta=0)
