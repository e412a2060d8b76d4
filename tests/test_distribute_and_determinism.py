"""Every model trains the same on two mirrored devices as on one; quick runs repeat exactly."""

import json
import subprocess
import sys

import numpy as np
import pytest

from aigc_course.distribute import RELATIVE_TOLERANCE
from aigc_course.zoo import MODELS
from conftest import REPO, requires_model_data, run_cli

# One TensorFlow process for all models: the CPU is split into two logical devices once, at start-up.
ALL_REPORTS = """
import json, traceback
from aigc_course.distribute import configure_devices, one_step_difference
from aigc_course.zoo import MODELS

configure_devices(2)
reports, first_failure = {}, None
for name in sorted(MODELS):
    try:
        reports[name] = one_step_difference(name, devices=2)
    except Exception:
        note = "" if first_failure is None else (
            f"(after {first_failure} failed: a failed collective op can abort the later ones; check this model "
            f"alone with one_step_difference({name!r}))\\n")
        reports[name] = {"error": note + traceback.format_exc()}
        first_failure = first_failure or name
print(json.dumps(reports))
"""


@pytest.fixture(scope="module")
def mirrored_reports():
    """{name: one_step_difference report} for every named model, computed in one subprocess."""
    result = subprocess.run([sys.executable, "-c", ALL_REPORTS], capture_output=True, text=True, cwd=REPO,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-5000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_one_mirrored_step_matches_single_device(name, request):
    requires_model_data(name)
    report = request.getfixturevalue("mirrored_reports")[name]
    assert "error" not in report, report.get("error")
    assert report["replicas"] == 2
    assert report["max_step_size"] > 1e-4  # the step really changed the weights
    # the same step up to float error; a loss averaged over each replica's half batch gives about 1 x the step
    assert report["max_weight_difference"] <= RELATIVE_TOLERANCE * report["max_step_size"], report


def test_check_mode_draws_do_not_depend_on_the_batch():
    from aigc_course.distribute import example_index, example_noise

    images = np.random.default_rng(0).random((8, 28, 28, 1)).astype("float32")
    noise, index = np.asarray(example_noise(images, 100)), np.asarray(example_index(images, 1000))
    assert np.array_equal(noise[3:5], np.asarray(example_noise(images[3:5], 100)))  # bit for bit
    assert np.array_equal(index[3:5], np.asarray(example_index(images[3:5], 1000)))
    assert abs(noise.mean()) < 0.1 and abs(noise.std() - 1.0) < 0.1
    assert len(set(index.tolist())) > 4 and index.min() >= 0 and index.max() < 1000
    assert not np.allclose(noise, np.asarray(example_noise(images, 100, salt=1)))


def test_two_quick_training_runs_give_the_same_numbers(tmp_path):
    requires_model_data("judge-mnist")
    cards = []
    for run in ("a", "b"):
        result = run_cli("train", "judge-mnist", "--run-dir", tmp_path / run,
                         "--out", tmp_path / run / "w.weights.h5")
        assert result.returncode == 0, result.stderr
        cards.append(json.loads(result.stdout.strip().splitlines()[-1]))
    for key in ("final_val_accuracy", "test_accuracy"):
        assert cards[0][key] == cards[1][key]
