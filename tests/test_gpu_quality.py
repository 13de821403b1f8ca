"""benchmarks/gpu_quality.py, the GPU session's quality proof: one line without CUDA, and its
steps run end to end on the CPU with tiny budgets (so the script a GPU session runs works)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from faceswap_parts.io.images import read_image

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_quality.py"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the script would run for real")
def test_without_cuda_it_says_so_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0
    assert result.stdout.strip().splitlines() == [
        "gpu_quality: no CUDA GPU on this machine (torch.cuda.is_available() is False); nothing to check"]


def test_missing_clips_name_what_to_carry(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--clips", str(tmp_path / "none"),
                             "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "person_a_train.mp4" in result.stderr and "carry" in result.stderr


@pytest.mark.slow  # the GPU quality proof end to end on the CPU: minutes on a 2-core CPU (run with -m slow)
def test_every_step_runs_on_the_cpu(video_a_3s, video_b_3s, tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "person_a_train.mp4").symlink_to(video_a_3s)
    (clips / "person_b_train.mp4").symlink_to(video_b_3s)
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--clips", str(clips), "--out", str(out),
                             "--capacity", "quick", "--batch-size", "2", "--budget-s", "2", "--points", "2",
                             "--probe-iterations", "3", "--a-split", "2", "--b-split", "2", "--score-seconds", "1"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["device"] == "cpu" and report["it_per_s"] > 0
    every = report["iterations"] // 2
    assert [p["iteration"] for p in report["points"]] == [every, 2 * every]
    for direction in ("AtoB", "BtoA"):
        assert 0 <= report["points"][-1][direction]["identity_transfer_rate"] <= 1
    assert json.loads((out / "gpu_quality.json").read_text()) == report
    assert read_image(out / "contact_sheet.png").shape[2] == 3 and read_image(out / "curves.png").shape[2] == 3
