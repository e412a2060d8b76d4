"""The four data sets, whichever way they arrived (data folder, cache, download): shapes, splits, content."""

import numpy as np
import pytest

from aigc_course.data import (image_pipeline, load_fashion_mnist, load_mnist, load_shakespeare,
                              load_tang_poems, poem_shape, select_forms, split_poems)


@pytest.mark.needs_data("mnist")
def test_mnist_split_is_fixed_disjoint_and_announced(capsys):
    first, second = load_mnist(), load_mnist()
    printed = capsys.readouterr().out
    if len(first.x_train) == 60000:  # the official split: the 60,000 training images could be had
        assert "60,000 张训练 / 10,000 张测试" in printed and first.x_val.shape == (10000, 28, 28)
    else:                            # only the test split: a fixed 8,000 / 2,000 division of it, announced
        assert "只有 10,000 张测试集图像" in printed and "8,000 张训练 / 2,000 张验证" in printed
        assert first.x_train.shape == (8000, 28, 28) and first.x_val.shape == (2000, 28, 28)
    assert np.array_equal(first.x_val, second.x_val) and np.array_equal(first.y_train, second.y_train)
    train_keys = {image.tobytes() for image in first.x_train}
    duplicates = sum(image.tobytes() in train_keys for image in first.x_val)
    assert duplicates < 0.001 * len(first.x_val)  # MNIST has a few duplicates across its splits
    assert set(np.unique(first.y_val)) == set(range(10))


@pytest.mark.needs_data("mnist")
def test_the_evaluation_split_is_the_same_on_every_machine():
    """The shipped checkpoints are scored on the last 2,000 of a fixed permutation of the test split."""
    data = load_mnist(verbose=False, test_split_only=True)
    assert data.x_train.shape == (8000, 28, 28) and data.x_val.shape == (2000, 28, 28)
    assert np.bincount(data.y_val, minlength=10).min() > 150
    assert int(data.x_val.astype("int64").sum()) == int(load_mnist(verbose=False, test_split_only=True)
                                                        .x_val.astype("int64").sum())


@pytest.mark.needs_data("fashion_mnist")
def test_fashion_mnist_is_complete():
    data = load_fashion_mnist(verbose=False)
    assert data.x_train.shape == (60000, 28, 28) and data.x_val.shape == (10000, 28, 28)
    assert np.bincount(data.y_train).tolist() == [6000] * 10


@pytest.mark.needs_data("mnist")
def test_image_pipeline_scales_and_batches():
    data = load_mnist(verbose=False)
    unit = next(iter(image_pipeline(data.x_val, data.y_val, batch_size=64, shuffle=False)))
    symmetric = next(iter(image_pipeline(data.x_val, batch_size=64, value_range="symmetric", shuffle=False)))
    assert unit[0].shape == (64, 28, 28, 1) and unit[1].shape == (64,)
    assert float(unit[0].numpy().min()) == 0.0 and float(unit[0].numpy().max()) == 1.0
    assert float(symmetric.numpy().min()) == -1.0 and float(symmetric.numpy().max()) == 1.0


@pytest.mark.needs_data("shakespeare")
def test_shakespeare_split_is_nanogpt_90_10():
    splits = load_shakespeare()
    total = len(splits.train) + len(splits.val)
    assert total == 1115394 and len(splits.train) == int(total * 0.9)
    assert splits.train.startswith("First Citizen:")


@pytest.mark.needs_data("tang_poems")
def test_tang_poems_simplified_and_traditional():
    simplified = load_tang_poems()
    traditional = load_tang_poems(simplified=False)
    assert len(simplified) == len(traditional) == 57607
    assert traditional[0].text.startswith("秦川雄帝宅，函谷壯皇居。")
    assert simplified[0].text.startswith("秦川雄帝宅，函谷壮皇居。")
    joined = "".join(poem.text for poem in simplified[:2000])
    assert "壯" not in joined and "國" not in joined


@pytest.mark.needs_data("tang_poems")
def test_poem_forms_and_split_by_poem():
    quatrains = select_forms(list(load_tang_poems()), ("五言绝句", "七言绝句"))
    assert len(quatrains) > 10000
    assert {poem_shape(poem.text) for poem in quatrains} == {(5, 4), (7, 4)}
    train, val = split_poems(quatrains)
    assert 0.08 < len(val) / len(quatrains) < 0.12
    assert not {poem.text for poem in train} & {poem.text for poem in val}
    again_train, _ = split_poems(list(reversed(quatrains)))
    assert {poem.text for poem in again_train} == {poem.text for poem in train}


def test_poem_shape_rules():
    assert poem_shape("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。") == (5, 4)
    assert poem_shape("白日依山尽，黄河入海流。欲穷千里目，更上一层。") is None   # uneven lines
    assert poem_shape("白日依山尽。黄河入海流，欲穷千里目，更上一层楼。") is None   # wrong marks
    assert poem_shape("白日依山尽，黄河入海流。欲穷千里目，更上一层楼") is None     # unfinished
    assert poem_shape("白日依山□，黄河入海流。") is None                           # not all Han


@pytest.mark.needs_data("shakespeare", "tang_poems")
def test_char_vocabulary_and_windows():
    from aigc_course.data import CharVocabulary, char_windows, join_poems

    splits = load_shakespeare()
    vocab = CharVocabulary.from_text(splits.train)
    assert len(vocab) == 65
    ids = vocab.encode(splits.train)
    assert vocab.decode(ids[:14]) == "First Citizen:"
    inputs, targets = next(iter(char_windows(ids, 64, batch_size=8, shuffle=False)))
    assert inputs.shape == (8, 64) and targets.shape == (8, 64)
    assert np.array_equal(inputs.numpy()[:, 1:], targets.numpy()[:, :-1])  # targets are shifted by one

    poems_train, _ = split_poems(select_forms(list(load_tang_poems())))
    text = join_poems(poems_train)
    poem_vocab = CharVocabulary.from_text(text)
    assert text.count("\n") == len(poems_train)
    assert poem_vocab.decode(poem_vocab.encode("春眠不觉晓，")) == "春眠不觉晓，"


def test_prompt_outside_the_vocabulary_is_a_clear_error():
    from aigc_course.data import CharVocabulary

    vocab = CharVocabulary.from_text("abc ")
    with pytest.raises(ValueError, match=r"characters not in the vocabulary: 'XZ'.*Fix:"):
        vocab.encode("abXcZ")
