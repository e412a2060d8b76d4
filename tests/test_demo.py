"""``demo``, the first thing a learner runs: with the data, and on a fresh machine with no data at all."""

from conftest import call_cli, requires_model_data


def test_demo_writes_a_gallery(tmp_path):
    requires_model_data("judge-mnist")
    result = call_cli("demo", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "第00章" in page and "test_accuracy" in page and "跳过本节" not in page
    for image in ("00_judge_predictions.png", "00_bernoulli_k1.png", "00_bernoulli_k10.png"):
        assert (tmp_path / image).stat().st_size > 5000 and image in page
    assert "第05章" in page and "label_match" in page  # the diffusion section: grid, guided rows, trajectory
    for index in range(3):
        image = f"05_ddpm-mnist_{index}.png"
        assert (tmp_path / image).stat().st_size > 5000 and image in page
    assert "第06章" in page and "test_nll_nats" in page and "bits_per_dim" in page
    for index in range(3):                              # PixelCNN samples, how they fill in, flow temperatures
        image = f"06_likelihood_{index}.png"
        assert (tmp_path / image).stat().st_size > 5000 and image in page


def test_demo_with_no_data_no_cache_and_no_network(tmp_path, monkeypatch):
    """Shipped weights alone: samples, poems and heat maps are drawn; what needs real images says so."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("AIGC_COURSE_DATA", str(empty))
    monkeypatch.setenv("AIGC_COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("AIGC_COURSE_OFFLINE", "1")
    out = tmp_path / "gallery"
    result = call_cli("demo", "--out", out)
    assert result.returncode == 0, result.stderr
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "跳过本节" in page and "AIGC_COURSE_DATA" in page       # chapter 00 says what is missing, and the fix
    assert "00_judge_predictions.png" not in page
    assert page.count("<pre>") >= 6 + 1 + 6 + 1                      # poems and passages of the four text models
    assert "验证损失需要数据" in page
    for image in ("02_dcgan-mnist.png", "03_vae2d-mnist.png", "04_gpt-tang_attention.png", "05_ddpm-mnist_0.png",
                  "06_likelihood_0.png"):
        assert (out / image).stat().st_size > 5000 and image in page
