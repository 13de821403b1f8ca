"""The quality benchmark's logic, run for real on the 3 s clips: extraction,
training, conversion and scoring of frames the model never trained on."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from faceswap_parts.io.images import read_image

ROOT = Path(__file__).resolve().parents[1]
SCORES = ("identity_transfer_rate", "identity_match_rate", "sharpness_ratio", "mean_distance_to_a", "mean_distance_to_b",
          "landmark_error",
          "stability_ratio", "flicker_ratio", "coverage", "seam_score")


def run_benchmark(video_a, video_b, out, *extra):
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "swap_quality.py"), "--video-a", str(video_a),
         "--video-b", str(video_b), "--a-split", "2", "--b-split", "2", "--every", "2",
         "--batch-size", "2", "--perceptual", "off", "--eval-every", "3", "--device", "cpu", "--out", str(out),
         "--set", "workers=1", *extra],
        capture_output=True, text=True, timeout=600, cwd=ROOT)


@pytest.mark.slow  # the quality benchmark end to end: minutes on a 2-core CPU (run with -m slow)
def test_swap_quality_benchmark_short_real_run(video_a_3s, video_b_3s, tmp_path):
    out = tmp_path / "bench"
    proc = run_benchmark(video_a_3s, video_b_3s, out, "--iterations", "2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(result) == {"config", "reencoded", "points"}
    assert result["config"]["iterations"] == 2 and result["config"]["perceptual"] == "off"
    assert result["config"]["overrides"] == {"workers": 1}
    assert [p["iteration"] for p in result["points"]] == [2]  # every 2
    for entry in [result["reencoded"], *result["points"]]:
        for direction in ("AtoB", "BtoA"):
            scores = entry[direction]
            assert set(scores) == set(SCORES)
            assert 0 <= scores["identity_transfer_rate"] <= 1 and 0 < scores["coverage"] <= 1
            assert 0 < scores["mean_distance_to_a"] < 2 and 0 < scores["mean_distance_to_b"] < 2
            assert 0 < scores["landmark_error"] < 1 and scores["stability_ratio"] > 0
    first = result["points"][0]
    assert 0 < first["train_wall_s"] and 0 < first["train_cpu_s"]
    # re-encoded, each video still looks like its own person, from frames after the split
    assert result["reencoded"]["AtoB"]["mean_distance_to_a"] < result["reencoded"]["AtoB"]["mean_distance_to_b"]
    assert result["reencoded"]["BtoA"]["mean_distance_to_b"] < result["reencoded"]["BtoA"]["mean_distance_to_a"]
    assert read_image(out / "curves.png").shape[2] == 3
    sheet = read_image(out / "contact_sheet.png")
    assert sheet.shape[1] > 4 * 160 and sheet.shape[0] > 160  # a header and a checkpoint row
    assert sorted(p.name for p in (out / "converted").iterdir()) == ["AtoB_000002.mp4", "BtoA_000002.mp4"]
    # --resume goes on from the checkpoint: the points already scored are kept, not scored again,
    # and the training time goes on from what they recorded
    baseline_report = (out / "reports" / "reencoded_A" / "report.json").stat().st_mtime_ns
    proc = run_benchmark(video_a_3s, video_b_3s, out, "--iterations", "3", "--resume", "--capacity", "quick",
                         "--schedule", "short", "--keep-checkpoints")
    assert proc.returncode == 0, proc.stderr[-2000:]
    resumed = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [p["iteration"] for p in resumed["points"]] == [2, 3]  # and the last iteration
    assert resumed["points"][:1] == result["points"]
    # and the baselines are not scored again
    assert resumed["reencoded"] == result["reencoded"]
    assert (out / "reports" / "reencoded_A" / "report.json").stat().st_mtime_ns == baseline_report
    assert resumed["points"][1]["train_cpu_s"] > result["points"][0]["train_cpu_s"]
    assert resumed["config"]["capacity"] == "lite"  # the architecture is the checkpoint's
    # every scored point's checkpoint is kept, also where it falls between the trainer's saves
    assert sorted(p.name for p in (out / "workdir" / "backups").iterdir()) == ["checkpoint_000003.pt"]
    # the kept checkpoints (from the resumed part on) can be scored again with other conversion masks
    masks = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "mask_modes.py"), "--out", str(out), "--iterations", "3",
         "--masks", "learned,face", "--color-corrections", "adain,mean", "--video-a", str(video_a_3s),
         "--video-b", str(video_b_3s), "--a-split", "2",
         "--b-split", "2", "--eval-every", "3", "--device", "cpu"], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert masks.returncode == 0, masks.stderr[-2000:]
    scored = json.loads(masks.stdout.strip().splitlines()[-1])["points"]
    assert [(p["iteration"], p["mask"], p["color_correction"]) for p in scored] == [
        (3, "learned", "adain"), (3, "learned", "mean"), (3, "face", "adain"), (3, "face", "mean")]
    assert all(set(p[d]) == set(SCORES) for p in scored for d in ("AtoB", "BtoA"))
    sheet = read_image(out / "mask_modes" / "contact_sheet.png")  # a row per conversion, a face per direction
    assert sheet.shape[0] > 4 * 160 and sheet.shape[1] > 2 * 160
    missing = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "mask_modes.py"), "--out", str(out),
                              "--iterations", "2"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert missing.returncode == 2 and "no checkpoint kept for iteration 2" in missing.stderr
