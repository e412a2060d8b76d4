"""The chapter 06 models through the command line: targets of the shipped checkpoints, generate, bad input."""

from conftest import call_cli, last_json

from aigc_course.checkpoints import shipped_path


def test_pixelcnn_beats_the_vae_on_the_same_held_out_images(shipped_metrics):
    metrics = shipped_metrics("pixelcnn-mnist")
    assert metrics["images"] == 2000 and metrics["samples"] >= 200
    assert metrics["test_nll_nats"] <= 90
    assert metrics["test_nll_nats"] < shipped_metrics("vae-mnist")["iw_nll"]   # exact NLL below the VAE's estimate
    assert 0 < metrics["class_share_min"] <= 0.1 <= metrics["class_share_max"]


def test_realnvp_meets_its_bits_per_dim_target(shipped_metrics):
    metrics = shipped_metrics("realnvp-mnist")
    assert metrics["images"] == 2000 and metrics["temperature"] == 1.0
    assert 1.0 < metrics["bits_per_dim"] <= 1.6          # below 8 (uniform) by far, not below the published 1.05


def test_generate_pixelcnn_and_flow_grids(tmp_path):
    for name, extra in (("pixelcnn-mnist", ()), ("realnvp-mnist", ("--temperature", "0.7"))):
        out = tmp_path / f"{name}.png"
        result = call_cli("generate", name, "--n", "4", "--out", out, *extra)
        assert result.returncode == 0, result.stderr
        assert out.is_file() and "saved 4 samples" in result.stdout


def test_a_temperature_that_is_not_positive_is_refused():
    result = call_cli("generate", "realnvp-mnist", "--temperature", "0")
    assert result.returncode == 2 and "--temperature" in result.stderr


def test_a_checkpoint_of_another_model_is_refused_with_the_fix():
    result = call_cli("evaluate", "pixelcnn-mnist", "--weights", shipped_path("vae-mnist"))
    assert result.returncode == 2
    assert "vae-mnist" in result.stderr and "pixelcnn-mnist" in result.stderr and "Fix" in result.stderr
    result = call_cli("generate", "realnvp-mnist", "--weights", shipped_path("pixelcnn-mnist"))
    assert result.returncode == 2 and "not of 'realnvp-mnist'" in result.stderr
