"""Chapter 03's prediction and experiment checks give the right verdicts (the implement checks are covered by
tests/test_exercises.py): a missing or malformed prediction fails, a right and a wrong one are told apart, and the
experiment check enforces its step budget and its goal on the held-out images."""

import numpy as np
import pytest

from aigc_course.exercises import CheckFailed, ch03


@pytest.fixture(scope="module")
def untrained_vae():
    from aigc_course.models.vae import VAE
    from aigc_course.runtime import set_seed

    set_seed(0)
    vae = VAE(16)
    vae.build()
    return vae


@pytest.fixture(scope="module")
def random_binary_images():
    return (np.random.default_rng(0).random((100, 28, 28, 1)) < 0.15).astype("float32")


@pytest.fixture(scope="module")
def shipped_vae():
    from aigc_course.zoo import load_trained

    return load_trained("vae-mnist")[0]


@pytest.fixture(scope="module")
def heldout_digits():
    from aigc_course.data import load_mnist
    from aigc_course.models.vae import binarize

    return binarize(load_mnist(test_split_only=True, verbose=False).x_val[:500], seed=0)


def with_steps(vae, steps: int):
    """``vae`` compiled, its optimizer reporting ``steps`` updates (what the experiment check counts)."""
    import keras

    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    vae.optimizer.build(vae.trainable_variables)
    vae.optimizer.iterations.assign(steps)
    return vae


# ------------------------------------------------------------------------------------------ 3.4
def test_untrained_elbo_prediction_is_judged_against_its_own_measurement(untrained_vae, random_binary_images,
                                                                         capsys):
    with pytest.raises(CheckFailed, match="先在预测格里写下你的预测"):
        ch03.check_untrained_elbo(None, untrained_vae, random_binary_images)
    with pytest.raises(CheckFailed, match="应该是一个数"):
        ch03.check_untrained_elbo("很大", untrained_vae, random_binary_images)
    assert ch03.check_untrained_elbo(543.0, untrained_vae, random_binary_images)
    assert "✓ 预测对了" in capsys.readouterr().out
    assert not ch03.check_untrained_elbo(784.0, untrained_vae, random_binary_images)  # bits, not nats
    out = capsys.readouterr().out
    assert "✗ 预测和实际不同" in out and "784 × ln 2" in out


def test_untrained_elbo_check_rejects_gray_images_and_a_trained_model(untrained_vae, random_binary_images):
    with pytest.raises(CheckFailed, match="二值化"):
        ch03.check_untrained_elbo(543.0, untrained_vae, random_binary_images * 0.5)
    from aigc_course.models.vae import VAE

    trained = with_steps(VAE(2, width=4), 3)
    trained.build()
    with pytest.raises(CheckFailed, match="已经训练了 3 步"):
        ch03.check_untrained_elbo(543.0, trained, random_binary_images)


# ------------------------------------------------------------------------------------------ 3.6
@pytest.mark.needs_data("mnist")
def test_blank_image_prediction_is_measured_on_the_model(shipped_vae, heldout_digits, untrained_vae, capsys):
    with pytest.raises(CheckFailed, match="先在预测格里写下你的预测"):
        ch03.check_blank_image(None, shipped_vae, heldout_digits)
    with pytest.raises(CheckFailed, match="选项之一"):
        ch03.check_blank_image("低", shipped_vae, heldout_digits)
    with pytest.raises(CheckFailed, match="还没训练好"):
        ch03.check_blank_image("更低", untrained_vae, heldout_digits)
    assert ch03.check_blank_image("更低", shipped_vae, heldout_digits)
    assert "全黑图像" in capsys.readouterr().out
    assert not ch03.check_blank_image("更高", shipped_vae, heldout_digits)


# ------------------------------------------------------------------------------------------ 3.7
@pytest.mark.needs_data("mnist")
def test_experiment_check_enforces_the_step_budget(shipped_vae, monkeypatch):
    for quick, budget in (("1", ch03.TRAIN_STEPS[1]), ("0", ch03.TRAIN_STEPS[0])):
        monkeypatch.setenv("AIGC_QUICK", quick)
        with pytest.raises(CheckFailed, match=f"超出了 {budget} 步的预算"):
            ch03.check_heldout_elbo(with_steps(shipped_vae, budget + 1))


@pytest.mark.needs_data("mnist")
def test_experiment_check_measures_the_goal_on_heldout_images(shipped_vae, monkeypatch, capsys):
    from aigc_course.models.vae import VAE

    with pytest.raises(CheckFailed, match="训练好的 VAE"):
        ch03.check_heldout_elbo(object())
    fresh = VAE(16)
    fresh.build()
    with pytest.raises(CheckFailed, match="还没有训练"):
        ch03.check_heldout_elbo(fresh)
    with pytest.raises(CheckFailed, match="加载来的"):  # good weights, but not trained here
        ch03.check_heldout_elbo(with_steps(shipped_vae, 0))
    with pytest.raises(CheckFailed, match="还没到目标 < 450.*基线设置在这个预算内大约得到 510.2"):
        ch03.check_heldout_elbo(with_steps(fresh, 8))  # within budget, but the weights never moved

    monkeypatch.setenv("AIGC_QUICK", "0")
    ch03.check_heldout_elbo(with_steps(shipped_vae, ch03.TRAIN_STEPS[0]))
    out = capsys.readouterr().out
    assert "✓ 正确" in out and "目标 125（正常模式的目标）" in out and "2,000 张留出图像" in out
