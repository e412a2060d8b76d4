"""The chapter 05 checks that are not covered by tests/test_exercises.py: the two predictions and the timestep
experiment (quick mode, as the suite runs: a 5-step budget and 30 samples), on the shipped ddpm-mnist."""

import re

import numpy as np
import pytest

from aigc_course.exercises import CheckFailed, ch05
from aigc_course.models.diffusion import sampling_timesteps
from aigc_course.runtime import by_mode


@pytest.fixture(scope="module")
def shipped():
    from aigc_course.zoo import load_trained

    return load_trained("ddpm-mnist")[0]


def dense_at_high_t(steps: int) -> np.ndarray:
    """The reference answer of exercise 5.7: 1 - (1 - u)^2 spacing, denser near T."""
    u = np.arange(steps, 0, -1) / steps
    return np.round(1000 * (1 - (1 - u) ** 2)).astype(int)


# 5.3 --------------------------------------------------------------------------------------------------------

def test_noisy_steps_prediction_is_computed_from_the_schedule(capsys):
    assert ch05.check_noisy_steps(0.33) is True
    output = capsys.readouterr().out
    assert "✓ 预测对了" in output and "326 步" in output and "64 步" in output   # linear vs cosine, T = 1000
    assert ch05.check_noisy_steps(0.06) is False                                 # the cosine schedule's share
    assert "✗ 预测和实际不同" in capsys.readouterr().out


def test_noisy_steps_rejects_a_missing_or_malformed_prediction():
    with pytest.raises(CheckFailed, match="先在预测格里写下你的预测"):
        ch05.check_noisy_steps(None)
    with pytest.raises(CheckFailed, match="0 到 1 之间的比例"):
        ch05.check_noisy_steps(33)                                               # a percentage
    with pytest.raises(CheckFailed, match="应该是一个数"):
        ch05.check_noisy_steps("三分之一")


# 5.6 --------------------------------------------------------------------------------------------------------

def test_negative_guidance_rejects_a_missing_prediction_before_sampling():
    with pytest.raises(CheckFailed, match="先在预测格里写下你的预测"):
        ch05.check_negative_guidance(None, None)                                 # fails before touching the model
    with pytest.raises(CheckFailed, match="0 到 1 之间的比例"):
        ch05.check_negative_guidance(10, None)
    with pytest.raises(CheckFailed, match="附带的扩散模型"):
        ch05.check_negative_guidance(0.1, "ddpm-mnist")


@pytest.mark.needs_data("mnist")
def test_negative_guidance_is_measured_on_the_model(shipped, capsys):
    assert ch05.check_negative_guidance(0.1, shipped) is True                    # chance: one digit in ten
    output = capsys.readouterr().out
    assert "✓ 预测对了" in output
    assert "不给标签时采出的样本与它们逐像素完全相同" in output or \
        float(re.search(r"几乎相同（最大差 ([-+.e0-9]+)", output).group(1)) < 0.05   # w = -1 is the unlabelled model


# 5.7 --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("timesteps, hint", [
    (list(range(1000, 0, -40)), "超出了 5 步的预算"),                            # 25 steps in quick mode
    ([999, 800, 600, 400, 200], "第一个时间步应该是 T = 1000"),
    ([1000, 800, 800, 400, 200], "严格递减"),
    ([1000, 600, 800, 400, 200], "严格递减"),
    ([1000, 750.5, 500, 250, 1], "一串整数"),
    ([1000, 750, 500, 250, -1], "时间步应在 1 到 1000 之间"),
    ("1000, 500", "一串整数"),
])
def test_timesteps_are_validated_before_sampling(shipped, timesteps, hint):
    assert by_mode(20, 5) == 5  # the suite runs in quick mode
    with pytest.raises(CheckFailed, match=hint):
        ch05.check_timesteps(timesteps, shipped)


def test_timesteps_need_a_diffusion_model():
    with pytest.raises(CheckFailed, match="附带的扩散模型"):
        ch05.check_timesteps(sampling_timesteps(1000, 5), object())


def test_sampling_along_the_uniform_timesteps_is_the_package_sampler(shipped):
    ours = ch05.sample_with_timesteps(shipped, sampling_timesteps(1000, 5), 30, seed=3)   # the shapes the checks
    package = shipped.sample(30, steps=5, seed=3)                                          # compiled already
    np.testing.assert_allclose(ours, package, atol=1e-6)


@pytest.mark.needs_data("mnist")
def test_the_chapter_spacing_misses_the_goal_and_the_reference_reaches_it(shipped, capsys):
    with pytest.raises(CheckFailed, match="章节默认的均匀间隔") as failure:
        ch05.check_timesteps(sampling_timesteps(1000, 5), shipped)               # a final 0 is allowed
    assert "留出图像" in failure.value.hint
    ch05.check_timesteps(dense_at_high_t(5).tolist(), shipped)
    output = capsys.readouterr().out
    assert "✓ 正确" in output and "快速模式的目标" in output
