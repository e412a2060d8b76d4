"""The predict and experiment checks of chapter 04 (the implement checks are tested in test_exercises.py)."""

import numpy as np
import pytest

from aigc_course.exercises import CheckFailed, ch04


# ------------------------------------------------------------------ 4.5 scaling by 1/d_k

def test_scale_prediction_needs_a_number():
    with pytest.raises(CheckFailed, match="先在预测格里写下你的预测"):
        ch04.check_scale_prediction(None)
    with pytest.raises(CheckFailed, match="应该是一个数"):
        ch04.check_scale_prediction("很小")


def test_scale_prediction_right_and_wrong(capsys):
    assert ch04.check_scale_prediction(1 / 16)
    assert "✓ 预测对了" in capsys.readouterr().out
    for wrong in (1.0, 16.0, 1 / 256):  # "still 1", the unscaled std, the variance's scale
        assert not ch04.check_scale_prediction(wrong)
        out = capsys.readouterr().out
        assert "预测和实际不同" in out and "1/√d_k" in out


def test_scale_experiment_measures_one_over_sqrt_d_k():
    std, top = ch04.scale_experiment(256, 1 / 256)
    assert abs(std - 1 / 16) < 0.005
    assert top < 2 / ch04.SCALE_KEYS  # nearly uniform weights
    std, _ = ch04.scale_experiment(256, 1 / 16)
    assert abs(std - 1) < 0.05


# ------------------------------------------------------------------ 4.6 what the key/value cache saves

def test_attention_score_counts_follow_the_sums():
    n = ch04.NEW_TOKENS
    assert ch04.count_attention_scores(n) == (n * (n + 1) * (2 * n + 1) // 6, n * (n + 1) // 2)


def test_cache_prediction_right_wrong_and_missing(capsys):
    uncached, cached = ch04.count_attention_scores(ch04.NEW_TOKENS)
    assert ch04.check_cache_savings(85, uncached, cached)
    assert "✓ 预测对了" in capsys.readouterr().out
    for wrong in (ch04.NEW_TOKENS, ch04.NEW_TOKENS / 2, 2):  # N, N/2 (the MLP's saving), "a bit faster"
        assert not ch04.check_cache_savings(wrong, uncached, cached)
        assert "(2N+1)/3" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="先在预测格里写下你的预测"):
        ch04.check_cache_savings(None, uncached, cached)


def test_cache_prediction_notices_a_changed_experiment():
    uncached, cached = ch04.count_attention_scores(64)
    with pytest.raises(CheckFailed, match="实验格被改过吗"):
        ch04.check_cache_savings(85, uncached, cached)


# ------------------------------------------------------------------ 4.7 the baby GPT within a step budget

def tiny_gpt(context_length=64, embed_dim=16, num_layers=1, steps=None):
    """A small GPT over the Tiny Shakespeare vocabulary; compiled with its step counter at ``steps``."""
    from aigc_course.models.gpt import GPT, compile_gpt

    model = GPT(65, context_length=context_length, embed_dim=embed_dim, num_heads=2, num_layers=num_layers)
    model(np.zeros((1, context_length), "int32"))
    if steps is not None:
        compile_gpt(model, 1e-3, jit_compile=False)
        model.optimizer.build(model.trainable_variables)
        model.optimizer.iterations.assign(steps)
    return model


@pytest.fixture(autouse=True)
def _needs_shakespeare(request):
    if "baby_gpt" in request.node.name:
        from aigc_course.testing import require_datasets

        require_datasets("shakespeare")


def test_baby_gpt_check_wants_the_rules_kept():
    import keras

    with pytest.raises(CheckFailed, match="GPT 模型"):
        ch04.check_baby_gpt(keras.Sequential([keras.layers.Dense(1)]))
    with pytest.raises(CheckFailed, match="上下文长度 64"):
        ch04.check_baby_gpt(tiny_gpt(context_length=32, steps=1))
    with pytest.raises(CheckFailed, match="不超过 1,000,000"):
        ch04.check_baby_gpt(tiny_gpt(embed_dim=256, num_layers=2, steps=1))


def test_baby_gpt_check_fails_an_untrained_model_and_one_over_the_budget():
    with pytest.raises(CheckFailed, match="还没有训练"):
        ch04.check_baby_gpt(tiny_gpt())
    with pytest.raises(CheckFailed, match=f"超过了预算 {ch04.STEP_BUDGET} 步"):
        ch04.check_baby_gpt(tiny_gpt(steps=ch04.STEP_BUDGET + 1))


def test_baby_gpt_check_measures_the_loss_and_names_the_goal(capsys, monkeypatch):
    model = tiny_gpt(steps=ch04.STEP_BUDGET)  # within the budget, but its weights are still random
    with pytest.raises(CheckFailed) as failure:
        ch04.check_baby_gpt(model)
    assert "快速模式（AIGC_QUICK=1）的目标" in failure.value.hint
    assert "基线设置" in failure.value.hint
    loss = float(failure.value.hint.split("上是 ")[1].split(" nats")[0])
    assert abs(loss - np.log(65)) < 0.1  # a random model is about as good as a uniform guess

    monkeypatch.setattr(ch04, "GOAL", loss + 0.01)  # the pass path, with a goal this model meets
    ch04.check_baby_gpt(model)
    out = capsys.readouterr().out
    assert "✓ 正确" in out and f"{ch04.STEP_BUDGET} 步（预算 {ch04.STEP_BUDGET}）" in out
