"""The chapter 02 GANs through the command line: targets of the shipped checkpoints, generate, errors."""

from conftest import call_cli


def test_dcgan_quality_and_coverage(shipped_metrics):
    metrics = shipped_metrics("dcgan-mnist")
    # issue #7's targets: confidence >= 0.90 and every digit between 5% and 15% of the samples (2,000 here)
    assert metrics["judge_confidence"] >= 0.90
    assert 0.05 <= metrics["class_share_min"] and metrics["class_share_max"] <= 0.15
    assert metrics["fid_judge_real"] < metrics["fid_judge"]  # real held-out images still score better
    # the InfoGAN code carries digit identity (codes drawn at random would give about 0.1-0.2)
    assert metrics["code_purity"] >= 0.5


def test_conditional_dcgan_draws_the_requested_digit(shipped_metrics):
    assert shipped_metrics("cdcgan-mnist")["label_match"] >= 0.95


def test_generate_writes_a_grid(tmp_path):
    from PIL import Image

    out = tmp_path / "sevens.png"
    result = call_cli("generate", "cdcgan-mnist", "--digit", "7", "--n", "16", "--out", out)
    assert result.returncode == 0, result.stderr
    assert Image.open(out).size[0] > 28 * 8


def test_digit_for_an_unconditional_gan_is_a_clear_error(tmp_path):
    result = call_cli("generate", "dcgan-mnist", "--digit", "3", "--out", tmp_path / "x.png")
    assert result.returncode == 2 and "not class-conditional" in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_train_refuses_an_out_path_keras_cannot_write(tmp_path):
    result = call_cli("train", "dcgan-mnist", "--out", tmp_path / "final")
    assert result.returncode == 2 and ".weights.h5" in result.stderr and not (tmp_path / "final").exists()
