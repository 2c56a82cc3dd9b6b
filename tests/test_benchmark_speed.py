"""benchmarks.engineering.speed's profile: where a step's time goes, in shares that add up to the timed time."""

import pytest

from benchmarks.engineering.speed import child_gankit, where_time_goes


class Event:
    def __init__(self, key: str, self_us: float):
        self.key, self.self_cpu_time_total = key, self_us


def test_operators_are_sorted_into_kinds_and_the_rest_is_outside_them():
    events = [Event("aten::convolution_backward", 500_000), Event("aten::mkldnn_convolution", 200_000),
              Event("aten::native_batch_norm", 50_000), Event("aten::leaky_relu_backward", 40_000),
              Event("aten::_fused_adam_", 30_000), Event("aten::copy_", 20_000), Event("aten::add_", 10_000),
              Event("aten::addmm", 5_000)]
    shares = where_time_goes(events, seconds=1.0)
    assert shares == pytest.approx({"convolution": 0.7, "matrix products": 0.005, "normalization": 0.05,
                                    "activations": 0.04, "optimizer": 0.03, "copies": 0.02, "other ops": 0.01,
                                    "outside operators": 0.145})


def test_a_profiled_run_reports_shares_not_rates():
    r = child_gankit({"system": "gan-2d (MLP)", "mode": "fp32", "batch": 16, "steps": 3, "warmup": 1,
                      "device": "cpu", "profile": True})
    assert set(r) == {"shares"} and sum(r["shares"].values()) == pytest.approx(1.0)
    assert r["shares"]["matrix products"] > 0 and r["shares"]["convolution"] == 0  # an MLP


def test_a_stopped_row_ends_what_it_started(tmp_path, monkeypatch):
    """A row past its time limit is stopped with everything it started (torchrun's workers, data workers)."""
    import os
    import time

    from benchmarks.engineering.children import spawn

    (tmp_path / "slow_row.py").write_text(
        "import json, subprocess, sys, time\n"
        "job = json.loads(sys.argv[-1])\n"
        "worker = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        "open(job['pid_file'], 'w').write(str(worker.pid))\n"
        "time.sleep(120)\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    pid_file = tmp_path / "worker.pid"
    t0 = time.perf_counter()
    assert spawn({"pid_file": str(pid_file)}, "slow_row", timeout=3) == {"error": "stopped after 3 s"}
    assert time.perf_counter() - t0 < 30
    worker = int(pid_file.read_text())
    for _ in range(50):  # gone, or a zombie waiting for a parent that reaps it
        status = f"/proc/{worker}/status"
        if not os.path.exists(status) or "State:\tZ" in open(status).read():
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the row's worker {worker} outlived the stop")
