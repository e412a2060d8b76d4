"""Chapter 0's predict and experiment checks (the implement checks are tested in test_exercises.py).

The predictions: a missing or malformed one fails, a right and a wrong one get their verdicts, and the outcome
is computed by the check itself. The experiment: the check enforces the compute budget and the training split,
measures the held-out NLL itself, and gives the hint meant for each way of missing the goal.
"""

import numpy as np
import pytest

from aigc_course.exercises import CheckFailed, ch00
from aigc_course.models.bernoulli_mixture import BernoulliMixtureClassModel
from aigc_course.testing import require_datasets


@pytest.fixture(scope="module")
def mnist():
    require_datasets("mnist")
    return ch00._held_out_mnist()


def fit(data, components=1, iterations=1, smoothing=1.0, images=None, labels=None):
    images = data.x_train if images is None else images
    labels = data.y_train if labels is None else labels
    return BernoulliMixtureClassModel(num_components=components, iterations=iterations,
                                      smoothing=smoothing).fit(images, labels)


@pytest.fixture(scope="module")
def naive_bayes(mnist):
    return fit(mnist)


# ---------------------------------------------------------------- 0.2

def test_blank_image_prediction_gets_its_verdict(naive_bayes, capsys):
    with pytest.raises(CheckFailed, match="先在预测格里写下你的预测"):
        ch00.check_blank_image(None, naive_bayes)
    with pytest.raises(CheckFailed, match="选项之一"):
        ch00.check_blank_image("C", naive_bayes)

    assert ch00.check_blank_image("B", naive_bayes) is True   # the blank image is "more likely" than a digit
    right = capsys.readouterr().out
    assert "✓ 预测对了" in right and "判成数字 1" in right
    assert ch00.check_blank_image(" a ", naive_bayes) is False
    assert "✗ 预测和实际不同" in capsys.readouterr().out


def test_blank_image_check_needs_a_fitted_mixture(mnist):
    with pytest.raises(CheckFailed, match="BernoulliMixtureClassModel"):
        ch00.check_blank_image("B", object())
    with pytest.raises(CheckFailed, match="还没有拟合"):
        ch00.check_blank_image("B", BernoulliMixtureClassModel())


# ---------------------------------------------------------------- 0.6

TRAIN_POEMS = ["白日依山尽，黄河入海流。", "床前明月光，疑是地上霜。", "春眠不觉晓，处处闻啼鸟。",
               "红豆生南国，春来发几枝。", "山中相送罢，日暮掩柴扉。", "独在异乡为异客，每逢佳节倍思亲。"]
VAL_POEMS = ["举头望明月，低头思故乡。", "夜来风雨声，花落知多少。"]


def dense_bigram_nll(train, val, alpha):
    """The chapter's recipe, with a full V x V matrix: the reference for the check's sparse count."""
    vocab = sorted({ch for text in train for ch in text} | {ch00.BEGIN, ch00.END})
    index = {ch: i for i, ch in enumerate(vocab)}
    counts = np.zeros((len(vocab), len(vocab)))
    for text in train:
        ids = [index[ch] for ch in ch00.BEGIN + text + ch00.END]
        np.add.at(counts, (ids[:-1], ids[1:]), 1)
    transition = (counts + alpha) / (counts + alpha).sum(axis=1, keepdims=True)
    pairs = [(index[a], index[b]) for text in val for a, b in zip(ch00.BEGIN + text, text + ch00.END)
             if a in index and b in index]
    return -np.mean([np.log(transition[a, b]) for a, b in pairs])


def test_the_smoothing_check_computes_the_chapter_bigram_nll():
    result = ch00.bigram_validation_nll(TRAIN_POEMS, VAL_POEMS)
    for alpha, nll in result["nll"].items():
        assert nll == pytest.approx(dense_bigram_nll(TRAIN_POEMS, VAL_POEMS, alpha), rel=1e-10)
    assert 0 < result["unseen_share"] < 1


def test_smoothing_prediction_gets_its_verdict(capsys):
    nll = ch00.bigram_validation_nll(TRAIN_POEMS, VAL_POEMS)["nll"]
    best = min(nll, key=nll.get)
    wrong = next(alpha for alpha in ch00.SMOOTHING_CHOICES if alpha != best)

    with pytest.raises(CheckFailed, match="先在预测格里写下你的预测"):
        ch00.check_bigram_smoothing(None, TRAIN_POEMS, VAL_POEMS)
    with pytest.raises(CheckFailed, match="选项之一"):
        ch00.check_bigram_smoothing(0.5, TRAIN_POEMS, VAL_POEMS)
    with pytest.raises(CheckFailed, match="非空"):
        ch00.check_bigram_smoothing(best, [], VAL_POEMS)

    assert ch00.check_bigram_smoothing(best, TRAIN_POEMS, VAL_POEMS) is True
    assert ch00.check_bigram_smoothing(str(best), TRAIN_POEMS, VAL_POEMS) is True   # "0.01" is read as a number
    assert ch00.check_bigram_smoothing(wrong, TRAIN_POEMS, VAL_POEMS) is False
    assert "✗ 预测和实际不同" in capsys.readouterr().out


# ---------------------------------------------------------------- 0.7

def test_mixture_check_enforces_the_budget(mnist):
    iterations = ch00.mixture_budget() // 2 + 1          # 2 components: just over the budget in either mode
    over = fit(mnist, components=2, iterations=iterations, images=mnist.x_train[:600], labels=mnist.y_train[:600])
    with pytest.raises(CheckFailed, match="超出计算预算"):
        ch00.check_mixture_goal(over)


def test_mixture_check_scores_held_out_images_only(mnist):
    on_validation = fit(mnist, images=mnist.x_val, labels=mnist.y_val)
    with pytest.raises(CheckFailed, match="类别先验"):
        ch00.check_mixture_goal(on_validation)


def test_mixture_check_rejects_what_is_not_a_fitted_mixture():
    with pytest.raises(CheckFailed, match="BernoulliMixtureClassModel"):
        ch00.check_mixture_goal("mixture")
    with pytest.raises(CheckFailed, match="还没有拟合"):
        ch00.check_mixture_goal(BernoulliMixtureClassModel(num_components=10))


@pytest.mark.parametrize("components, smoothing, hint", [
    (1, 1.0, "平滑强度还是 1"),              # the chapter's smoothing, no more components
    (12, 1.0, "只增加 K 帮助不大"),          # more components, the chapter's smoothing
    (1, 0.05, "K 还是 1"),                   # lighter smoothing, no more components
    (1, 0.0, "平滑强度为 0"),                # no smoothing: an impossible pixel makes the NLL infinite
])
def test_mixture_check_explains_a_missed_goal(mnist, components, smoothing, hint):
    with pytest.raises(CheckFailed, match=hint) as failure:
        ch00.check_mixture_goal(fit(mnist, components=components, smoothing=smoothing))
    assert "验证集 NLL" in failure.value.hint


def test_mixture_check_passes_a_model_within_budget_that_reaches_the_goal(mnist, capsys):
    ch00.check_mixture_goal(fit(mnist, components=20, iterations=1, smoothing=0.05))
    out = capsys.readouterr().out
    assert "✓ 正确" in out and "≤ 快速模式的目标 134.0" in out
