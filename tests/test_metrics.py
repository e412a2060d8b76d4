"""FID-judge and the judge: the formula on hand-computable cases, then sanity on real images."""

import numpy as np
import pytest

from aigc_course.metrics import Judge, code_purity, frechet_distance


def test_frechet_distance_of_one_dimensional_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(1.0, 2.0, size=(200_000, 1))
    b = rng.normal(-1.0, 0.5, size=(200_000, 1))
    # For 1-D Gaussians: (m_a - m_b)^2 + (s_a - s_b)^2 = 4 + 2.25
    assert frechet_distance(a, b) == pytest.approx(6.25, rel=0.01)


def test_frechet_distance_with_full_covariances_matches_closed_form():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(5000, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 2.0]])
    b = rng.normal(size=(4000, 3)) + 0.5
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eig(cov_a @ cov_b)  # Tr sqrt(Ca Cb) = sum of sqrt of its eigenvalues
    expected = (((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b)
                - 2 * np.sqrt(values.real).sum())
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_rejects_bad_shapes():
    with pytest.raises(ValueError, match="same D"):
        frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))


@pytest.fixture(scope="module")
def judge_and_data():
    """The shipped judge and the split it was trained on: its 2,000 held-out images are unseen on any machine."""
    from aigc_course.testing import require_datasets
    from aigc_course.zoo import evaluation_mnist, load_trained

    require_datasets("mnist")
    data = evaluation_mnist()
    return Judge(load_trained("judge-mnist")[0], data.class_names), data


def test_shipped_judge_accuracy_target(judge_and_data):
    judge, data = judge_and_data
    assert judge.accuracy(data.x_val, data.y_val) >= 0.985


def test_fid_judge_orders_real_blurred_and_noise(judge_and_data):
    import tensorflow as tf

    judge, data = judge_and_data
    reference, other_half = data.x_val[:1000], data.x_val[1000:]
    real = judge.fid(other_half, reference)
    kernel = np.outer(*[np.array([1, 4, 6, 4, 1], "float32")] * 2)
    kernel = (kernel / kernel.sum())[:, :, None, None]
    blurred = tf.nn.conv2d(other_half[..., None].astype("float32") / 255, kernel, 1, "SAME").numpy()
    noise = np.random.default_rng(0).random((1000, 28, 28, 1)).astype("float32")
    blurred_fid, noise_fid = judge.fid(blurred, reference, (0, 1)), judge.fid(noise, reference, (0, 1))
    print(f"FID-judge: real halves {real:.2f}, blurred {blurred_fid:.2f}, noise {noise_fid:.2f}")
    assert real < blurred_fid < noise_fid
    assert real * 5 < blurred_fid


def test_report_confidence_and_class_shares(judge_and_data):
    judge, data = judge_and_data
    report = judge.report(data.x_val[:1000], data.x_train[:2000], data.x_val[1000:])
    assert report["judge_confidence"] > 0.95
    assert 0.05 < report["class_share_min"] <= report["class_share_max"] < 0.15
    ones = data.x_val[data.y_val == 1][:200]
    collapsed = judge.report(ones, data.x_train[:2000])
    assert collapsed["class_share_max"] > 0.95 and collapsed["class_share_min"] == 0.0
    assert collapsed["fid_judge"] > report["fid_judge"]


def test_code_purity_by_hand():
    codes = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert code_purity(codes, np.array([3, 3, 3, 3, 5, 5, 5, 5])) == 1.0
    assert code_purity(codes, np.array([3, 3, 3, 7, 5, 5, 2, 2])) == pytest.approx(5 / 8)  # 3 + 2 of 8
    with pytest.raises(ValueError, match="one code per prediction"):
        code_purity(codes, np.array([1, 2]))


def test_float_images_need_their_value_range_and_are_never_guessed():
    from aigc_course.errors import SettingsError
    from aigc_course.metrics import as_judge_input
    from aigc_course.plotting import to_display

    dark = np.full((2, 28, 28), -0.005, "float32")   # a [-1, 1] batch that a min() < -0.01 test took for [0, 1]
    with pytest.raises(SettingsError, match=r"value_range=\(0, 1\) or \(-1, 1\)"):
        to_display(dark)
    np.testing.assert_allclose(to_display(dark, (-1, 1)), 0.4975, atol=1e-6)
    np.testing.assert_allclose(to_display(dark, (0, 1)), 0.0)
    assert as_judge_input(np.full((3, 28, 28, 1), 255, np.uint8), (-1, 1)).min() == 1.0  # uint8 is always 0-255
    with pytest.raises(SettingsError, match="upper bound"):
        to_display(dark, (1, 1))


def test_reference_features_are_remembered_by_content(judge_and_data):
    judge, data = judge_and_data
    reference = data.x_val[:300].copy()
    first = judge.reference_features(reference)
    assert judge.reference_features(reference.copy()) is first                  # same content: computed once
    np.testing.assert_allclose(first, judge.features(reference), rtol=1e-6)
    reference[0, 0, 0] = 255 - reference[0, 0, 0]                               # changed content: recomputed
    assert judge.reference_features(reference) is not first
    as_float = reference.astype("float32") / 255                                 # a float batch keys on its range
    assert judge.reference_features(as_float, (0, 1)) is not judge.reference_features(as_float * 2 - 1, (-1, 1))
    report = judge.report(data.x_val[300:400], data.x_val[:300])
    assert report["fid_judge"] == judge.fid(data.x_val[300:400], data.x_val[:300])
