"""Hostile and careless input, round two (issue 25): the workdir lock, outputs that are never overwritten
without asking, signals during a save, non-finite numbers, one person given twice, the weights file and
backups against a nearly full disk. The real CLI on real faces; saved work is hashed before and after."""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import pytest

from faceswap_parts.cli import build_parser, main
from faceswap_parts.errors import FaceswapError, FaceswapWarning
from faceswap_parts.models.checkpoint import load_checkpoint, load_model

FAST = ["--capacity", "lite", "--no-self-attention", "--batch-size", "2", "--device", "cpu", "--precision", "fp32",
        "--no-perceptual", "--preview-interval", "0", "--workers", "1", "--no-progress"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "faceswap_parts", *map(str, args)], capture_output=True, text=True,
                          env=ENV, timeout=600, **kwargs)


def train_args(facesets, workdir, iterations, *extra):
    return ["train", "--a", facesets[0], "--b", facesets[1], "--workdir", workdir, "--iterations", iterations,
            *FAST, *extra]


def one_line(result, code, *words):
    err = result.stderr.strip()
    assert result.returncode == code, (result.stdout, err)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


def start_training(facesets, workdir, *extra) -> subprocess.Popen:
    """A real `train` process, returned once its first iteration is under way."""
    proc = subprocess.Popen([sys.executable, "-m", "faceswap_parts",
                             *map(str, train_args(facesets, workdir, 100000, *extra))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    for line in proc.stdout:
        if line.startswith("device "):
            return proc
    raise AssertionError(proc.stderr.read())


@pytest.fixture(scope="module")
def trained(real_facesets, tmp_path_factory):
    """A workdir trained for 2 iterations by the CLI: checkpoint.pt and weights.pt."""
    workdir = tmp_path_factory.mktemp("trained") / "w"
    assert main(list(map(str, train_args(real_facesets, workdir, 2, "--save-interval", "1")))) == 0
    return workdir


# -- 1. one trainer per workdir -------------------------------------------------------------------------------
def test_a_second_trainer_is_refused_and_the_first_finishes_intact(real_facesets, tmp_path):
    workdir = tmp_path / "w"
    first = start_training(real_facesets, workdir, "--save-interval", "1")
    try:
        second = cli(*train_args(real_facesets, workdir, 30, "--save-interval", "1"))
        one_line(second, 1, f"{workdir} is in use by another training", f"process {first.pid} on", "stop that one")
    finally:
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=120)
    assert first.returncode == 130 and "checkpoint saved" in err, err
    state = load_checkpoint(workdir / "checkpoint.pt")
    rows = [line.split(",")[0] for line in (workdir / "loss_history.csv").read_text().splitlines()[1:]]
    assert rows == [str(i) for i in range(1, int(state["iteration"]) + 1)]  # every iteration once


def test_a_killed_trainer_leaves_no_stale_lock(real_facesets, tmp_path):
    workdir = tmp_path / "w"
    first = start_training(real_facesets, workdir)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert (workdir / "train.lock").exists()  # the file stays; the OS lock went with the process
    result = cli(*train_args(real_facesets, workdir, 1))
    assert result.returncode == 0 and "in use" not in result.stderr, result.stderr
    assert load_checkpoint(workdir / "checkpoint.pt")["iteration"] == 1


def test_in_one_process_the_newer_trainer_takes_the_workdir_over(real_facesets, tmp_path):
    from faceswap_parts.config import ModelConfig, TrainConfig
    from faceswap_parts.training import Trainer

    config = dict(a_dir=str(real_facesets[0]), b_dir=str(real_facesets[1]), workdir=str(tmp_path / "w"),
                  model=ModelConfig(resolution=64, capacity="lite", self_attention=False), batch_size=2,
                  device="cpu", precision="fp32", perceptual=False, preview_interval=0, workers=0, progress=False)
    older = Trainer(TrainConfig(**config))
    older.train(1)
    newer = Trainer(TrainConfig(**config))  # a notebook cell run again
    with pytest.raises(FaceswapError, match="a newer Trainer in this process holds"):
        older.train(2)
    assert newer.train(2).iteration == 2
    newer.close()
    # made before another trainer wrote the first checkpoint of a new workdir: refused, not overwriting it
    fresh = dict(config, workdir=str(tmp_path / "w2"))
    late = Trainer(TrainConfig(**fresh))
    Trainer(TrainConfig(**fresh)).train(1)
    with pytest.raises(FaceswapError, match="a checkpoint appeared"):
        late.train(3)
    assert load_checkpoint(tmp_path / "w2" / "checkpoint.pt")["iteration"] == 1


def test_readers_never_see_a_half_written_checkpoint(real_facesets, tmp_path, trained):
    workdir = tmp_path / "w"
    shutil.copytree(trained, workdir)
    proc = start_training(real_facesets, workdir, "--save-interval", "1")
    try:
        loads, deadline = 0, time.monotonic() + 60
        while loads < 15 and time.monotonic() < deadline:
            load_model(workdir, device="cpu")  # conversion's and evaluation's load, during saves
            loads += 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
    assert loads == 15 and load_checkpoint(workdir / "checkpoint.pt")["iteration"] > 2


# -- 2. outputs ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["checkpoint", "checkpoint renamed .mp4", "text file", "other suffix"])
def test_convert_never_overwrites_what_is_not_a_video(video_a_3s, trained, tmp_path, case):
    target = {"checkpoint": trained / "checkpoint.pt", "checkpoint renamed .mp4": tmp_path / "model.mp4",
              "text file": tmp_path / "notes.mp4", "other suffix": tmp_path / "result.txt"}[case]
    if case == "checkpoint renamed .mp4":
        shutil.copyfile(trained / "checkpoint.pt", target)
    elif case == "text file":
        target.write_text("my notes")
    before = {p: digest(p) for p in [*trained.iterdir(), target] if p.is_file()}
    result = cli("convert", video_a_3s, "--model", trained, "--out", target, "--max-frames", "3", "--quiet",
                 "--overwrite")
    words = ["must end in .mp4, .mov, .mkv"] if target.suffix != ".mp4" else ["refusing to overwrite", "not a video"]
    one_line(result, 1, *words)
    assert {p: digest(p) for p in before} == before
    assert not (case == "other suffix" and target.exists())


def test_an_existing_output_video_is_replaced_only_with_overwrite(video_a_3s, trained, tmp_path):
    out = tmp_path / "swap.mkv"
    assert cli("convert", video_a_3s, "--model", trained, "--out", out, "--max-frames", "3", "--quiet").returncode == 0
    assert out.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # the suffix chose Matroska
    before = digest(out)
    again = cli("convert", video_a_3s, "--model", trained, "--out", out, "--max-frames", "4", "--quiet")
    one_line(again, 1, f"{out} already exists", "--overwrite (-y)")
    assert digest(out) == before
    assert cli("convert", video_a_3s, "--model", trained, "--out", out, "--max-frames", "4", "--quiet",
               "-y").returncode == 0
    assert digest(out) != before


# -- 3. signals during a save --------------------------------------------------------------------------------
SIGNAL_DURING_SAVE = textwrap.dedent("""
    import os, signal, sys, torch
    from faceswap_parts.cli import main
    from faceswap_parts.training import checkpoint
    real_save, saves = torch.save, [0]
    def save(obj, f, *args, **kwargs):  # the signal(s) arrive while the checkpoint is being written
        saves[0] += 1
        if "optim_g" in obj and saves[0] == 1:
            for _ in range(int(sys.argv[1])):
                os.kill(os.getpid(), signal.SIGTERM)
        return real_save(obj, f, *args, **kwargs)
    checkpoint.torch.save = save
    sys.exit(main(sys.argv[2:]))
""")


def test_sigterm_during_a_save_waits_for_it_and_then_stops(real_facesets, tmp_path, trained):
    workdir = tmp_path / "w"
    shutil.copytree(trained, workdir)
    result = subprocess.run([sys.executable, "-c", SIGNAL_DURING_SAVE, "1",
                             *map(str, train_args(real_facesets, workdir, 10, "--save-interval", "1"))],
                            capture_output=True, text=True, env=ENV, timeout=600)
    assert result.returncode == 130, result.stderr
    assert "cut short" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert "saving the checkpoint before stopping" in result.stderr
    state = load_checkpoint(workdir / "checkpoint.pt")
    assert state["iteration"] == 3
    assert f"stopped at iteration 3 of 10; checkpoint saved: {workdir / 'checkpoint.pt'}" in result.stderr


def test_a_second_signal_aborts_the_save_and_keeps_the_previous_checkpoint(real_facesets, tmp_path, trained):
    workdir = tmp_path / "w"
    shutil.copytree(trained, workdir)
    before = digest(workdir / "checkpoint.pt")
    result = subprocess.run([sys.executable, "-c", SIGNAL_DURING_SAVE, "2",
                             *map(str, train_args(real_facesets, workdir, 10, "--save-interval", "1"))],
                            capture_output=True, text=True, env=ENV, timeout=600)
    assert result.returncode == 130, result.stderr
    assert "you interrupted the checkpoint's save, so the checkpoint of iteration 2 is kept" in result.stderr
    assert "disk" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert digest(workdir / "checkpoint.pt") == before
    assert not list(workdir.glob(".checkpoint.pt.*"))  # the aborted write left nothing


# -- 4. non-finite numbers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["extract", "{v}", "--out", "{o}", "--start", "nan"],
                                  ["extract", "{v}", "--out", "{o}", "--end", "nan"],
                                  ["extract", "{v}", "--out", "{o}", "--start", "inf"],
                                  ["convert", "{v}", "--model", "{m}", "--out", "{o}.mp4", "--start", "nan"],
                                  ["convert", "{v}", "--model", "{m}", "--out", "{o}.mp4", "--end=-inf"],
                                  ["evaluate", "{v}", "--a", "{v}", "--b", "{v}", "--out", "{o}", "--start", "NaN"]])
def test_non_finite_numbers_are_refused_in_one_line(argv, video_a_3s, trained, tmp_path):
    args = [a.format(v=video_a_3s, o=tmp_path / "out", m=trained) for a in argv]
    one_line(cli(*args), 2, f"faceswap-parts {args[0]}: error: argument", "must be a finite number")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("setting", ["lr_g=Infinity", "w_eyes=NaN", "lr_d=-Infinity"])
def test_set_refuses_non_finite_numbers(setting, real_facesets, tmp_path):
    one_line(cli(*train_args(real_facesets, tmp_path / "w", 1, "--set", setting)), 1, "must be a finite number")
    assert not (tmp_path / "w").exists()


def test_every_float_option_of_every_command_rejects_non_finite_values():
    from faceswap_parts.commands.arguments import finite_float

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    floats = [(name, action.dest) for name, sub in commands.items() for action in sub._actions
              if action.type is float]
    assert floats == []
    finite = {(name, action.dest) for name, sub in commands.items() for action in sub._actions
              if action.type is finite_float}
    assert {("extract", "start"), ("extract", "end"), ("convert", "start"), ("convert", "end"), ("evaluate", "start"),
            ("convert", "feather"), ("train", "coverage"), ("extract", "min_sharpness")} <= finite


# -- 5. one person given twice -------------------------------------------------------------------------------
def test_faces_shared_by_a_and_b_are_warned_about(real_facesets, tmp_path):
    b = tmp_path / "b"
    shutil.copytree(real_facesets[1] / "aligned_faces", b)
    for i, face in enumerate(sorted((real_facesets[0] / "aligned_faces").glob("*.png"))[:3]):
        shutil.copyfile(face, b / f"copied_{i}.png")  # same bytes under other names
    os.link(sorted((real_facesets[0] / "aligned_faces").glob("*.png"))[3], b / "linked.png")  # the same file
    result = cli("train", "--a", real_facesets[0], "--b", b, "--workdir", tmp_path / "w", "--iterations", 1, *FAST)
    assert result.returncode == 0, result.stderr
    assert "faceswap-parts train: warning: 4 of A's 12 face images are also among B's" in result.stderr


# -- 6. the weights file, backups and a nearly full disk ------------------------------------------------------
def test_the_weights_file_converts_like_the_checkpoint(trained, video_a_3s, tmp_path):
    import torch

    weights = trained / "weights.pt"
    assert weights.stat().st_size < (trained / "checkpoint.pt").stat().st_size / 5
    state = torch.load(weights, weights_only=True)
    assert state["iteration"] == 2 and {v.dtype for v in state["model"].values()} == {torch.float16}
    assert not any(k.startswith("discriminators.") for k in state["model"])
    alone = tmp_path / "shared_model"
    alone.mkdir()
    shutil.copyfile(weights, alone / "weights.pt")  # what a user shares: no optimiser state
    outs = {}
    for name, model in (("checkpoint", trained), ("weights file", weights), ("workdir with weights", alone)):
        outs[name] = tmp_path / f"{name.replace(' ', '_')}.mp4"
        result = cli("convert", video_a_3s, "--model", model, "--out", outs[name], "--max-frames", "4", "--quiet",
                     "--no-audio", "--precision", "fp32", "--device", "cpu")
        assert result.returncode == 0, result.stderr
    from faceswap_parts.io.video import read_frames

    frames = {name: read_frames(path)[0] for name, path in outs.items()}
    import numpy as np

    for name in ("weights file", "workdir with weights"):
        diff = np.abs(np.stack(frames[name]).astype(int) - np.stack(frames["checkpoint"]).astype(int))
        assert diff.mean() < 0.5, (name, diff.mean())  # fp16 weights: the same video to the eye


def test_backups_give_way_to_a_nearly_full_disk(tmp_path, monkeypatch):
    from faceswap_parts.training import checkpoint as ckpt

    path = tmp_path / "checkpoint.pt"
    free = {"bytes": 10_000}
    monkeypatch.setattr(ckpt, "_free_bytes", lambda folder: free["bytes"])
    backups = tmp_path / "backups"

    def save_and_back_up(iteration, keep):
        (tmp_path / "new").write_bytes(bytes([iteration]) * 1000)  # a 1000-byte checkpoint, saved atomically
        os.replace(tmp_path / "new", path)
        ckpt.write_backup(path, iteration, keep=keep)
        return sorted(int(p.stem.split("_")[1]) for p in backups.iterdir())

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [save_and_back_up(i, keep=3) for i in (1, 2, 3)][-1] == [1, 2, 3]
        free["bytes"] = 500  # the next save would not fit, but the keep limit drops a backup anyway
        assert save_and_back_up(4, keep=3) == [2, 3, 4]
    with pytest.warns(FaceswapWarning, match=r"nearly full \(0 MB free, a checkpoint is 0 MB\): keeping 3 backup"
                                             r"\(s\) instead of 4 \(free some space, or lower --keep-backups\)"):
        assert save_and_back_up(5, keep=5) == [3, 4, 5]
    assert (backups / "checkpoint_000003.pt").read_bytes() == bytes([3]) * 1000  # the kept ones are intact
    shutil.rmtree(backups)
    with pytest.warns(FaceswapWarning, match="no backup at iteration 6"):
        assert save_and_back_up(6, keep=3) == []


def test_checkpoint_size_benchmark_reports_both_files():
    result = subprocess.run([sys.executable, "benchmarks/checkpoint_size.py", "--capacities", "quick", "--repeats", "1"],
                            capture_output=True, text=True, env=ENV, timeout=600,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert result.returncode == 0, result.stderr
    import json

    run, = json.loads(result.stdout.strip().splitlines()[-1])["runs"]
    assert run["capacity"] == "quick" and run["parameters"] == 10_214_638
    # 12 bytes a parameter (weights and two Adam moments) against 2 a generator parameter
    assert run["checkpoint_mb"] == pytest.approx(run["parameters"] * 12 / 1e6, rel=0.02)
    assert run["weights_mb"] < run["checkpoint_mb"] / 5 and run["save_s"] > run["weights_s"] > 0
