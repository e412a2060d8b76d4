"""The Transformer of chapter 04: attention against Keras's layer, the causal mask, the key/value cache."""

import keras
import numpy as np
import pytest

from aigc_course.data import CharVocabulary
from aigc_course.sampling import DecodingSettings

TEXT = "白日依山尽，黄河入海流。欲穷千里目，更上一层楼。\n"


@pytest.fixture(scope="module", params=["learned", "rotary"])
def model_and_vocab(request):
    from aigc_course.models.gpt import GPT
    from aigc_course.runtime import set_seed

    set_seed(0)
    vocab = CharVocabulary.from_text(TEXT)
    model = GPT(len(vocab), context_length=24, embed_dim=32, num_heads=4, num_layers=2, positions=request.param)
    model(np.zeros((1, 1), dtype="int32"))
    return model, vocab


def test_scaled_dot_product_attention_by_hand():
    from aigc_course.models.gpt import scaled_dot_product_attention

    query = np.array([[1.0, 0.0]], "float32")
    key = np.array([[1.0, 0.0], [0.0, 1.0]], "float32")
    value = np.array([[10.0], [20.0]], "float32")
    output, weights = scaled_dot_product_attention(query, key, value)
    first = np.exp(1 / np.sqrt(2)) / (np.exp(1 / np.sqrt(2)) + 1)  # softmax([1, 0] / sqrt(2))
    np.testing.assert_allclose(np.asarray(weights), [[first, 1 - first]], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(output), [[10 * first + 20 * (1 - first)]], rtol=1e-6)
    _, masked = scaled_dot_product_attention(query, key, value, mask=np.array([[True, False]]))
    np.testing.assert_allclose(np.asarray(masked), [[1.0, 0.0]], atol=1e-7)


def test_self_attention_equals_keras_multi_head_attention_with_the_same_weights():
    from aigc_course.models.gpt import CausalSelfAttention

    keras.utils.set_random_seed(1)
    x = np.random.default_rng(1).normal(size=(2, 7, 32)).astype("float32")
    ours = CausalSelfAttention(32, 4, bias=True)  # Keras's layer has biases
    expected_input = ours(x)
    reference = keras.layers.MultiHeadAttention(num_heads=4, key_dim=8)
    reference(x, x, use_causal_mask=True)
    kernel, bias = ours.qkv.get_weights()
    out_kernel, out_bias = ours.out.get_weights()
    weights = []
    for part_kernel, part_bias in zip(np.split(kernel, 3, axis=1), np.split(bias, 3)):
        weights += [part_kernel.reshape(32, 4, 8), part_bias.reshape(4, 8)]
    reference.set_weights(weights + [out_kernel.reshape(4, 8, 32), out_bias])
    np.testing.assert_allclose(np.asarray(reference(x, x, use_causal_mask=True)), np.asarray(expected_input),
                               atol=1e-5)


def test_no_position_sees_the_future(model_and_vocab):
    model, vocab = model_and_vocab
    ids = np.random.default_rng(0).integers(0, len(vocab), (3, 24)).astype("int32")
    changed = ids.copy()
    changed[:, 15] = (changed[:, 15] + 1) % len(vocab)
    before, after = np.asarray(model(ids)), np.asarray(model(changed))
    np.testing.assert_array_equal(before[:, :15], after[:, :15])
    assert np.abs(before[:, 15:] - after[:, 15:]).max() > 1e-4  # ... and later positions do see it


def test_causal_mask_shape_and_offset():
    from aigc_course.models.gpt import causal_mask

    np.testing.assert_array_equal(np.asarray(causal_mask(3)), np.tril(np.ones((3, 3), bool)))
    np.testing.assert_array_equal(np.asarray(causal_mask(1, offset=2, total=4)), [[True, True, True, False]])


@pytest.mark.parametrize("strategy", ["greedy", "top_p"])
def test_cached_generation_equals_uncached_within_the_context(model_and_vocab, strategy):
    from aigc_course.models.gpt import GPTGenerator

    model, vocab = model_and_vocab
    generator = GPTGenerator(model, vocab)
    settings = DecodingSettings(strategy, top_p=0.9, repetition_penalty=1.2)
    cached = generator.generate("白日", 22, settings, seed=5)[0]  # 2 + 22 = the whole context
    assert cached == generator.generate_uncached("白日", 22, settings, seed=5) and len(cached) == 22


def test_generation_goes_on_past_the_context_and_beam_search_runs(model_and_vocab):
    from aigc_course.models.gpt import GPTGenerator

    model, vocab = model_and_vocab
    generator = GPTGenerator(model, vocab)
    long = generator.generate("白", 60, DecodingSettings("temperature", temperature=1.5), batch=2, seed=0)
    assert [len(text) for text in long] == [60, 60] and set("".join(long)) <= set(TEXT)
    beam = generator.generate("黄", 30, DecodingSettings("beam", beam_width=3))[0]
    assert 1 <= len(beam) <= 30
    with pytest.raises(ValueError, match="characters not in the vocabulary: '春'"):
        generator.generate("春", 5)


def test_sinusoidal_positions_and_config_round_trip():
    from aigc_course.models.gpt import GPT, sinusoidal_positions

    table = sinusoidal_positions(50, 16)
    np.testing.assert_allclose(table[0], [0, 1] * 8)
    np.testing.assert_allclose(table[7, 0], np.sin(7.0), rtol=1e-6)
    model = GPT(10, context_length=8, embed_dim=16, num_heads=2, num_layers=1, positions="sinusoidal")
    assert model(np.zeros((2, 8), "int32")).shape == (2, 8, 10)
    assert GPT.from_config(model.get_config()).positions == "sinusoidal"
    with pytest.raises(ValueError, match="not divisible"):
        GPT(10, embed_dim=30, num_heads=4)(np.zeros((1, 2), "int32"))


def test_rotary_embedding_by_hand_and_its_relative_property():
    from aigc_course.models.gpt import GPT, rotary_embedding

    # one pair of features at rate 1: position p turns (1, 0) into (cos p, sin p)
    turned = np.asarray(rotary_embedding(np.array([[1.0, 0.0]] * 3, "float32"), np.arange(3)))
    np.testing.assert_allclose(turned, [[np.cos(p), np.sin(p)] for p in range(3)], atol=1e-6)
    rng = np.random.default_rng(0)
    query, key = rng.normal(size=(1, 8)).astype("float32"), rng.normal(size=(1, 8)).astype("float32")

    def score(query_position, key_position):
        return float(np.sum(np.asarray(rotary_embedding(query, np.array([query_position])))
                            * np.asarray(rotary_embedding(key, np.array([key_position])))))

    assert score(5, 2) == pytest.approx(score(13, 10), abs=1e-4)  # only the distance matters ...
    assert abs(score(5, 2) - score(5, 4)) > 1e-2  # ... and it does matter
    np.testing.assert_allclose(np.linalg.norm(np.asarray(rotary_embedding(query, np.array([7])))),
                               np.linalg.norm(query), rtol=1e-5)  # a rotation keeps lengths
    model = GPT(10, context_length=8, embed_dim=16, num_heads=2, num_layers=1, positions="rotary")
    assert model(np.zeros((2, 8), "int32")).shape == (2, 8, 10)
    assert GPT.from_config(model.get_config()).blocks[0].attention.rotary
    with pytest.raises(ValueError, match="positions must be one of"):
        GPT(10, positions="relative")


def test_a_train_step_lowers_the_loss_on_a_repeated_text():
    from aigc_course.models.gpt import GPT, compile_gpt
    from aigc_course.runtime import set_seed

    set_seed(0)
    vocab = CharVocabulary.from_text(TEXT)
    ids = vocab.encode(TEXT * 4)
    inputs = np.stack([ids[i:i + 16] for i in range(0, 64, 4)])
    targets = np.stack([ids[i + 1:i + 17] for i in range(0, 64, 4)])
    model = GPT(len(vocab), context_length=16, embed_dim=32, num_heads=4, num_layers=1)
    compile_gpt(model, 3e-3)
    first = model.evaluate(inputs, targets, verbose=0)
    model.fit(inputs, targets, epochs=30, batch_size=16, verbose=0)
    assert model.evaluate(inputs, targets, verbose=0) < first - 1.0


def test_the_compiled_step_loop_runs_every_step_and_learns():
    from aigc_course.models.gpt import GPT, compile_gpt, random_windows
    from aigc_course.runtime import set_seed
    from aigc_course.training import train_steps_compiled

    set_seed(0)
    vocab = CharVocabulary.from_text(TEXT)
    inputs, targets = random_windows(vocab.encode(TEXT * 8), 16, 8 * 40, seed=0)
    model = GPT(len(vocab), context_length=16, embed_dim=32, num_heads=4, num_layers=1)
    model(inputs[:1])
    compile_gpt(model, 3e-3, jit_compile=False)
    before = model.evaluate(inputs, targets, verbose=0)
    seen = []
    result = train_steps_compiled(model, inputs, targets, batch_size=8, steps_per_call=10,
                                  on_progress=lambda step, logs: seen.append(step))
    assert seen == [10, 20, 30, 40] and int(model.optimizer.iterations.numpy()) == 40
    assert model.evaluate(inputs, targets, verbose=0) < before - 1.0 and result["compile_seconds"] > 0
    with pytest.raises(ValueError, match="multiple of steps_per_call"):
        train_steps_compiled(model, inputs[:8 * 15], targets[:8 * 15], batch_size=8, steps_per_call=10)


def test_time_budget_stops_training_early():
    from aigc_course.training import TimeBudget

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    data = np.zeros((64, 4), "float32"), np.zeros((64, 1), "float32")
    history = model.fit(*data, batch_size=8, epochs=100, verbose=0, callbacks=[TimeBudget(0.0)])
    assert len(history.history["loss"]) == 1  # stopped after the first batch of the first epoch
