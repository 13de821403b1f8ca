"""benchmarks/gpu_check.py: one line and exit 0 without CUDA; and its steps
run end to end on the CPU (tiny budgets), so the script a GPU session runs works."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the script would run for real")
def test_without_cuda_it_says_so_in_one_line():
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert result.stdout.strip().splitlines() == [
        "gpu_check: no CUDA GPU on this machine (torch.cuda.is_available() is False); nothing to check"]


@pytest.mark.slow  # the GPU check end to end on the CPU: minutes on a 2-core CPU (run with -m slow)
def test_every_step_runs_on_the_cpu(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--seconds", "0.2", "--warmup", "1",
                             "--finite-iterations", "3", "--configs", "64:quick", "--max-frames", "8",
                             "--batch-size", "2"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ok"] is True
    assert report["extraction"]["frames"] == 16 and report["extraction"]["fps"] > 0
    (run,) = report["training"]
    # both rates come from the same count and time: compare them to what those give, unrounded
    assert run["iterations"] >= 2 and run["seconds"] > 0
    assert run["it_per_s"] == pytest.approx(run["iterations"] / run["seconds"], rel=1e-3)
    assert run["samples_per_s"] == pytest.approx(2 * 2 * run["iterations"] / run["seconds"], rel=1e-3)
    assert report["finite"] == {**report["finite"], "iterations": 3, "finite": True}
    assert report["kill_resume"]["resumed_to"] == report["kill_resume"]["killed_after"] + 5
    assert report["conversion"]["frames"] == 8 and report["conversion"]["fps"] > 0
