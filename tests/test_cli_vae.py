"""The chapter 03 VAEs through the command line: targets of the shipped checkpoints and generate."""

from conftest import call_cli


def test_vae_meets_its_likelihood_targets(shipped_metrics):
    metrics = shipped_metrics("vae-mnist")
    assert metrics["images"] == 2000 and metrics["iw_samples"] >= 100
    assert metrics["negative_elbo"] <= 105 and metrics["iw_nll"] <= 100
    assert metrics["iw_nll"] <= metrics["negative_elbo"]


def test_2d_vae_meets_its_target(shipped_metrics):
    metrics = shipped_metrics("vae2d-mnist")
    assert metrics["negative_elbo"] <= 160 and metrics["iw_nll"] <= metrics["negative_elbo"]


def test_generate_vae_grid(tmp_path):
    out = tmp_path / "grid.png"
    result = call_cli("generate", "vae-mnist", "--n", "16", "--out", out)
    assert result.returncode == 0, result.stderr
    assert out.is_file()
