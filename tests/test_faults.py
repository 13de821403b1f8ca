"""Faults and hostile input in training: signals, a killed save's litter,
paths checked before heavy work, settings that cannot work."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from faceswap_parts.cli import main
from faceswap_parts.errors import FaceswapError
from faceswap_parts.models.checkpoint import load_checkpoint

FAST = ["--capacity", "lite", "--no-self-attention", "--batch-size", "2", "--device", "cpu", "--precision", "fp32",
        "--no-perceptual", "--preview-interval", "0", "--workers", "1", "--no-progress"]


class Payload:
    """Stands for arbitrary pickled code inside a weights file."""


def one_line_error(capsys, args, *words):
    code = main(["train", *map(str, args)])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1, err
    for word in words:
        assert word in err, err


def test_workdir_that_is_a_file_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    from faceswap_parts import training

    def never(*args, **kwargs):
        raise AssertionError("faces were loaded before the workdir was checked")

    monkeypatch.setattr(training, "Trainer", never)
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    one_line_error(capsys, ["--a", tmp_path, "--b", tmp_path, "--workdir", target, "--iterations", 5, *FAST],
                   "is a file")
    assert target.read_text() == "mine"


@pytest.mark.parametrize("b", ["", "aligned_faces"])
def test_same_face_folder_for_a_and_b_is_refused(real_facesets, tmp_path, capsys, b):
    """The plain alias, and the same faces under another path (the extract output and its aligned_faces)."""
    a = real_facesets[0]
    one_line_error(capsys, ["--a", a, "--b", a / b, "--workdir", tmp_path / "w", "--iterations", 1, *FAST],
                   "are the same faces", "two people")
    assert not (tmp_path / "w").exists()


def test_fp16_on_a_cpu_is_refused_with_the_reason():
    from faceswap_parts.device import resolve_precision

    with pytest.raises(FaceswapError, match="fp16 is not for CPUs: they have no fast fp16 arithmetic"):
        resolve_precision("fp16", torch.device("cpu"))
    assert resolve_precision("fp32", torch.device("cpu")) == "fp32"


def test_resume_below_or_at_the_total(real_facesets, tmp_path, capsys):
    workdir = tmp_path / "w"
    assert main(["train", "--a", str(real_facesets[0]), "--b", str(real_facesets[1]), "--workdir", str(workdir),
                 "--iterations", "2", *FAST]) == 0
    capsys.readouterr()
    one_line_error(capsys, ["--workdir", workdir, "--iterations", 1, "--no-progress"],
                   "already at iteration 2", "more than 2")
    assert main(["train", "--workdir", str(workdir), "--iterations", "2", "--no-progress"]) == 0
    assert "already at iteration 2 of 2: nothing to do" in capsys.readouterr().out
    assert load_checkpoint(workdir / "checkpoint.pt")["iteration"] == 2


def test_a_killed_saves_temporary_file_is_removed_on_the_next_start(real_facesets, tmp_path):
    from faceswap_parts.config import ModelConfig, TrainConfig
    from faceswap_parts.training import Trainer

    workdir = tmp_path / "w"
    workdir.mkdir()
    # what kill -9 during torch.save leaves: atomic_save's hidden temporary
    stale = workdir / ".checkpoint.pt.k2x9q1.tmp"
    stale.write_bytes(b"\0" * 4096)
    mine = workdir / "notes.tmp"
    mine.write_text("not ours")
    Trainer(TrainConfig(a_dir=str(real_facesets[0]), b_dir=str(real_facesets[1]), workdir=str(workdir),
                        model=ModelConfig(resolution=64, capacity="lite", self_attention=False), batch_size=2,
                        device="cpu", precision="fp32", perceptual=False, progress=False))
    assert not stale.exists() and mine.read_text() == "not ours"


def test_sigterm_saves_a_checkpoint_and_says_so(real_facesets, tmp_path):
    """A real `faceswap-parts train` process sent SIGTERM mid-run (what
    `timeout`, schedulers and cloud runtimes send) saves where it was."""
    workdir = tmp_path / "w"
    proc = subprocess.Popen([sys.executable, "-m", "faceswap_parts", "train", "--a", str(real_facesets[0]),
                             "--b", str(real_facesets[1]), "--workdir", str(workdir), "--iterations", "100000",
                             "--save-interval", "100000", *FAST], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    lines = []
    for line in proc.stdout:  # "device ..., precision ..." comes just before the first iteration
        lines.append(line)
        if line.startswith("device "):
            break
    assert lines and lines[-1].startswith("device "), (lines, proc.stderr.read())
    time.sleep(5)  # a few iterations where the machine is quiet; none is fine on a loaded one
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    state = load_checkpoint(workdir / "checkpoint.pt")
    assert f"stopped at iteration {state['iteration']} of 100000; checkpoint saved" in err
    assert "Traceback" not in err


def test_a_wrong_perceptual_weights_file_stops_training_at_start(real_facesets, tmp_path, capsys):
    """Checked before the first iteration, and torch's hint to load with
    weights_only=False (which would run the file's code) is never repeated."""
    import pickle

    hostile = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(1), "obj": Payload()}, hostile)
    on = [arg for arg in FAST if arg not in ("--no-perceptual", "--no-progress")]
    base = ["--a", real_facesets[0], "--b", real_facesets[1], "--iterations", 1, *on]
    one_line_error(capsys, [*base, "--workdir", tmp_path / "w1", "--perceptual-weights", hostile, "--no-progress"],
                   "weights.pt is not a readable torch weights file", "pickled Python objects")
    code = main(["train", *map(str, base), "--workdir", str(tmp_path / "w2"), "--perceptual-weights",
                 str(hostile), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "weights_only=False" not in err and "delete it" not in err
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(pickle.dumps([1, 2, 3]))
    one_line_error(capsys, [*base, "--workdir", tmp_path / "w3", "--perceptual-weights", garbage, "--no-progress"],
                   "garbage.pt is not a readable torch weights file")
    one_line_error(capsys, [*base, "--workdir", tmp_path / "w4", "--perceptual-weights", tmp_path / "none.pt",
                            "--no-progress"], "none.pt not found")
    assert not (tmp_path / "w1" / "checkpoint.pt").exists()


def test_masks_refuses_two_images_that_would_share_a_mask(tmp_path, grace_hopper, capsys):
    from faceswap_parts.io.images import write_image

    folder = tmp_path / "faces"
    folder.mkdir()
    write_image(folder / "face.jpg", grace_hopper)
    write_image(folder / "face.png", grace_hopper[:, ::-1])
    code = main(["masks", str(folder), "--landmarks", "mtcnn", "--device", "cpu"])
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert "face.jpg and face.png would share the mask face.png" in err
    assert sorted(p.name for p in folder.iterdir()) == ["face.jpg", "face.png"]  # nothing written


def _tmpfs(folder, options: str):
    """Mount a tmpfs with ``options`` on ``folder`` for one test; skipped where mounting is not allowed."""
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs ({options}) here (needs root): {done.stderr.decode().strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs: a full disk within seconds."""
    yield from _tmpfs(tmp_path / "small", "size=3M")


def test_disk_full_during_a_save_is_one_line_and_keeps_the_old_checkpoint(small_disk):
    from faceswap_parts.training import checkpoint as ckpt

    path = small_disk / "checkpoint.pt"
    ckpt.atomic_save({"model_config": {}, "model": {"w": torch.ones(100_000)}}, path)  # 0.4 MB: fits
    before = path.read_bytes()
    with pytest.raises(FaceswapError, match="No space left on device.*the previous checkpoint is kept") as err:
        ckpt.atomic_save({"model_config": {}, "model": {"w": torch.ones(2_000_000)}}, path)  # 8 MB: does not
    assert "\n" not in str(err.value)
    assert path.read_bytes() == before and sorted(p.name for p in small_disk.iterdir()) == ["checkpoint.pt"]


def test_train_on_a_full_disk_says_so_in_one_line(real_facesets, small_disk, capsys):
    one_line_error(capsys, ["--a", real_facesets[0], "--b", real_facesets[1], "--workdir", small_disk / "w",
                            "--iterations", 1, *FAST], "No space left on device")
    assert not list((small_disk / "w").glob(".checkpoint.pt.*"))


def test_unreadable_checkpoints_say_what_is_wrong(tmp_path):
    from faceswap_parts.models import checkpoint as model_ckpt
    from faceswap_parts.training import checkpoint as ckpt

    path = tmp_path / "checkpoint.pt"
    ckpt.atomic_save({"model_config": {}, "model": {"w": torch.ones(50_000)}}, path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(FaceswapError, match="cut short or damaged.*start a new workdir \\(there are no backups"):
        model_ckpt.load_checkpoint(path)
    path.write_text("my notes")
    with pytest.raises(FaceswapError, match="not a torch checkpoint file"):
        model_ckpt.load_checkpoint(path)
    torch.save({"model_config": {}, "model": Payload()}, path)
    with pytest.raises(FaceswapError, match="pickled Python objects, which are never loaded"):
        model_ckpt.load_checkpoint(path)
    (tmp_path / "backups").mkdir()
    for it in (5000, 10000):
        (tmp_path / "backups" / f"checkpoint_{it}.pt").write_bytes(data)
    with pytest.raises(FaceswapError, match="newest: .*checkpoint_10000.pt"):
        model_ckpt.load_checkpoint(path)


def test_part_folders_of_killed_conversions_are_removed(tmp_path):
    from faceswap_parts.conversion.segments import SEGMENT_FOLDER_PREFIX, remove_stale_segment_folders

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = tmp_path / f"{SEGMENT_FOLDER_PREFIX}{gone.pid}-abc123"
    live = tmp_path / f"{SEGMENT_FOLDER_PREFIX}{os.getpid()}-def456"
    other = tmp_path / "faceswap-parts-convert-notes"
    for folder in (dead, live, other):
        folder.mkdir()
        (folder / "part0.mp4").write_bytes(b"\0" * 1000)
    assert remove_stale_segment_folders(tmp_path) == [dead]
    assert not dead.exists() and live.is_dir() and other.is_dir()


def test_a_video_cut_short_that_still_decodes_is_reported(video_a_3s, tmp_path, capsys):
    """Index at the front (faststart), the end of the file missing: the frames
    up to the cut decode, so only the count against the container shows it."""
    import json

    from faceswap_parts.io.video import VideoReader, read_frames, write_video

    frames, info = read_frames(video_a_3s, max_frames=60)
    whole = write_video(tmp_path / "whole.mp4", frames, info.fps)
    data = open(whole, "rb").read()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[:len(data) * 2 // 5])
    reader = VideoReader(cut)
    read = sum(1 for _ in reader)
    assert 0 < read < 50
    assert "ended after" in reader.cut_short(read) and reader.cut_short(60) is None
    assert VideoReader(whole).cut_short(sum(1 for _ in VideoReader(whole))) is None
    from faceswap_parts.errors import FaceswapWarning

    with pytest.warns(FaceswapWarning, match=f"ended after {read} of the 60 frames its container announces"):
        assert main(["extract", str(cut), "--out", str(tmp_path / "faces"), "--landmarks", "mtcnn",
                     "--device", "cpu"]) == 0
    summary = json.loads((tmp_path / "faces" / "faces.json").read_text())["summary"]
    assert summary["cut_short"] is True and summary["frames_expected"] == 60 and summary["frames_read"] == read


def test_extract_on_a_full_disk_leaves_no_cut_off_files(video_a_3s, small_disk, capsys):
    import json

    out = small_disk / "faces"
    code = main(["extract", str(video_a_3s), "--out", str(out), "--landmarks", "mtcnn", "--device", "cpu"])
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert code == 1 and len(err) == 1 and "No space left on device" in err[0], err
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files and not [p for p in files if p.stat().st_size == 0]
    assert not [p for p in files if ".tmp" in p.name]  # no write's temporary file is left, in any folder
    if (out / "faces.json").is_file():  # written when it fit: it lists only faces that are there
        for face in json.loads((out / "faces.json").read_text())["faces"]:
            assert (out / face["file"]).is_file()


def _flip_byte_in_tensor_data(path) -> None:
    """Flip one byte inside the largest stored tensor of a torch zip file:
    the file still loads; only the digest can tell."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        info = max((i for i in archive.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    with open(path, "r+b") as f:
        f.seek(info.header_offset + 26)
        name_len, extra_len = int.from_bytes(f.read(2), "little"), int.from_bytes(f.read(2), "little")
        offset = info.header_offset + 30 + name_len + extra_len + info.file_size // 2
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x10]))


def test_a_silently_corrupted_checkpoint_is_refused_and_a_good_backup_named(real_facesets, tmp_path):
    from faceswap_parts.config import ModelConfig, TrainConfig
    from faceswap_parts.training import Trainer
    from faceswap_parts.models import checkpoint as model_ckpt

    workdir = tmp_path / "w"
    config = TrainConfig(a_dir=str(real_facesets[0]), b_dir=str(real_facesets[1]), workdir=str(workdir),
                         model=ModelConfig(resolution=64, capacity="lite", self_attention=False), batch_size=2,
                         device="cpu", precision="fp32", perceptual=False, preview_interval=0, save_interval=1,
                         backup_interval=1, keep_backups=3, workers=0, progress=False)
    Trainer(config).train(2)
    state = model_ckpt.load_checkpoint(workdir / "checkpoint.pt")
    assert state["digest"] == model_ckpt.payload_digest(state)
    # the newest backup is a copy of the checkpoint it was made from (not a hard link): a flip in place
    # damages the checkpoint alone, so that backup is the one named
    _flip_byte_in_tensor_data(workdir / "checkpoint.pt")
    assert torch.load(workdir / "checkpoint.pt", weights_only=True)["iteration"] == 2  # still loads
    with pytest.raises(FaceswapError, match="is corrupted: its weights do not match the digest.*newest good: "
                                            ".*checkpoint_000002.pt") as err:
        Trainer(config)
    assert "\n" not in str(err.value)
    assert model_ckpt.load_checkpoint(workdir / "checkpoint.pt", mmap=True)["iteration"] == 2  # a config peek still works


@pytest.fixture
def read_only_dir(tmp_path):
    """A read-only tmpfs (writes fail as they would in a folder the user may
    not write: root passes permission checks, so a read-only file system is
    what a root test can refuse with)."""
    yield from _tmpfs(tmp_path / "ro", "ro,size=1M")


def test_unwritable_output_folders_are_one_line_errors(video_a_3s, real_facesets, read_only_dir, capsys):
    code = main(["extract", str(video_a_3s), "--out", str(read_only_dir / "faces"), "--device", "cpu"])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error" in line]
    assert code == 1 and len(errors) == 1 and "Read-only file system" in errors[0] and "Traceback" not in err
    one_line_error(capsys, ["--a", real_facesets[0], "--b", real_facesets[1], "--workdir", read_only_dir / "w",
                            "--iterations", 1, *FAST], "Read-only file system")


def test_an_audio_only_file_is_named_as_such(tmp_path):
    import imageio_ffmpeg

    from faceswap_parts.io.video import probe

    audio = tmp_path / "voice.m4a"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "sine=d=1",
                    str(audio)], check=True)
    with pytest.raises(FaceswapError, match="it has no video stream"):
        probe(audio)
    (tmp_path / "junk.mp4").write_bytes(b"junk" * 100)
    with pytest.raises(FaceswapError, match="not a video file or corrupt"):
        probe(tmp_path / "junk.mp4")


def test_sigkill_during_a_real_save_keeps_the_old_checkpoint_and_the_litter_goes(real_facesets, tmp_path):
    from faceswap_parts.config import ModelConfig, TrainConfig
    from faceswap_parts.training import Trainer

    workdir = tmp_path / "w"
    config = TrainConfig(a_dir=str(real_facesets[0]), b_dir=str(real_facesets[1]), workdir=str(workdir),
                         model=ModelConfig(resolution=64, capacity="lite", self_attention=False), batch_size=2,
                         device="cpu", precision="fp32", perceptual=False, preview_interval=0, workers=0,
                         progress=False)
    Trainer(config).train(1)
    path = workdir / "checkpoint.pt"
    before = path.read_bytes()
    # a child process saving a large state over it, killed while its temporary file is being written
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys, torch; from faceswap_parts.training.checkpoint import atomic_save\n"
        "atomic_save({'model_config': {}, 'model': {'w': torch.ones(400_000_000)}}, sys.argv[1])"), str(path)])
    deadline = time.monotonic() + 120
    while not list(workdir.glob(".checkpoint.pt.*.tmp*")) and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    litter = list(workdir.glob(".checkpoint.pt.*.tmp*"))
    assert child.returncode == -signal.SIGKILL and litter, "the save finished before it could be killed"
    assert path.read_bytes() == before
    resumed = Trainer(config)
    assert resumed.iteration == 1 and not any(p.exists() for p in litter)
