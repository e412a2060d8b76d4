"""Chapter 02's predict and experiment checks: they fail on a missing prediction, judge right and wrong predictions
correctly, and hold a DCGAN to its step budget and its goal (tiny stand-in models, so the file takes seconds)."""

import keras
import numpy as np
import pytest
from keras import layers

from aigc_course.data import scale_images
from aigc_course.exercises import CheckFailed, ch02
from aigc_course.models.gan import GAN
from aigc_course.runtime import QUICK_ENV


def undecided_discriminator(x):
    """A discriminator that cannot tell anything apart: logit 0, D = 1/2 everywhere."""
    return np.zeros((len(x), 1), "float32")


# ----------------------------------------------------------------------------------------------- 2.3
def test_equilibrium_check_needs_a_prediction_and_a_discriminator():
    with pytest.raises(CheckFailed, match="先在预测格里写下你的预测"):
        ch02.check_equilibrium_loss(None, undecided_discriminator)
    with pytest.raises(CheckFailed, match="训练好的判别器"):
        ch02.check_equilibrium_loss(1.39, "discriminator")
    with pytest.raises(CheckFailed, match="调用判别器时出错"):
        ch02.check_equilibrium_loss(1.39, lambda x: np.reshape(x, (-1, 28)))


def test_equilibrium_check_measures_the_loss_itself(capsys):
    assert ch02.equilibrium_loss(undecided_discriminator)[0] == pytest.approx(2 * np.log(2), rel=1e-6)
    assert ch02.check_equilibrium_loss(2 * np.log(2), undecided_discriminator) is True
    assert ch02.check_equilibrium_loss(1.4, undecided_discriminator) is True      # within the tolerance
    for wrong in (0.0, np.log(2), 1.0):
        assert ch02.check_equilibrium_loss(wrong, undecided_discriminator) is False
    out = capsys.readouterr().out
    assert "✗ 预测和实际不同" in out and "2 ln 2" in out

    # a discriminator that is confidently wrong on these samples: the check reports what it measures
    def biased(x):
        return np.full((len(x), 1), 3.0, "float32")
    measured = ch02.equilibrium_loss(biased)[0]
    assert measured > 3
    assert ch02.check_equilibrium_loss(measured, biased) is True
    assert ch02.check_equilibrium_loss(2 * np.log(2), biased) is False


def test_the_two_peaks_are_the_chapters_data():
    samples = ch02.two_peaks(20_000, seed=0)
    assert samples.shape == (20_000, 1) and samples.dtype == np.float32
    assert abs(np.mean(samples < 0) - 0.5) < 0.02 and abs(np.abs(samples).mean() - 2) < 0.05
    np.testing.assert_array_equal(ch02.two_peaks(10, seed=3), ch02.two_peaks(10, seed=3))


# ----------------------------------------------------------------------------------------------- 2.4
@pytest.mark.needs_data("mnist")
def test_collapse_check(capsys):
    with pytest.raises(CheckFailed, match="先在预测格里写下你的预测"):
        ch02.check_collapse_metric(None)
    with pytest.raises(CheckFailed, match="选项之一"):
        ch02.check_collapse_metric("准确率")
    assert ch02.collapse_blind_metrics(ch02.collapse_reports()) == ["置信度"]
    assert ch02.check_collapse_metric("置信度") is True
    assert ch02.check_collapse_metric("FID-judge") is False
    assert ch02.check_collapse_metric("最多类占比") is False
    assert "FID-judge" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------------- 2.6
class ShowsImages(GAN):
    """A stand-in GAN whose "samples" are given images (to test the check's verdicts without training)."""

    def __init__(self, images, **kwargs):
        generator = keras.Sequential([keras.Input((4,)), layers.Dense(28 * 28, activation="tanh"),
                                      layers.Reshape((28, 28, 1))])
        discriminator = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(1)])
        super().__init__(generator, discriminator, latent_dim=4, **kwargs)
        self.images = scale_images(images, "symmetric")

    def sample(self, n, seed=0, labels=None, batch_size=500):
        return np.resize(self.images, (n, 28, 28, 1))


def trained_for(gan, steps):
    gan.compile()
    gan.d_optimizer.iterations.assign(steps)
    gan.g_optimizer.iterations.assign(steps)
    return gan


@pytest.fixture
def normal_mode(monkeypatch):
    monkeypatch.setenv(QUICK_ENV, "0")


@pytest.mark.needs_data("mnist")
def test_dcgan_goal_checks_the_model_and_the_budget():
    with pytest.raises(CheckFailed, match="应该是训练好的 GAN"):
        ch02.check_dcgan_goal(keras.Sequential([keras.Input((4,)), layers.Dense(1)]))
    untrained = ShowsImages(np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(CheckFailed, match="还没有 compile"):
        ch02.check_dcgan_goal(untrained)
    with pytest.raises(CheckFailed, match="一步也没训练"):
        ch02.check_dcgan_goal(trained_for(untrained, 0))
    over = trained_for(ShowsImages(np.zeros((2, 28, 28), np.uint8)), ch02.STEP_BUDGET + 1)
    with pytest.raises(CheckFailed, match=f"最多更新 {ch02.STEP_BUDGET} 步，你的训练了 {ch02.STEP_BUDGET + 1} 步"):
        ch02.check_dcgan_goal(over)


@pytest.mark.needs_data("mnist")
def test_dcgan_goal_verdicts_in_normal_mode(normal_mode, capsys):
    data = ch02._mnist()
    real = trained_for(ShowsImages(data.x_train[:1000]), ch02.STEP_BUDGET)   # as good as real digits
    ch02.check_dcgan_goal(real)
    out = capsys.readouterr().out
    assert "✓ 正确" in out and "置信度 ≥ 0.8" in out and "快速模式" not in out

    only_ones = trained_for(ShowsImages(data.x_train[data.y_train == 1][:500]), 10)   # collapsed onto one digit
    with pytest.raises(CheckFailed, match="FID-judge 却太高"):
        ch02.check_dcgan_goal(only_ones)

    rng = np.random.default_rng(0)   # pixel noise: the judge is confidently wrong on it, FID-judge is not fooled
    noise = trained_for(ShowsImages(rng.integers(0, 256, (500, 28, 28)).astype(np.uint8)), 10)
    with pytest.raises(CheckFailed, match="FID-judge 却太高"):
        ch02.check_dcgan_goal(noise)


def test_dcgan_goal_names_the_metric_that_misses(normal_mode, monkeypatch):
    gan = trained_for(ShowsImages(np.zeros((2, 28, 28), np.uint8)), 10)
    report = {"judge_confidence": 0.78, "fid_judge": 350.0, "class_share_min": 0.05, "class_share_max": 0.2}
    monkeypatch.setattr(ch02, "dcgan_scores", lambda gan: report)
    with pytest.raises(CheckFailed, match="置信度还差一点"):
        ch02.check_dcgan_goal(gan)
    report.update(judge_confidence=0.81)
    ch02.check_dcgan_goal(gan)
    report.update(fid_judge=401.0)
    with pytest.raises(CheckFailed, match="FID-judge 却太高"):
        ch02.check_dcgan_goal(gan)


@pytest.mark.needs_data("mnist")
def test_dcgan_goal_of_an_untrained_dcgan(normal_mode):
    """The untrained DCGAN misses the normal goal; in quick mode the goal is loose and the check says so."""
    from aigc_course.models.gan import build_gan

    gan = trained_for(build_gan("dcgan"), 1)
    with pytest.raises(CheckFailed, match="两项都没达到"):
        ch02.check_dcgan_goal(gan)


def test_dcgan_goal_is_looser_in_quick_mode(monkeypatch):
    monkeypatch.setenv(QUICK_ENV, "1")
    quick = ch02.dcgan_goal()
    monkeypatch.setenv(QUICK_ENV, "0")
    normal = ch02.dcgan_goal()
    assert normal == (0.8, 400.0) and quick[0] < normal[0] and quick[1] > normal[1]
