"""Benchmark jobs in fresh processes: `spawn` runs `python -m MODULE --child JOB` and reads back the JSON result the
child prints (`run_child`), so each measurement has a process of its own (its own peak memory, no warm caches)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable


def run_child(job_json: str, children: dict[str, Callable[[dict], dict]]) -> None:
    """In the child: run the job its `kind` names and print its result as the last line of JSON."""
    job = json.loads(job_json)
    print(json.dumps(children[job["kind"]](job)))


def spawn(job: dict, module: str = "benchmarks.engineering.speed", timeout: float | None = None) -> dict:
    """Run one job in a fresh process (`python -m module --child JOB`), killed after `timeout` seconds; returns its
    JSON result or {'error': ...}."""
    # Its own process group, so a stop reaches what it started: SIGTERM first, which torchrun passes on to its
    # workers (they run in sessions of their own), then SIGKILL for whatever is left in the group.
    proc = subprocess.Popen([sys.executable, "-m", module, "--child", json.dumps(job)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)

    def stop() -> None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()

    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop()
        return {"error": f"stopped after {timeout:.0f} s"}
    except BaseException:  # Ctrl-C reaches this process only: stop the child's group too
        stop()
        raise
    if proc.returncode != 0:
        lines = [x for x in stderr.strip().splitlines() if x.strip()]
        return {"error": lines[-1] if lines else f"exit {proc.returncode}"}
    try:
        return json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": "the child printed no result"}


def spawn_median(job: dict, repeats: int, module: str = "benchmarks.engineering.speed") -> dict:
    """The median run of `repeats` (by images per second); all rates are kept."""
    runs = [spawn(job, module) for _ in range(repeats)]
    if any("error" in r for r in runs):
        return next(r for r in runs if "error" in r)
    mid = sorted(runs, key=lambda r: r["img_per_s"])[len(runs) // 2]
    return {**mid, "all_img_per_s": [round(r["img_per_s"], 1) for r in runs],
            "peak_mb": max(r["peak_mb"] for r in runs)}
