"""Chapter 06's prediction and experiment checks give the right verdicts (the implement checks are covered by
tests/test_exercises.py): a missing or malformed prediction fails, a right and a wrong one are told apart, and the
experiment check enforces its step budget and its goal on the held-out images."""

import math

import numpy as np
import pytest

from aigc_course.exercises import CheckFailed, ch06


def with_steps(model, steps: int):
    """``model`` compiled, its optimizer reporting ``steps`` updates (what the experiment check counts)."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(steps)
    return model


def tiny_pixelcnn(ink: float | None = None):
    """A one-layer gated PixelCNN; with ``ink`` its output bias makes every pixel 1 with probability ``ink`` (an
    NLL of about 300 nats: far better than untrained, far worse than a trained model)."""
    from aigc_course.models.pixelcnn import GatedPixelCNN

    model = GatedPixelCNN(channels=2, num_layers=1, head_channels=2)
    model.build()
    if ink is not None:
        model.out.bias.assign([math.log(ink / (1 - ink))])
    return model


@pytest.fixture(scope="module")
def mnist_flow():
    from aigc_course.models.flows import RealNVP, dequantize
    from aigc_course.runtime import set_seed
    from aigc_course.zoo import evaluation_mnist

    set_seed(0)
    flow = RealNVP(couplings=(0, 0))
    flow.build()
    flow.initialize_from(dequantize(evaluation_mnist().x_train[:2000, :, :, None], np.random.default_rng(0)))
    return flow


# ------------------------------------------------------------------------------------------ 6.2
def test_layers_prediction_is_measured_on_real_models(capsys):
    with pytest.raises(CheckFailed, match="先在预测格里写下你的预测"):
        ch06.check_layers_to_first_row(None)
    with pytest.raises(CheckFailed, match="应该是一个数"):
        ch06.check_layers_to_first_row("很多")
    assert ch06.check_layers_to_first_row(24)
    assert "✓ 预测对了" in capsys.readouterr().out
    assert not ch06.check_layers_to_first_row(27)            # one row per layer, forgetting the wide first window
    out = capsys.readouterr().out
    assert "✗ 预测和实际不同" in out and "L + 3" in out and "23 层时它最远只看到第 1 行" in out


# ------------------------------------------------------------------------------------------ 6.6
@pytest.mark.needs_data("mnist")
def test_temperature_prediction_is_measured_on_the_flow(mnist_flow, capsys):
    from aigc_course.models.flows import RealNVP

    with pytest.raises(CheckFailed, match="先在预测格里写下你的预测"):
        ch06.check_flow_temperature(None, mnist_flow)
    with pytest.raises(CheckFailed, match="选项之一"):
        ch06.check_flow_temperature("低", mnist_flow)
    with pytest.raises(CheckFailed, match="RealNVP"):
        ch06.check_flow_temperature("更低", object())
    untrained = RealNVP(couplings=(0, 0))
    untrained.build()
    with pytest.raises(CheckFailed, match="还不如均匀模型"):
        ch06.check_flow_temperature("更低", untrained)
    assert ch06.check_flow_temperature("更低", mnist_flow)
    assert "多样性变小了" in capsys.readouterr().out
    assert not ch06.check_flow_temperature("更高", mnist_flow)


# ------------------------------------------------------------------------------------------ 6.7
@pytest.mark.needs_data("mnist")
def test_experiment_check_enforces_the_step_budget(monkeypatch):
    model = tiny_pixelcnn()
    for quick, budget in (("1", ch06.TRAIN_STEPS[1]), ("0", ch06.TRAIN_STEPS[0])):
        monkeypatch.setenv("AIGC_QUICK", quick)
        with pytest.raises(CheckFailed, match=f"超出了 {budget} 步的预算"):
            ch06.check_pixelcnn_nll(with_steps(model, budget + 1))


@pytest.mark.needs_data("mnist")
def test_experiment_check_measures_the_goal_on_heldout_images(monkeypatch, capsys):
    with pytest.raises(CheckFailed, match="门控 PixelCNN"):
        ch06.check_pixelcnn_nll(object())
    with pytest.raises(CheckFailed, match="还没有训练"):
        ch06.check_pixelcnn_nll(tiny_pixelcnn())
    ink = tiny_pixelcnn(ink=0.13)                             # a good NLL that no training produced
    with pytest.raises(CheckFailed, match="加载来的"):
        ch06.check_pixelcnn_nll(ink)

    monkeypatch.setenv("AIGC_QUICK", "1")
    with pytest.raises(CheckFailed, match="还没到目标 < 530.*基线设置在这个预算内大约得到 538.7"):
        ch06.check_pixelcnn_nll(with_steps(tiny_pixelcnn(), 6))  # within budget, but the weights never moved
    ch06.check_pixelcnn_nll(with_steps(ink, 6))
    out = capsys.readouterr().out
    assert "✓ 正确" in out and "目标 530（快速模式的目标）" in out and "2,000 张留出图像" in out

    monkeypatch.setenv("AIGC_QUICK", "0")
    with pytest.raises(CheckFailed, match="还没到目标 < 105（正常模式）.*大约得到 112.4"):
        ch06.check_pixelcnn_nll(ink)
