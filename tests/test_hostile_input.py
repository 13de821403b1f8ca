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
    """A real `train` process, returned once it holds the workdir's lock (it writes its pid into the lock
    file after taking the lock; a new workdir is locked when training starts)."""
    proc = subprocess.Popen([sys.executable, "-m", "faceswap_parts",
                             *map(str, train_args(facesets, workdir, 100000, *extra))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    lock, deadline = workdir / "train.lock", time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if lock.is_file() and f'"pid": {proc.pid},' in lock.read_text():
            return proc
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(proc.communicate()[1])


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
    loads, seen, deadline = 0, set(), time.monotonic() + 300
    try:  # conversion's and evaluation's loads, while the trainer saves at every iteration
        while (loads < 15 or len(seen) < 3) and time.monotonic() < deadline:
            load_model(workdir, device="cpu")
            seen.add(load_checkpoint(workdir / "checkpoint.pt")["iteration"])
            loads += 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
    assert loads >= 15 and len(seen) >= 3, (loads, seen)  # every load succeeded, across several saves


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
    from faceswap_parts.settings import finite_float

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
        free["bytes"] = 1500  # the copy or the next save, not both; but the keep limit drops a backup anyway
        assert save_and_back_up(4, keep=3) == [2, 3, 4]
    free["bytes"] = 500
    with pytest.warns(FaceswapWarning, match=r"nearly full \(0 MB free, a checkpoint is 0 MB\): keeping 2 backup"
                                             r"\(s\) instead of 4 \(free some space, or lower --keep-backups\)"):
        assert save_and_back_up(5, keep=5) == [4, 5]
    assert (backups / "checkpoint_000004.pt").read_bytes() == bytes([4]) * 1000  # the kept ones are intact
    shutil.rmtree(backups)
    with pytest.warns(FaceswapWarning, match="no backup at iteration 6"):
        assert save_and_back_up(6, keep=3) == []


def test_damage_to_the_checkpoint_in_place_leaves_its_backup_intact(trained, tmp_path):
    from faceswap_parts.training.checkpoint import write_backup

    workdir = tmp_path / "w"
    shutil.copytree(trained, workdir)
    backup = write_backup(workdir / "checkpoint.pt", 2, keep=3)
    before = digest(backup)
    with open(workdir / "checkpoint.pt", "r+b") as f:  # what `dd conv=notrunc` or a bad sector does
        f.seek(os.path.getsize(workdir / "checkpoint.pt") // 2)  # inside the weights
        f.write(b"\0" * 4096)
    assert digest(backup) == before and os.stat(backup).st_ino != os.stat(workdir / "checkpoint.pt").st_ino
    with pytest.raises(FaceswapError, match=f"corrupted.*copy a backup over it \\(newest good: {backup}\\)"):
        load_checkpoint(workdir / "checkpoint.pt")
    assert load_checkpoint(backup)["iteration"] == 2


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


# -- issue 28: non-finite weights are never saved as good, nor loaded -----------------------------------------
def test_non_finite_weights_are_not_saved(real_facesets, tmp_path, trained):
    import torch

    from faceswap_parts.config import TrainConfig
    from faceswap_parts.training import Trainer

    workdir = tmp_path / "w"
    shutil.copytree(trained, workdir)
    before = digest(workdir / "checkpoint.pt")
    trainer = Trainer(TrainConfig.from_dict({**load_checkpoint(workdir / "checkpoint.pt")["train_config"],
                                             "workdir": str(workdir)}))
    with torch.no_grad():
        next(trainer.model.encoder.parameters()).view(-1)[7] = float("inf")
    with pytest.raises(FaceswapError, match="no longer finite numbers .* at iteration 2, so they were not saved; "
                                            "the checkpoint of iteration 2 is kept"):
        trainer.save()
    assert digest(workdir / "checkpoint.pt") == before
    with pytest.raises(FaceswapError, match="w_eyes=nan: training settings must be finite"):
        TrainConfig(w_eyes=float("nan"))


def test_a_checkpoint_with_non_finite_weights_is_refused_naming_a_finite_backup(trained, tmp_path, video_a_3s,
                                                                             real_facesets):
    import torch

    from faceswap_parts.models.checkpoint import payload_digest

    workdir = tmp_path / "w"
    shutil.copytree(trained, workdir)
    (workdir / "backups").mkdir(exist_ok=True)
    good = workdir / "backups" / "checkpoint_000002.pt"
    shutil.copyfile(workdir / "checkpoint.pt", good)
    state = torch.load(workdir / "checkpoint.pt", weights_only=True)
    for value in state["model"].values():
        if value.is_floating_point():
            value.fill_(float("nan"))
    state["digest"] = payload_digest(state)  # what a run with lr_g=inf saved before: a digest that matches
    bad = workdir / "backups" / "checkpoint_000003.pt"
    torch.save(state, workdir / "checkpoint.pt")
    shutil.copyfile(workdir / "checkpoint.pt", bad)
    (workdir / "weights.pt").unlink()
    before = {p: digest(p) for p in workdir.rglob("*.pt")}
    for result in (cli("convert", video_a_3s, "--model", workdir, "--out", tmp_path / "o.mp4", "--quiet"),
                   cli(*train_args(real_facesets, workdir, 5))):
        one_line(result, 1, "holds non-finite weights (NaN or inf)", f"newest good: {good}")
    assert {p: digest(p) for p in before} == before and not (tmp_path / "o.mp4").exists()


# -- issue 28: extraction that can be run again, workdirs apart from faces, messages ---------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs (grown later by the test); skipped where mounting is not allowed."""
    folder = tmp_path / "small"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3M", "tmpfs", str(folder)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)


def test_an_extraction_stopped_by_a_full_disk_runs_again_after_space_is_freed(video_a_3s, small_disk):
    out = small_disk / "faces"
    command = ["extract", video_a_3s, "--out", out, "--landmarks", "mtcnn", "--device", "cpu", "--quiet"]
    full = cli(*command)
    err = one_line(full, 1, "No space left on device", "free some space and run the same command again")
    assert f"{out}/" in err  # names the file that did not fit
    subprocess.run(["mount", "-o", "remount,size=40M", str(small_disk)], check=True)
    again = cli(*command)
    assert again.returncode == 0, again.stderr
    faces = load_faceset_json(out)
    assert faces["summary"]["complete"] is True and len(faces["faces"]) == 90
    assert len(list((out / "aligned_faces").iterdir())) == 90


def load_faceset_json(folder):
    import json

    return json.loads((folder / "faces.json").read_text())


def test_an_extraction_killed_mid_way_runs_again_but_never_touches_the_users_files(video_a_3s, tmp_path):
    out = tmp_path / "faces"
    command = ["extract", video_a_3s, "--out", out, "--landmarks", "mtcnn", "--device", "cpu", "--quiet"]
    proc = subprocess.Popen([sys.executable, "-m", "faceswap_parts", *map(str, command)], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("aligned_faces/*.png"))) < 5:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert load_faceset_json(out)["summary"]["complete"] is False  # written before the first face
    result = cli(*command)  # the same command again: the interrupted extraction restarts
    assert result.returncode == 0, result.stderr
    assert load_faceset_json(out)["summary"]["complete"] is True
    mine = out / "aligned_faces" / "holiday.png"
    shutil.copyfile(next(out.glob("aligned_faces/*.png")), mine)
    one_line(cli(*command, "--overwrite"), 1, "1 file(s) that faceswap-parts did not write", "holiday.png")
    assert mine.is_file()


@pytest.mark.parametrize("where", ["aligned_faces", "aligned_faces/run", "..", "plain"])
def test_a_workdir_and_a_face_folder_are_kept_apart(real_facesets, tmp_path, where):
    a, b = real_facesets
    if where == "plain":  # a plain folder of face images used as the workdir too
        a = tmp_path / "plain"
        shutil.copytree(real_facesets[0] / "aligned_faces", a)
        workdir = a
    else:
        workdir = (a / where).resolve() if where != ".." else a.parent
    before = sorted(p for p in a.rglob("*"))
    words = ["is inside --workdir"] if where == ".." else ["is inside the face folder", "previews would be read"]
    one_line(cli("train", "--a", a, "--b", b, "--workdir", workdir, "--iterations", 1, *FAST), 1, *words)
    assert sorted(p for p in a.rglob("*")) == before  # no lock file, no preview, nothing


def test_misleading_messages_are_gone(trained, real_facesets, tmp_path, video_a_3s):
    # a folder where the checkpoint file belongs, with --a/--b given
    workdir = tmp_path / "w"
    (workdir / "checkpoint.pt").mkdir(parents=True)
    one_line(cli(*train_args(real_facesets, workdir, 1)), 1, "checkpoint.pt is a folder where the checkpoint file")
    # masks on a file
    one_line(cli("masks", trained / "config.json"), 1, "config.json is a file; give the face folder")
    # convert --model W/checkpoint.pt takes the file
    out = tmp_path / "o.mp4"
    ok = cli("convert", video_a_3s, "--model", trained / "checkpoint.pt", "--out", out, "--max-frames", "2", "--quiet")
    assert ok.returncode == 0 and out.is_file(), ok.stderr
    # evaluate --start beyond the end: one line, not inside a progress bar, and no empty --out left
    report = tmp_path / "report"
    result = cli("evaluate", video_a_3s, out, "--a", real_facesets[0], "--b", real_facesets[1], "--out", report,
                 "--start", "50")
    assert result.returncode == 1 and "\r" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert lines == [f"faceswap-parts evaluate: error: --start 50s is beyond the end of {video_a_3s} (3.00s)"]
    assert not report.exists()


def test_convert_says_when_no_frame_has_a_face_and_clears_a_killed_runs_litter(trained, tmp_path):
    import numpy as np

    from faceswap_parts.io.video import write_video

    video = tmp_path / "wall.mp4"
    write_video(video, [np.full((128, 128, 3), 90, np.uint8)] * 6, fps=10)
    out = tmp_path / "o.mp4"
    dead = tmp_path / ".o.mp4.999999999.tmp.mp4"  # a kill -9 mid-write, from a process long gone
    live = tmp_path / f".o.mp4.{os.getpid()}.tmp.mp4"  # a live process's write in progress
    dead.write_bytes(b"half")
    live.write_bytes(b"busy")
    result = cli("convert", video, "--model", trained, "--out", out, "--quiet")
    assert result.returncode == 0
    assert result.stderr.strip() == (f"faceswap-parts convert: warning: no face found in any frame of {video}: "
                                     f"{out} is the video unchanged")
    assert not dead.exists() and live.read_bytes() == b"busy"


def test_a_face_set_of_one_face_trains_with_a_warning(real_facesets, tmp_path):
    one = tmp_path / "one"
    one.mkdir()
    shutil.copyfile(next((real_facesets[1] / "aligned_faces").glob("*.png")), one / "face.png")
    result = cli("train", "--a", real_facesets[0], "--b", one, "--workdir", tmp_path / "w", "--iterations", 1, *FAST)
    assert result.returncode == 0, result.stderr
    assert f"faceswap-parts train: warning: face set B ({one}) has only 1 face(s)" in result.stderr
