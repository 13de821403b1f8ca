"""`train --devices N`: DistributedDataParallel with the gloo backend, two CPU
processes on real faces. Runs, resumes with another process count, and its
loss curve over 60 iterations tracks one process's at the same global batch."""
from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

from faceswap_parts.cli import main
from faceswap_parts.config import ModelConfig, TrainConfig
from faceswap_parts.training import Trainer
from faceswap_parts.models.checkpoint import load_checkpoint

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch built without distributed")

COMMON = ["--resolution", "64", "--capacity", "quick", "--no-self-attention", "--batch-size", "4", "--device", "cpu",
          "--precision", "fp32", "--no-perceptual", "--preview-interval", "0", "--no-progress"]
#: Long enough for both curves to come down together; quick and without self-attention, so they cost little.
ITERATIONS = 60


def history(workdir) -> dict[str, np.ndarray]:
    with open(workdir / "loss_history.csv", newline="") as f:
        rows = list(csv.reader(f))
    data = np.array(rows[1:], dtype=float)
    return {name: data[:, i] for i, name in enumerate(rows[0])}


def test_two_processes_track_one_and_resume_with_any_count(real_facesets, tmp_path, capfd):
    a, b = map(str, real_facesets)
    # One process, in this process, at the same global batch of 4.
    config = TrainConfig(a_dir=a, b_dir=b, workdir=str(tmp_path / "one"), batch_size=4, device="cpu",
                         precision="fp32", perceptual=False, preview_interval=0, save_interval=0,
                         backup_interval=0, progress=False,
                         model=ModelConfig(resolution=64, capacity="quick", self_attention=False))
    Trainer(config).train(ITERATIONS)
    one = history(tmp_path / "one")

    two_dir = tmp_path / "two"
    assert main(["train", "--a", a, "--b", b, "--workdir", str(two_dir), "--iterations", str(ITERATIONS), "--devices",
                 "2", "--save-interval", "30", *COMMON]) == 0
    assert "2 processes, device cpu each, batch 2 per process (4 in all)" in capfd.readouterr().out
    two = history(two_dir)
    assert np.array_equal(two["iteration"], np.arange(1, ITERATIONS + 1))  # process 0 alone wrote the history
    for name in ("G_A", "G_B", "D_A", "D_B", "recon_A", "recon_B"):
        # Same faces, draws and initial weights: the first step agrees to float rounding, and the
        # curves stay together (only the order of the gradient sums differs).
        assert two[name][0] == pytest.approx(one[name][0], rel=1e-4), name
        assert np.max(np.abs(two[name] - one[name]) / np.abs(one[name])) < 0.2, name
        assert two[name][-15:].mean() == pytest.approx(one[name][-15:].mean(), rel=0.03), name
    assert one["recon_A"][-15:].mean() < 0.7 * one["recon_A"][0]  # and both curves do go down

    # Resume on one process, then on two again: the checkpoint does not depend on the count.
    assert main(["train", "--workdir", str(two_dir), "--iterations", str(ITERATIONS + 3), "--devices", "1",
                 *COMMON[-3:]]) == 0
    assert load_checkpoint(two_dir / "checkpoint.pt")["iteration"] == ITERATIONS + 3
    assert main(["train", "--workdir", str(two_dir), "--iterations", str(ITERATIONS + 6), "--devices", "2",
                 *COMMON[-3:]]) == 0
    state = load_checkpoint(two_dir / "checkpoint.pt")
    assert state["iteration"] == ITERATIONS + 6
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    assert np.array_equal(history(two_dir)["iteration"], np.arange(1, ITERATIONS + 7))


@pytest.mark.parametrize("devices, batch, words", [(3, 4, "does not split over 3 devices"), (0, 4, "--devices must be")])
def test_bad_device_counts_are_one_line_errors(real_facesets, tmp_path, capsys, devices, batch, words):
    a, b = map(str, real_facesets)
    code = main(["train", "--a", a, "--b", b, "--workdir", str(tmp_path / "w"), "--iterations", "2",
                 "--devices", str(devices), *COMMON, "--batch-size", str(batch)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and words in err[0], err
    assert not (tmp_path / "w" / "checkpoint.pt").exists()


def test_channels_last_training_on_two_processes_has_no_stride_warning(real_facesets, tmp_path, capfd):
    """bf16 trains channels-last; 1x1 kernels must keep the strides their gradients come back with, or
    DDP warns "Grad strides do not match bucket view strides" and copies those gradients each step."""
    a, b = map(str, real_facesets)
    assert main(["train", "--a", a, "--b", b, "--workdir", str(tmp_path / "w"), "--iterations", "1", "--devices", "2",
                 "--capacity", "quick", "--batch-size", "4", "--device", "cpu", "--precision", "bf16",
                 "--no-perceptual", "--preview-interval", "0", "--no-progress"]) == 0  # self-attention's 1x1 convs
    assert "Grad strides" not in capfd.readouterr().err
