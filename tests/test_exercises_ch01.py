"""The chapter 01 checks that are not covered by tests/test_exercises.py: the two predictions and the experiment
(on tiny models and a made-up corpus, so no data set is needed), and the beam-search cases the hints rely on."""

import numpy as np
import pytest

from aigc_course.data.chars import CharVocabulary
from aigc_course.data.corpora import CharCorpus
from aigc_course.exercises import CheckFailed, ch01
from aigc_course.models.char_lstm import CharLSTM, compile_char_model

VOCAB_SIZE = 65  # as Tiny Shakespeare's, so that an untrained model is far from the quick-mode goal


@pytest.fixture(scope="module")
def corpus():
    rng = np.random.default_rng(0)
    vocab = CharVocabulary(tuple(chr(ord("0") + i) for i in range(VOCAB_SIZE)))
    return CharCorpus("shakespeare", vocab, rng.integers(0, VOCAB_SIZE, 4000, dtype=np.int32),
                      rng.integers(0, VOCAB_SIZE, 1200, dtype=np.int32), "made up")


def tiny_model() -> CharLSTM:
    """A small compiled CharLSTM whose optimizer has not stepped yet."""
    model = CharLSTM(VOCAB_SIZE, 4, 8, name="tiny")
    model(np.zeros((1, 1), dtype="int32"))
    compile_char_model(model, 1e-3)
    model.optimizer.build(model.trainable_variables)
    return model


@pytest.fixture(scope="module")
def model():
    """One tiny model for the tests below, which set its optimizer's step count as they need (its weights stay
    untrained: to the checks it is a model that has learnt nothing, about ln 65 = 4.17 nats/char)."""
    return tiny_model()


def after_steps(model, steps: int):
    model.optimizer.iterations.assign(steps)
    return model


# 1.2 --------------------------------------------------------------------------------------------------------

def test_untrained_loss_needs_a_prediction(corpus, model):
    with pytest.raises(CheckFailed, match="先在预测格里写下你的预测"):
        ch01.check_untrained_loss(None, after_steps(model, 0), corpus)
    with pytest.raises(CheckFailed, match="应该是一个数"):
        ch01.check_untrained_loss("大约四", model, corpus)


def test_untrained_loss_is_measured_and_explained(corpus, model, capsys):
    after_steps(model, 0)
    assert ch01.check_untrained_loss(float(np.log(VOCAB_SIZE)), model, corpus) is True
    output = capsys.readouterr().out
    assert "✓ 预测对了" in output and f"ln {VOCAB_SIZE}" in output
    assert ch01.check_untrained_loss(2.0, model, corpus) is False
    assert "✗ 预测和实际不同" in capsys.readouterr().out


def test_untrained_loss_refuses_a_trained_model(corpus, model):
    with pytest.raises(CheckFailed, match="已经训练过"):
        ch01.check_untrained_loss(4.17, after_steps(model, 1), corpus)


# 1.4 --------------------------------------------------------------------------------------------------------

def test_the_top_p_cases_are_far_from_the_threshold():
    """No token's "mass ranked above it" is within rounding of p, so any correct comparison keeps the same set."""
    for logits, p in ch01.TOP_P_CASES:
        probs = np.exp(logits - logits.max())
        probs = np.sort(probs / probs.sum())[::-1]
        mass_before = np.cumsum(probs) - probs
        assert np.abs(mass_before - p).min() > 1e-3, (logits, p)
        assert np.abs(np.cumsum(probs) - p).min() > 1e-3 or p == 1.0, (logits, p)


# 1.5 --------------------------------------------------------------------------------------------------------

def test_temperature_and_top_p_prediction_is_counted_on_the_logits(capsys):
    logits = np.log(np.array([0.3, 0.2, 0.15, 0.1, 0.08, 0.06, 0.05, 0.04, 0.02]))
    assert ch01.check_temperature_and_top_p("变少", logits) is True
    assert "T=1 时 7 个，T=0.5 时 4 个" in capsys.readouterr().out
    assert ch01.check_temperature_and_top_p("变多", logits) is False
    dominant = np.log(np.array([0.95, 0.03, 0.02]))          # one token alone is above 0.9 at any T <= 1
    assert ch01.check_temperature_and_top_p("不变", dominant) is True


def test_temperature_and_top_p_rejects_a_missing_or_malformed_prediction():
    logits = np.array([1.0, 0.5, -0.2])
    with pytest.raises(CheckFailed, match="先在预测格里写下你的预测"):
        ch01.check_temperature_and_top_p(None, logits)
    with pytest.raises(CheckFailed, match="选项之一"):
        ch01.check_temperature_and_top_p("更少", logits)
    with pytest.raises(CheckFailed, match="形状 \\(字符表大小,\\)"):
        ch01.check_temperature_and_top_p("变少", np.zeros((2, 3)))


# 1.6 --------------------------------------------------------------------------------------------------------

def test_the_beam_search_cases_have_no_near_ties():
    """A learner's sort order or float rounding must not change which candidates survive."""
    for model, length, beam_width in ch01._beam_cases():
        beams = [([], 0.0)]
        for _ in range(length):
            candidates = sorted(((tokens + [token], score + log_prob) for tokens, score in beams
                                 for token, log_prob in enumerate(model(tokens))), key=lambda pair: -pair[1])
            if len(candidates) > beam_width:
                assert candidates[beam_width - 1][1] - candidates[beam_width][1] > 1e-2, model.name
            beams = candidates[:beam_width]
        assert beams[0][0] == ch01._reference_beam_search(model, length, beam_width)[0]


# 1.7 --------------------------------------------------------------------------------------------------------

def test_the_experiment_check_refuses_an_untrained_model(corpus, model):
    with pytest.raises(CheckFailed, match="还没有训练过"):
        ch01.check_loss_goal(after_steps(model, 0), corpus)


def test_the_experiment_check_needs_the_shakespeare_corpus(corpus, model):
    other = CharCorpus("tang", corpus.vocab, corpus.train_ids, corpus.val_ids, "")
    with pytest.raises(CheckFailed, match="莎士比亚"):
        ch01.check_loss_goal(after_steps(model, 1), other)


def test_the_experiment_check_enforces_the_step_budget(corpus):
    """Counted by a real fit: the budget is what Keras counts as the optimizer's iterations."""
    budget = ch01.step_budget()
    overtrained = tiny_model()
    ids = np.random.default_rng(1).integers(0, VOCAB_SIZE, ((budget + 1) * 2, 17)).astype("int32")
    overtrained.fit(ids[:, :-1], ids[:, 1:], batch_size=2, epochs=1, shuffle=False, verbose=0)
    with pytest.raises(CheckFailed, match=f"训练用了 {budget + 1} 步，超过了上限 {budget} 步"):
        ch01.check_loss_goal(overtrained, corpus)


def test_the_experiment_check_measures_the_validation_loss_against_the_goal(corpus, model, capsys, monkeypatch):
    after_steps(model, 2)
    with pytest.raises(CheckFailed, match="还没低于目标"):
        ch01.check_loss_goal(model, corpus)
    assert "快速模式" in capsys.readouterr().out

    monkeypatch.setattr(ch01, "LOSS_GOAL", (1.9, 5.0))
    ch01.check_loss_goal(model, corpus)
    assert "✓ 正确 — 练习 1.7" in capsys.readouterr().out


def test_in_normal_mode_the_experiment_check_says_the_model_learnt_nothing(corpus, model, capsys, monkeypatch):
    monkeypatch.setenv("AIGC_QUICK", "0")
    with pytest.raises(CheckFailed, match="随机猜"):      # no better than ln|V|
        ch01.check_loss_goal(after_steps(model, 2), corpus)
    assert f"目标 < {ch01.LOSS_GOAL[0]}（正常模式）" in capsys.readouterr().out


def test_the_experiment_check_spots_a_diverged_run(corpus, model):
    kernel = model.head.kernel
    saved = kernel.numpy()
    kernel.assign(np.full(kernel.shape, np.nan, dtype="float32"))
    try:
        with pytest.raises(CheckFailed, match="发散"):
            ch01.check_loss_goal(after_steps(model, 2), corpus)
    finally:
        kernel.assign(saved)
