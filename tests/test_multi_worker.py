"""Real multi-machine training, on one machine: two worker processes on 127.0.0.1 train one step of the
smallest model together (MultiWorkerMirroredStrategy) and get the single-device step."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from aigc_course.distribute import RELATIVE_TOLERANCE, configure_workers, read_tf_config
from aigc_course.errors import CourseError
from conftest import REPO, call_cli, requires_model_data

WORKER = ("import json; from aigc_course.distribute import multi_worker_step; "
          "print(json.dumps(multi_worker_step('judge-mnist', workers=2)))")
TIMEOUT_S = 120


def free_ports(count: int) -> list[int]:
    """``count`` ports nobody listens on at 127.0.0.1 (bound together, so they differ, then released)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def tf_config(ports, index: int) -> str:
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
                       "task": {"type": "worker", "index": index}})


def test_two_workers_train_the_single_device_step(tmp_path):
    requires_model_data("judge-mnist")
    ports = free_ports(2)
    processes, logs = [], []
    try:
        for index in range(2):
            env = {**os.environ, "TF_CONFIG": tf_config(ports, index), "CUDA_VISIBLE_DEVICES": ""}
            log = open(tmp_path / f"worker{index}.log", "w+", encoding="utf-8")
            logs.append(log)
            processes.append(subprocess.Popen([sys.executable, "-c", WORKER], stdout=log, stderr=subprocess.STDOUT,
                                              text=True, cwd=REPO, env=env))
        deadline = time.monotonic() + TIMEOUT_S
        for process in processes:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pytest.fail(f"the workers did not finish within {TIMEOUT_S} s")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        outputs = []
        for log in logs:
            log.seek(0)
            outputs.append(log.read())
            log.close()
    reports = []
    for index, (process, output) in enumerate(zip(processes, outputs)):
        assert process.returncode == 0, f"worker {index}:\n{output[-5000:]}"
        reports.append(json.loads(output.strip().splitlines()[-1]))
    assert [report["task"] for report in reports] == ["worker:0", "worker:1"]
    assert all(report["replicas"] == 2 for report in reports)
    assert reports[0]["digest"] == reports[1]["digest"]  # the workers hold the same weights after the step
    for report in reports:
        assert report["max_step_size"] > 1e-4
        assert report["max_weight_difference"] <= RELATIVE_TOLERANCE * report["max_step_size"], report


@pytest.mark.parametrize("value, message", [
    (None, "TF_CONFIG is not set"),
    ("{cluster: 1}", "not valid JSON"),
    ('{"cluster": ["a:1"], "task": {}}', "'cluster' object and a 'task' object"),
    ('{"cluster": {"worker": ["a:1", "b"]}, "task": {"type": "worker", "index": 0}}', "'host:port' strings"),
    ('{"cluster": {"worker": ["a:1", "b:1"], "ps": ["c:1"]}, "task": {"type": "worker", "index": 0}}',
     "only 'worker'"),
    ('{"cluster": {"worker": ["a:1", "b:1", "c:1"]}, "task": {"type": "worker", "index": 0}}', "lists 3 workers"),
    ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}', "is not one of"),
])
def test_a_wrong_tf_config_is_a_clear_error(monkeypatch, value, message):
    if value is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", value)
    with pytest.raises(CourseError, match="TF_CONFIG") as caught:
        configure_workers(2)
    assert message in str(caught.value)


def test_a_good_tf_config_is_read(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", tf_config([2222, 2223], 1))
    assert read_tf_config(2)["task"] == {"type": "worker", "index": 1}


def test_the_cli_says_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    result = call_cli("train", "judge-mnist", "--workers", "2", "--run-dir", tmp_path)
    assert result.returncode == 2
    assert "TF_CONFIG is not set" in result.stderr and "README" in result.stderr
