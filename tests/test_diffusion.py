"""Diffusion: the schedule, closed-form noising, the true posterior, the samplers and a training step."""

import numpy as np
import pytest

from aigc_course.models.diffusion import (NUM_CLASSES, DiffusionModel, DiffusionSampler, NoiseSchedule, q_sample,
                                          sampling_timesteps, timestep_embedding)


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_schedule_boundary_values(name):
    schedule = NoiseSchedule.named(name)
    alpha_bars = schedule.alpha_bars
    assert schedule.steps == 1000 and alpha_bars[0] == 1.0
    assert np.all(np.diff(alpha_bars) < 0), "abar_t must fall at every step"
    assert np.all((schedule.betas[1:] > 0) & (schedule.betas[1:] <= 0.999))
    if name == "linear":
        assert schedule.betas[1] == pytest.approx(1e-4) and schedule.betas[-1] == pytest.approx(0.02)
        assert alpha_bars[-1] == pytest.approx(np.prod(1 - np.linspace(1e-4, 0.02, 1000)))
        assert alpha_bars[-1] < 1e-4
    else:  # abar_t = f(t)/f(0): 1 at t = 0, (almost) 0 at T, about 1/2 in the middle
        assert alpha_bars[-1] < 1e-8 and 0.4 < alpha_bars[500] < 0.6
    with pytest.raises(ValueError, match="linear' or 'cosine"):
        NoiseSchedule.named("quadratic")


@pytest.mark.parametrize("t", [1, 10, 300, 1000])
def test_closed_form_noising_matches_noising_step_by_step(t):
    schedule = NoiseSchedule.linear()
    rng = np.random.default_rng(0)
    x0 = np.array([0.8, -0.5])
    x = np.repeat(x0[None], 200_000, axis=0)
    for beta in schedule.betas[1:t + 1]:  # x_s = sqrt(1 - beta_s) x_{s-1} + sqrt(beta_s) eps
        x = np.sqrt(1 - beta) * x + np.sqrt(beta) * rng.standard_normal(x.shape)
    abar = schedule.alpha_bars[t]
    np.testing.assert_allclose(x.mean(axis=0), np.sqrt(abar) * x0, atol=0.01)
    np.testing.assert_allclose(x.var(axis=0), 1 - abar, rtol=0.02, atol=1e-5)
    noise = rng.standard_normal((4, 28, 28, 1)).astype("float32")
    images = rng.uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    closed = np.asarray(q_sample(images, np.full(4, t), noise, schedule.alpha_bars))
    np.testing.assert_allclose(closed, np.sqrt(abar) * images + np.sqrt(1 - abar) * noise, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["linear", "cosine"])
def test_posterior_mean_and_variance_match_bayes_rule(name):
    """q(x_{t-1} | x_t, x_0) from the product of two Gaussians: q(x_{t-1} | x_0) q(x_t | x_{t-1})."""
    schedule = NoiseSchedule.named(name)
    x0, xt = 0.7, -0.3
    for t in (2, 50, 500, 999):
        abar_prev, alpha, beta = schedule.alpha_bars[t - 1], schedule.alphas[t], schedule.betas[t]
        precision = 1 / (1 - abar_prev) + alpha / beta  # prior on x_{t-1}, then the likelihood of x_t
        variance = 1 / precision
        mean = variance * (np.sqrt(abar_prev) * x0 / (1 - abar_prev) + np.sqrt(alpha) * xt / beta)
        c0, ct, var = schedule.posterior(t)
        assert c0 * x0 + ct * xt == pytest.approx(mean, rel=1e-9)
        assert var == pytest.approx(variance, rel=1e-9)
    with pytest.raises(ValueError):
        schedule.posterior(0)


def test_timesteps_and_time_features():
    assert list(sampling_timesteps(1000, 4)) == [1000, 667, 334, 1, 0]
    assert list(sampling_timesteps(10, 10)) == list(range(10, -1, -1))
    with pytest.raises(ValueError):
        sampling_timesteps(1000, 0)
    features = np.asarray(timestep_embedding(np.array([0.0, 5.0, 999.0]), 16))
    assert features.shape == (3, 16) and np.allclose(features[0, :8], 0) and np.allclose(features[0, 8:], 1)


@pytest.fixture(scope="module")
def small_model():
    model = DiffusionModel("linear", widths=(8, 16, 16), seed=0)
    model.build()
    rng = np.random.default_rng(1)
    for weight in model.ema_network.weights:  # a network that is not the identity, so the tests can fail
        weight.assign(rng.normal(0, 0.05, weight.shape).astype("float32"))
    return model


def test_ddim_with_eta_zero_is_deterministic(small_model):
    first = small_model.sample(4, steps=5, seed=3)
    assert first.shape == (4, 28, 28, 1) and np.all(np.abs(first) <= 1.0 + 1e-5)
    np.testing.assert_array_equal(first, small_model.sample(4, steps=5, seed=3))
    assert not np.allclose(first, small_model.sample(4, steps=5, seed=4))
    # and one step does not depend on the noise it is handed when eta = 0 (it does when eta = 1)
    sampler = DiffusionSampler(small_model)
    x = np.random.default_rng(0).standard_normal((2, 28, 28, 1)).astype("float32")
    labels = np.full(2, NUM_CLASSES, "int32")
    noises = [np.random.default_rng(seed).standard_normal(x.shape).astype("float32") for seed in (1, 2)]
    for eta, same in ((0.0, True), (1.0, False)):
        outs = [np.asarray(sampler._denoise(x, 500, 400, labels, 0.0, eta, noise, False)[0]) for noise in noises]
        assert np.allclose(*outs) == same


def test_a_chosen_sampling_path_replaces_the_evenly_spaced_one(small_model):
    from aigc_course.errors import SettingsError

    even = sampling_timesteps(1000, 5)[:-1]
    np.testing.assert_array_equal(small_model.sample(2, timesteps=even, seed=3), small_model.sample(2, steps=5, seed=3))
    assert not np.allclose(small_model.sample(2, timesteps=[1000, 990, 900, 500, 100], seed=3),
                           small_model.sample(2, steps=5, seed=3))
    for bad in ([1000, 1000, 1], [1001, 500], [500, 0], [], [[1000, 1]], [1000.5, 1]):
        with pytest.raises(SettingsError):
            small_model.sample(2, timesteps=bad)


def test_ddpm_step_is_the_true_posterior_given_the_predicted_x0(small_model):
    """eta = 1 between consecutive steps: x_{t-1} = c0 x0_hat + ct x_t + sqrt(var) z (Ho et al., eq. 6-7)."""
    sampler = DiffusionSampler(small_model)
    schedule = small_model.schedule
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 28, 28, 1)).astype("float32")
    noise = rng.standard_normal(x.shape).astype("float32")
    labels = np.full(2, NUM_CLASSES, "int32")
    for t in (900, 300, 2):
        step, x0 = sampler._denoise(x, t, t - 1, labels, 0.0, 1.0, noise, False)
        c0, ct, var = schedule.posterior(t)
        expected = c0 * np.asarray(x0) + ct * x + np.sqrt(var) * noise
        np.testing.assert_allclose(np.asarray(step), expected, rtol=1e-3, atol=1e-3)  # float32 round-off


def test_guidance_mixes_the_two_predictions(small_model):
    labels = np.arange(4) % 10
    plain = small_model.sample(4, steps=3, labels=labels, guidance=0.0, seed=0)
    guided = small_model.sample(4, steps=3, labels=labels, guidance=3.0, seed=0)
    unconditional = small_model.sample(4, steps=3, seed=0)
    assert not np.allclose(plain, guided) and not np.allclose(plain, unconditional)
    with pytest.raises(ValueError, match="labels"):
        small_model.sample(4, steps=3, labels=[0, 1, 2, 11])


def test_train_step_lowers_the_noise_error_and_moves_the_ema():
    import keras

    model = DiffusionModel("cosine", widths=(8, 16, 16), seed=0, ema_decay=0.9)
    model.build()
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    rng = np.random.default_rng(0)
    images = np.where(rng.random((64, 28, 28, 1)) < 0.2, 1.0, -1.0).astype("float32")
    labels = rng.integers(0, 10, 64).astype("int32")
    before = [w.numpy() for w in model.network.weights]
    ema_before = [w.numpy() for w in model.ema_network.weights]
    first = model.evaluate(images, labels, verbose=0)
    model.fit(images, labels, batch_size=16, epochs=6, verbose=0)
    after = model.evaluate(images, labels, verbose=0)
    assert after < first, (first, after)
    assert any(not np.allclose(a, b.numpy()) for a, b in zip(before, model.network.weights))
    moved = [not np.allclose(a, b.numpy()) for a, b in zip(ema_before, model.ema_network.weights)]
    assert any(moved)
    assert len(model.trainable_weights) == len(model.network.trainable_weights)  # the EMA is not trained


def test_min_snr_weights_cap_the_easy_steps_and_leave_the_noisy_ones():
    model = DiffusionModel("cosine", widths=(8, 16, 16), min_snr_gamma=5.0)
    snr = model.schedule.signal_to_noise
    t = np.array([1, 100, 500, 900, 1000])
    weights = np.asarray(model.loss_weights(t))
    expected = np.minimum(snr[t], 5.0) / snr[t]
    np.testing.assert_allclose(weights, expected, rtol=2e-3)  # float32: 1 - abar_1 is tiny
    assert weights[0] < 0.01 and weights[-1] == pytest.approx(1.0)  # t = 1 is nearly clean; t = T all noise
    with pytest.raises(ValueError, match="min_snr_gamma"):
        DiffusionModel("cosine", widths=(8, 16, 16), min_snr_gamma=0)
