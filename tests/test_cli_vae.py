"""The chapter 03 VAEs through the command line: targets of the shipped checkpoints and generate."""

from conftest import last_json, run_cli


def test_vae_meets_its_likelihood_targets():
    metrics = last_json(run_cli("evaluate", "vae-mnist").stdout)
    assert metrics["images"] == 2000 and metrics["iw_samples"] >= 100
    assert metrics["negative_elbo"] <= 105 and metrics["iw_nll"] <= 100
    assert metrics["iw_nll"] <= metrics["negative_elbo"]


def test_2d_vae_meets_its_target():
    metrics = last_json(run_cli("evaluate", "vae2d-mnist").stdout)
    assert metrics["negative_elbo"] <= 160 and metrics["iw_nll"] <= metrics["negative_elbo"]


def test_generate_vae_grid(tmp_path):
    out = tmp_path / "grid.png"
    result = run_cli("generate", "vae-mnist", "--n", "16", "--out", out)
    assert result.returncode == 0, result.stderr
    assert out.is_file()
