"""The command line, run as a learner would: in a fresh process."""

from conftest import last_json, run_cli

EXPECTED_NAMES = ["judge-mnist", "charlstm-tang", "charlstm-shakespeare", "dcgan-mnist", "vae-mnist",
                  "gpt-tang", "gpt-shakespeare", "ddpm-mnist"]


def test_list_names_every_course_model():
    result = run_cli("list")
    assert result.returncode == 0
    for name in EXPECTED_NAMES:
        assert name in result.stdout


def test_evaluate_judge_prints_one_json_line():
    result = run_cli("evaluate", "judge-mnist")
    assert result.returncode == 0, result.stderr
    metrics = last_json(result.stdout)
    assert metrics["name"] == "judge-mnist" and metrics["test_accuracy"] >= 0.985
    assert metrics["test_images"] == 2000 and metrics["seconds"] > 0


def test_evaluate_without_a_checkpoint_says_how_to_train_one(tmp_path):
    result = run_cli("evaluate", "ddpm-mnist", "--weights", tmp_path / "missing.weights.h5")
    assert result.returncode == 2
    assert "no checkpoint at" in result.stderr and "train" in result.stderr and "Traceback" not in result.stderr


def test_unknown_model_and_classifier_generate_are_clear_errors():
    unknown = run_cli("evaluate", "gpt-5")
    assert unknown.returncode == 2 and "unknown model 'gpt-5'" in unknown.stderr
    classifier = run_cli("generate", "judge-mnist")
    assert classifier.returncode == 2 and "cannot generate" in classifier.stderr


def test_evaluate_with_a_checkpoint_of_another_model_is_refused(tmp_path):
    from aigc_course.checkpoints import shipped_path

    result = run_cli("evaluate", "judge-fashion", "--weights", shipped_path("judge-mnist"))
    assert result.returncode == 2
    assert "is a checkpoint of 'judge-mnist', not of 'judge-fashion'" in result.stderr


def test_train_then_evaluate_in_quick_mode(tmp_path):
    out = tmp_path / "judge.weights.h5"
    trained = run_cli("train", "judge-mnist", "--run-dir", tmp_path / "run", "--out", out)
    assert trained.returncode == 0, trained.stderr
    card = last_json(trained.stdout)
    assert card["epochs"] == 1 and 0.5 < card["test_accuracy"] <= 1.0
    evaluated = last_json(run_cli("evaluate", "judge-mnist", "--weights", out).stdout)
    assert evaluated["test_accuracy"] == card["test_accuracy"]


def test_demo_writes_a_gallery(tmp_path):
    result = run_cli("demo", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "第00章" in page and "test_accuracy" in page
    for image in ("00_judge_predictions.png", "00_bernoulli_k1.png", "00_bernoulli_k10.png"):
        assert (tmp_path / image).stat().st_size > 5000 and image in page
    assert "第05章" in page and "label_match" in page  # the diffusion section: grid, guided rows, trajectory
    for index in range(3):
        image = f"05_ddpm-mnist_{index}.png"
        assert (tmp_path / image).stat().st_size > 5000 and image in page
