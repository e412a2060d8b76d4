"""The shipped diffusion model through the command line: its targets, generation, bad input."""

import numpy as np
from PIL import Image

from conftest import call_cli


def test_ddpm_mnist_meets_its_targets_and_beats_the_dcgan_on_fid(shipped_metrics):
    from aigc_course.zoo import SCORED_SAMPLES, evaluation_mnist, load_trained, mnist_judge

    metrics = shipped_metrics("ddpm-mnist")
    assert metrics["samples"] == 1000 and metrics["sampler"] == "DDIM 50 steps, eta 0"
    assert metrics["judge_confidence"] >= 0.90
    assert 0.05 <= metrics["class_share_min"] and metrics["class_share_max"] <= 0.15
    assert metrics["label_match"] >= 0.95 and metrics["guided_samples"] == 500
    # the DCGAN scored the same way: as many samples, the same reference images
    data = evaluation_mnist()
    dcgan = load_trained("dcgan-mnist")[0]
    gan_metrics = mnist_judge(data).report(dcgan.sample(metrics["samples"], seed=0), data.x_train[:SCORED_SAMPLES],
                                           value_range=dcgan.value_range)
    assert metrics["fid_judge"] < gan_metrics["fid_judge"], (metrics["fid_judge"], gan_metrics["fid_judge"])


def test_generate_writes_a_grid_with_ddim_and_with_a_digit(tmp_path):
    out = tmp_path / "grid.png"
    result = call_cli("generate", "ddpm-mnist", "--steps", "20", "--n", "16", "--out", out)
    assert result.returncode == 0, result.stderr
    width, height = Image.open(out).size  # 8 x 2 tiles of 28 pixels with 2-pixel separators, enlarged twice
    assert "DDIM, 20 steps" in result.stdout and (width, height) == (2 * (8 * 30 + 2), 2 * (2 * 30 + 2))
    sevens = tmp_path / "sevens.png"
    result = call_cli("generate", "ddpm-mnist", "--steps", "20", "--n", "8", "--digit", "7", "--out", sevens)
    assert result.returncode == 0, result.stderr
    assert np.asarray(Image.open(sevens)).std() > 10  # not a blank grid
