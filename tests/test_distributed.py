"""`train --devices N`: DistributedDataParallel with the gloo backend, two CPU
processes on real faces. Runs, resumes with another process count, and its
loss curve over 60 iterations tracks one process's at the same global batch."""
from __future__ import annotations

import csv
import multiprocessing

import numpy as np
import pytest
import torch
from conftest import click_stop_at

from faceswap_parts.cli import main
from faceswap_parts.errors import FaceswapError
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


def _checkpoint_iteration(path) -> int:
    return int(load_checkpoint(path)["iteration"])


def test_the_notebook_panel_trains_on_two_processes_and_its_stop_reaches_both(real_facesets, tmp_path):
    """The training notebook's ``DEVICES = 2``: the cell starts the processes and watches process 0."""
    from faceswap_parts import notebooks as nb
    from faceswap_parts.notebooks.panel import TrainingPanel, train_with_panel
    from faceswap_parts.training.launcher import DevicesTrainer

    a, b = map(str, real_facesets)
    config = TrainConfig(a_dir=a, b_dir=b, workdir=str(tmp_path / "local"), batch_size=4, device="cpu",
                         precision="fp32", perceptual=False, save_interval=3, backup_interval=0, progress=False)
    model = {"resolution": 64, "capacity": "quick", "self_attention": False}
    trainer = nb.make_trainer(config, model, devices=2)
    assert isinstance(trainer, DevicesTrainer) and trainer.iteration == 0
    assert trainer.config.model == ModelConfig(resolution=64, capacity="quick", self_attention=False)
    sync = nb.CheckpointSync(tmp_path / "local", tmp_path / "drive")
    panel = TrainingPanel(iterations=40, display_interval=2)
    click_stop_at(panel, 5)
    result = train_with_panel(trainer, panel, sync=sync)
    # Process 0 trains on while its report crosses, and the request then travels with the next
    # iteration's losses: both processes stop a step or two later, together, and what the panel shows is saved.
    stopped = result.iteration
    assert result.stopped_early and trainer.iteration == stopped and 6 <= stopped <= 9
    assert f"stopped at iteration {stopped}" in panel.status.value and panel.progress.value == stopped
    assert [it for it, _ in panel.history["G_A"]] == [1, 2, 3, 4, 5]  # process 0's losses, each iteration to Stop
    assert bytes(panel.preview.value)[:4] == b"\x89PNG"  # a preview grid came across
    assert _checkpoint_iteration(tmp_path / "drive" / "checkpoint.pt") == stopped  # and the save reached "Drive"

    # Run the cell again: it resumes at the saved iteration and trains on to the target.
    trainer = nb.make_trainer(config, model, devices=2)
    assert trainer.iteration == stopped
    panel = TrainingPanel(iterations=stopped + 2, display_interval=2)
    result = train_with_panel(trainer, panel, sync=sync)
    assert not result.stopped_early and result.iteration == stopped + 2
    assert f"finished at iteration {stopped + 2}" in panel.status.value
    assert _checkpoint_iteration(tmp_path / "drive" / "checkpoint.pt") == stopped + 2


def test_the_notebooks_devices_field_refuses_what_cannot_run(tmp_path, monkeypatch):
    from faceswap_parts import notebooks as nb

    config = TrainConfig(a_dir="a", b_dir="b", workdir=str(tmp_path / "run"), batch_size=4)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(FaceswapError, match="^DEVICES = 2: 2 devices asked for, but this machine has no GPU"):
        nb.make_trainer(config, devices=2)
    odd = TrainConfig(a_dir="a", b_dir="b", workdir=str(tmp_path / "run"), batch_size=6, device="cpu")
    with pytest.raises(FaceswapError, match="^DEVICES = 4: --batch-size 6 does not split over 4 devices"):
        nb.make_trainer(odd, devices=4)
    with pytest.raises(FaceswapError, match="DEVICES must be >= 1, got 0"):
        nb.make_trainer(config, devices=0)
    assert not (tmp_path / "run").exists()  # nothing was written


def test_a_failing_callback_stops_every_process_and_process_0_saves(real_facesets, tmp_path):
    from faceswap_parts.training.launcher import DevicesTrainer

    a, b = map(str, real_facesets)
    config = TrainConfig(a_dir=a, b_dir=b, workdir=str(tmp_path / "run"), batch_size=4, device="cpu",
                         precision="fp32", perceptual=False, preview_interval=0, save_interval=0, backup_interval=0,
                         progress=False, model=ModelConfig(resolution=64, capacity="quick", self_attention=False))
    trainer = DevicesTrainer(config, devices=2)

    def fail_at_3(progress):
        if progress.iteration == 3:
            raise RuntimeError("the watcher broke")

    with pytest.raises(RuntimeError, match="the watcher broke"):
        trainer.train(1000, fail_at_3)
    assert multiprocessing.active_children() == []
    assert 3 <= trainer.iteration == _checkpoint_iteration(tmp_path / "run" / "checkpoint.pt") < 1000


def test_devices_trainer_takes_an_init_from_models_architecture_before_any_process_starts(real_facesets, tmp_path):
    from faceswap_parts.training import Trainer
    from faceswap_parts.training.launcher import DevicesTrainer

    a, b = map(str, real_facesets)
    fast = dict(a_dir=a, b_dir=b, batch_size=4, device="cpu", precision="fp32", perceptual=False, preview_interval=0,
                backup_interval=0, progress=False)
    source = tmp_path / "source"
    Trainer(TrainConfig(workdir=str(source), model=ModelConfig(resolution=64, capacity="quick", self_attention=False),
                        **fast)).train(1)
    new = TrainConfig(workdir=str(tmp_path / "pair"), init_from=str(source), **fast)  # default architecture: lite
    trainer = DevicesTrainer(new, devices=2)
    assert (trainer.config.model.capacity, trainer.config.model.self_attention) == ("quick", False)
    assert trainer.iteration == 0
    with pytest.raises(FaceswapError, match=r"^--init-from .* is a model of another architecture: capacity='lite' "
                                            r"\(it has 'quick'\)"):
        DevicesTrainer(new, {"capacity": "lite"}, devices=2)
    assert not (tmp_path / "pair").exists()  # refused before anything was written
