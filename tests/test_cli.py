"""The command line: in-process through ``cli.main`` (as ``python -m aigc_course`` runs it), plus one real
subprocess smoke test; errors the user can fix are one line with exit 2, bugs keep their traceback."""

import pytest

from conftest import REPO, call_cli, last_json, requires_model_data, run_cli

EXPECTED_NAMES = ["judge-mnist", "charlstm-tang", "charlstm-shakespeare", "dcgan-mnist", "vae-mnist",
                  "gpt-tang", "gpt-shakespeare", "ddpm-mnist"]


def test_subprocess_smoke_list_and_a_clear_error():
    """The one test that starts the real command: `list`, then an error the user can fix."""
    listing = run_cli("list")
    assert listing.returncode == 0
    for name in EXPECTED_NAMES:
        assert name in listing.stdout
    unknown = run_cli("evaluate", "gpt-5")
    assert unknown.returncode == 2 and "unknown model 'gpt-5'" in unknown.stderr
    # one line, and nothing else: TensorFlow's start-up notices (abseil, oneDNN) are kept off the terminal
    assert unknown.stderr.strip().splitlines() == [unknown.stderr.strip()]
    assert unknown.stderr.startswith("错误 (error): unknown model 'gpt-5'")


def test_evaluate_judge_prints_one_json_line(shipped_metrics):
    metrics = shipped_metrics("judge-mnist")
    assert metrics["name"] == "judge-mnist" and metrics["test_accuracy"] >= 0.985
    assert metrics["test_images"] == 2000 and metrics["seconds"] > 0


def test_evaluate_without_a_checkpoint_says_how_to_train_one(tmp_path):
    result = call_cli("evaluate", "ddpm-mnist", "--weights", tmp_path / "missing.weights.h5")
    assert result.returncode == 2
    assert "no checkpoint at" in result.stderr and "train" in result.stderr


def test_classifier_cannot_generate():
    classifier = call_cli("generate", "judge-mnist")
    assert classifier.returncode == 2 and "cannot generate" in classifier.stderr


def test_evaluate_with_a_checkpoint_of_another_model_is_refused():
    from aigc_course.checkpoints import shipped_path

    result = call_cli("evaluate", "judge-fashion", "--weights", shipped_path("judge-mnist"))
    assert result.returncode == 2
    assert "is a checkpoint of 'judge-mnist', not of 'judge-fashion'" in result.stderr


def test_train_then_evaluate_in_quick_mode(tmp_path):
    requires_model_data("judge-mnist")
    out = tmp_path / "judge.weights.h5"
    trained = call_cli("train", "judge-mnist", "--run-dir", tmp_path / "run", "--out", out)
    assert trained.returncode == 0, trained.stderr
    card = last_json(trained.stdout)
    assert card["epochs"] == 1 and 0.5 < card["test_accuracy"] <= 1.0
    evaluated = last_json(call_cli("evaluate", "judge-mnist", "--weights", out).stdout)
    assert evaluated["test_accuracy"] == card["test_accuracy"]


# Every numeric option of every command, with a value just outside its range
OUT_OF_RANGE = [
    (["train", "judge-mnist", "--epochs", "0"], "--epochs"),
    (["train", "judge-mnist", "--devices", "0"], "--devices"),
    (["train", "judge-mnist", "--workers", "0"], "--workers"),
    (["evaluate", "judge-mnist", "--seed", "-1"], "--seed"),
    (["generate", "ddpm-mnist", "--n", "0"], "--n"),
    (["generate", "ddpm-mnist", "--n", "-3"], "--n"),
    (["generate", "charlstm-shakespeare", "--length", "-5"], "--length"),
    (["generate", "charlstm-shakespeare", "--temperature", "0"], "--temperature"),
    (["generate", "charlstm-shakespeare", "--temperature", "nan"], "--temperature"),
    (["generate", "charlstm-shakespeare", "--top-k", "0"], "--top-k"),
    (["generate", "charlstm-shakespeare", "--top-p", "1.5"], "--top-p"),
    (["generate", "charlstm-shakespeare", "--top-p", "0"], "--top-p"),
    (["generate", "charlstm-shakespeare", "--beam-width", "0"], "--beam-width"),
    (["generate", "charlstm-shakespeare", "--repetition-penalty", "0.5"], "--repetition-penalty"),
    (["generate", "ddpm-mnist", "--digit", "11"], "--digit"),
    (["generate", "ddpm-mnist", "--steps", "0"], "--steps"),
    (["generate", "ddpm-mnist", "--steps", "1001"], "--steps"),
    (["generate", "ddpm-mnist", "--eta", "-0.1"], "--eta"),
    (["generate", "ddpm-mnist", "--guidance", "-1"], "--guidance"),
    (["generate", "ddpm-mnist", "--n", "three"], "--n"),
    (["doctor", "--probe-seconds", "0"], "--probe-seconds"),
]


def test_every_numeric_option_is_covered():
    from aigc_course.cli import NUMERIC_OPTIONS

    covered = {option for _, option in OUT_OF_RANGE}
    assert set(NUMERIC_OPTIONS) <= covered


@pytest.mark.parametrize("arguments, option", OUT_OF_RANGE)
def test_out_of_range_options_name_the_option_and_its_range(arguments, option, tmp_path):
    result = call_cli(*arguments)
    assert result.returncode == 2
    error_line = result.stderr.strip().splitlines()[-1]
    assert option in error_line and "allowed:" in error_line, result.stderr
    assert not (tmp_path / "samples.png").exists()


def test_an_unexpected_exception_keeps_its_traceback(monkeypatch):
    """Only the course's own errors become a one-line message: anything else is a bug and must show."""
    from aigc_course import cli
    from aigc_course.errors import SettingsError

    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "cmd_list", broken)
    with pytest.raises(ZeroDivisionError):
        call_cli("list")

    def bad_input(args):
        raise SettingsError("top_p must be in (0, 1]")

    monkeypatch.setattr(cli, "cmd_list", bad_input)
    result = call_cli("list")
    assert result.returncode == 2 and result.stderr.strip() == "错误 (error): top_p must be in (0, 1]"


def documented_evaluate_keys() -> set[str]:
    """The keys of the README's `evaluate` table (a row's first cell may name several, split by ' / ')."""
    import re

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("## `evaluate` 输出的 JSON 键", 1)[1].split("\n## ", 1)[0]
    return {key for row in table.splitlines() if row.startswith("| `")
            for key in re.findall(r"`([a-z_]+)`", row.split("|")[1])}


def test_every_key_evaluate_prints_is_documented(shipped_metrics):
    from aigc_course.checkpoints import shipped_path
    from aigc_course.zoo import MODELS

    documented = documented_evaluate_keys()
    assert {"name", "val_nats_per_char", "label_match", "iw_nll"} <= documented
    for name in MODELS:
        if shipped_path(name).is_file():
            undocumented = set(shipped_metrics(name)) - documented
            assert not undocumented, f"{name} prints keys the README does not list: {undocumented}"


def test_an_output_name_without_an_image_format_is_a_clear_error(tmp_path):
    result = call_cli("generate", "vae-mnist", "--n", "4", "--out", tmp_path / "grid")
    assert result.returncode == 2 and "must end in an image format" in result.stderr
    assert not any(tmp_path.iterdir())


def test_a_folder_given_as_the_mirror_says_to_use_the_data_folder_instead(monkeypatch, tmp_path):
    from aigc_course.data import files
    from aigc_course.errors import DataError

    monkeypatch.setenv("AIGC_COURSE_MIRROR", str(tmp_path))
    with pytest.raises(DataError, match="is not a web address.*AIGC_COURSE_DATA="):
        files.mirror_url()
