"""The notebooks' setup helpers, in and out of (a fake) Colab."""
from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from conftest import click_stop_at

from faceswap_parts import notebooks as nb
from faceswap_parts.notebooks import inputs, workspace
from faceswap_parts.notebooks import sync as sync_module
from faceswap_parts.errors import FaceswapError
from faceswap_parts.io.video import probe, write_video


@pytest.fixture
def fake_colab(monkeypatch, tmp_path):
    """A ``google.colab`` module whose ``drive.mount`` creates ``MyDrive``
    under a temporary mountpoint, and whose ``files`` records calls."""
    mountpoint = tmp_path / "drive"
    calls = {"mount": [], "download": [], "upload": {}}

    def mount(path):
        calls["mount"].append(path)
        (mountpoint / "MyDrive").mkdir(parents=True, exist_ok=True)

    google = types.ModuleType("google")
    module = types.ModuleType("google.colab")
    module.drive = types.SimpleNamespace(mount=mount)
    module.files = types.SimpleNamespace(download=lambda p: calls["download"].append(p),
                                         upload=lambda: dict(calls["upload"]))
    google.colab = module
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", module)
    monkeypatch.setattr(workspace, "DRIVE_MOUNTPOINT", str(mountpoint))
    monkeypatch.setattr(workspace, "COLAB_LOCAL_ROOT", str(tmp_path / "content_local"))
    monkeypatch.setattr(workspace.mount_drive, "__defaults__", (str(mountpoint),))
    return calls, mountpoint


@pytest.fixture
def tiny_video(tmp_path) -> Path:
    frames = [np.full((32, 48, 3), 40 * i, np.uint8) for i in range(5)]
    return Path(write_video(tmp_path / "tiny.mp4", frames, fps=10))


def test_not_in_colab_uses_local_workspace(tmp_path, capsys):
    assert not nb.in_colab()
    ws = nb.setup_workspace("proj", local_root=tmp_path / "ws")
    assert ws.root == ws.local == tmp_path / "ws" / "proj" and ws.root.is_dir()
    assert not ws.on_drive
    assert ws.runtime == "jupyter" and ws.inputs is None
    assert "Running under Jupyter: the workspace is the local folder" in capsys.readouterr().out
    with pytest.raises(FaceswapError, match="only be mounted inside Colab"):
        nb.mount_drive()


def test_in_colab_mounts_drive_and_uses_it(fake_colab, tmp_path, capsys):
    calls, mountpoint = fake_colab
    assert nb.in_colab()
    ws = nb.setup_workspace("proj")
    assert calls["mount"] == [str(mountpoint)]
    assert ws.on_drive and ws.root == mountpoint / "MyDrive" / "proj" and ws.root.is_dir()
    assert ws.local == tmp_path / "content_local" / "proj" and ws.local.is_dir()
    assert "Google Drive" in capsys.readouterr().out
    # Opting out of Drive in Colab works but warns that the files are temporary.
    ws2 = nb.setup_workspace("proj2", use_drive=False, local_root=tmp_path / "rt")
    assert not ws2.on_drive and "LOST" in capsys.readouterr().out


def test_kaggle_layout_works_in_its_working_folder_and_reads_the_read_only_inputs(tmp_path, tiny_video, monkeypatch,
                                                                                   capsys):
    """Kaggle: datasets under a read-only input folder, the workspace in the working folder (what persists)."""
    import shutil

    inputs, working = tmp_path / "kaggle" / "input", tmp_path / "kaggle" / "working"
    (inputs / "my-videos").mkdir(parents=True)
    working.mkdir()
    shutil.copy(tiny_video, inputs / "my-videos" / "a.mp4")
    for folder in (inputs / "my-videos", inputs):
        folder.chmod(0o555)
    monkeypatch.setenv("FACESWAP_KAGGLE_INPUT", str(inputs))
    monkeypatch.setenv("FACESWAP_KAGGLE_WORKING", str(working))
    try:
        assert nb.workspace.detect_runtime() == "kaggle"
        ws = nb.setup_workspace("proj", local_root=tmp_path / "elsewhere")
        assert ws.runtime == "kaggle" and ws.root == ws.local == working / "proj" and ws.inputs == inputs
        assert "in the working folder, which persists" in capsys.readouterr().out
        video = nb.get_video(str(inputs / "my-videos" / "a.mp4"), ws.path("inputs"), "person_a")
        assert video == inputs / "my-videos" / "a.mp4"  # read in place: nothing is written beside it
        assert sorted(p.name for p in (inputs / "my-videos").iterdir()) == ["a.mp4"]
        assert not (tmp_path / "elsewhere").exists()
    finally:
        for folder in (inputs, inputs / "my-videos"):
            folder.chmod(0o755)


def test_runtime_field_names_what_detection_cannot_tell(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    monkeypatch.setenv("FACESWAP_KAGGLE_INPUT", str(tmp_path / "none"))
    assert nb.workspace.detect_runtime() == "jupyter"
    ws = nb.setup_workspace("proj", local_root=tmp_path, runtime="colab-local")
    out = capsys.readouterr().out
    assert ws.runtime == "colab-local" and ws.root == tmp_path / "proj" and "Colab page on your local runtime" in out
    import ipywidgets

    assert ("renders 7.x reliably" in out) == (int(ipywidgets.__version__.split(".")[0]) >= 8)
    with pytest.raises(FaceswapError, match="not Google's hosted Colab runtime"):
        nb.setup_workspace("proj", local_root=tmp_path, runtime="colab")
    with pytest.raises(FaceswapError, match="RUNTIME must be one of auto, colab, colab-local, kaggle, jupyter"):
        nb.setup_workspace("proj", local_root=tmp_path, runtime="sagemaker")


def test_workspace_name_must_be_plain(tmp_path):
    with pytest.raises(FaceswapError, match="plain folder name"):
        nb.setup_workspace("a/b", local_root=tmp_path)


def test_environment_report_warns_without_gpu(capsys):
    facts = nb.environment_report("cpu")
    out = capsys.readouterr().out
    assert facts["device"] == "cpu" and not facts["gpu"]
    assert "NO GPU" in out and "torch" in out and "faceswap-parts" in out


def test_get_video_from_path_default_and_errors(tiny_video, tmp_path, capsys):
    assert nb.get_video(str(tiny_video), tmp_path, "a") == tiny_video
    assert nb.get_video("", tmp_path, "a", default=tiny_video) == tiny_video
    assert "48x32" in capsys.readouterr().out
    with pytest.raises(FaceswapError, match="is Google Drive mounted"):
        nb.get_video("/content/drive/MyDrive/nope/video.mp4", tmp_path, "a")
    with pytest.raises(FaceswapError, match="video not found"):
        nb.get_video(str(tmp_path / "missing.mp4"), tmp_path, "a")
    not_video = tmp_path / "holiday.mp4"
    not_video.write_bytes(b"this is text, not a video")
    with pytest.raises(FaceswapError, match="choose a video file"):
        nb.get_video(str(not_video), tmp_path, "a")
    with pytest.raises(FaceswapError, match="no video given"):
        nb.get_video("", tmp_path, "a")


def test_drive_link_parsing():
    fid = "1AbCdEfGhIjKlMnOpQrStUvWxYz012345"
    assert nb.drive_file_id(f"https://drive.google.com/file/d/{fid}/view?usp=sharing") == fid
    assert nb.drive_file_id(f"https://drive.google.com/open?id={fid}") == fid
    assert nb.drive_file_id(fid) == fid
    assert nb.drive_file_id("my_video.mp4") is None


def test_unfetchable_share_link_is_a_clear_error(tmp_path, monkeypatch):
    import gdown

    def offline(*args, **kwargs):
        raise OSError("Failed to establish a new connection: network is unreachable")

    monkeypatch.setattr(gdown, "download", offline)
    link = "https://drive.google.com/file/d/1AbCdEfGhIjKlMnOpQrStUvWxYz012345/view"
    with pytest.raises(FaceswapError, match="could not download Google Drive file.*network"):
        nb.get_video(link, tmp_path / "in", "person_a")
    assert not any((tmp_path / "in").iterdir())  # no partial file left behind


def test_upload_in_fake_colab(fake_colab, tiny_video, tmp_path):
    calls, _ = fake_colab
    with pytest.raises(FaceswapError, match="no file was uploaded"):
        nb.get_video("upload", tmp_path / "in", "person_a")
    calls["upload"]["clip.MP4"] = tiny_video.read_bytes()
    path = nb.get_video("upload", tmp_path / "in", "person_a")
    assert path.name == "person_a.mp4" and probe(path).frame_count == 5
    calls["upload"].clear()
    calls["upload"]["notes.txt"] = b"not a video"
    with pytest.raises(FaceswapError, match="choose a video file"):
        nb.get_video("upload", tmp_path / "in", "person_b")


def test_upload_outside_colab_is_refused(tmp_path):
    with pytest.raises(FaceswapError, match="only in Colab"):
        nb.get_video("upload", tmp_path, "a")


def test_copy_to_local_copies_and_skips_up_to_date(tmp_path):
    src = tmp_path / "drive" / "faces"
    (src / "aligned_faces").mkdir(parents=True)
    (src / "aligned_faces" / "0001.png").write_bytes(b"x" * 10)
    (src / "faces.json").write_text("{}")
    dst = nb.copy_to_local(src, tmp_path / "local" / "faces")
    assert (dst / "aligned_faces" / "0001.png").read_bytes() == b"x" * 10
    mtime = (dst / "faces.json").stat().st_mtime_ns
    nb.copy_to_local(src, dst)
    assert (dst / "faces.json").stat().st_mtime_ns == mtime
    with pytest.raises(FaceswapError, match="not found"):
        nb.copy_to_local(tmp_path / "nope", dst)


def test_checkpoint_sync_resumes_and_never_damages_drive(tmp_path, monkeypatch):
    drive, local = tmp_path / "drive_run", tmp_path / "local_run"
    sync = nb.CheckpointSync(local, drive)
    assert not sync.restore() and not sync.push()
    (drive / "checkpoint.pt").write_bytes(b"iteration 100")
    assert sync.restore() and (local / "checkpoint.pt").read_bytes() == b"iteration 100"
    (local / "checkpoint.pt").write_bytes(b"iteration 200")
    os.utime(local / "checkpoint.pt", (1e10, 1e10))
    assert sync.push() and (drive / "checkpoint.pt").read_bytes() == b"iteration 200"
    # A copy that dies half-way leaves Drive's checkpoint as it was.
    (local / "checkpoint.pt").write_bytes(b"iteration 300")

    def broken_copy(src, dst, **kwargs):
        Path(dst).write_bytes(b"iter")
        raise OSError("Transport endpoint is not connected")

    monkeypatch.setattr(sync_module.shutil, "copy2", broken_copy)
    with pytest.raises(OSError):
        sync.push()
    assert (drive / "checkpoint.pt").read_bytes() == b"iteration 200"


def test_checkpoint_sync_same_folder_is_a_no_op(tmp_path):
    sync = nb.CheckpointSync(tmp_path, tmp_path)
    assert sync.same_place and not sync.push()
    (tmp_path / "checkpoint.pt").write_bytes(b"x")
    assert sync.restore() and sync.push()


def test_show_video_embeds_h264_and_downscales_big_ones(tmp_path):
    frames = [np.random.default_rng(i).integers(0, 255, (360, 640, 3), np.uint8) for i in range(6)]
    big = Path(write_video(tmp_path / "big.mp4", frames, fps=6))
    html = nb.show_video(big, width=160, max_mb=0.001)
    preview = tmp_path / "big.preview.mp4"
    assert preview.is_file() and probe(preview).size == (160, 90)
    assert html.data.startswith("<video") and "data:video/mp4;base64," in html.data
    small = nb.preview_video(big, max_side=640, max_mb=100)
    assert small == big


def test_offer_download_in_and_out_of_colab(fake_colab, tiny_video, tmp_path):
    calls, _ = fake_colab
    nb.offer_download(tiny_video)
    assert calls["download"] == [str(tiny_video)]
    with pytest.raises(FaceswapError, match="nothing to download"):
        nb.offer_download(tmp_path / "missing.mp4")


def test_sample_videos_fall_back_to_synthetic(tmp_path, monkeypatch):
    monkeypatch.delenv("FACESWAP_SHARED_DATA", raising=False)
    monkeypatch.setattr(inputs, "SAMPLE_VIDEOS", (str(tmp_path / "no_a.mp4"), str(tmp_path / "no_b.mp4")))
    ws = nb.setup_workspace("w", local_root=tmp_path, quiet=True)
    monkeypatch.setattr("faceswap_parts.demo.make_demo_clips",
                        lambda folder: (Path(folder) / "person_a.mp4", Path(folder) / "person_b.mp4"))
    a, b = nb.sample_videos(ws)
    assert a == ws.root / "inputs" / "synthetic" / "person_a.mp4" and b.name == "person_b.mp4"


def test_sample_videos_prefers_real_clips(video_a_3s, video_b_3s, monkeypatch):
    monkeypatch.setattr(inputs, "SAMPLE_VIDEOS", (str(video_a_3s), str(video_b_3s)))
    assert nb.sample_videos() == (video_a_3s, video_b_3s)


def test_fast_mode(monkeypatch):
    monkeypatch.setenv("FACESWAP_FAST", "1")
    assert nb.fast_mode()
    monkeypatch.setenv("FACESWAP_FAST", "0")
    assert not nb.fast_mode()


# -- the training panel ---------------------------------------------------------

class _FakeTrainer:
    """Trainer stand-in with the real callback contract: after each iteration
    ``callback(progress)``; ``False`` stops; a save writes checkpoint.pt."""

    def __init__(self, workdir: Path, save_interval: int = 3):
        self.workdir = workdir
        self.iteration = 0
        self.config = types.SimpleNamespace(save_interval=save_interval, preview_interval=0)
        self.saves = []

    def save(self):
        (self.workdir / "checkpoint.pt").write_text(str(self.iteration))
        self.saves.append(self.iteration)

    def train(self, iterations, callback=None):
        stopped = False
        while self.iteration < iterations and not stopped:
            self.iteration += 1
            grid = np.zeros((8, 8, 3), np.uint8) if self.iteration % self.config.preview_interval == 0 else None
            if self.iteration % self.config.save_interval == 0 or self.iteration == iterations:
                self.save()
            progress = types.SimpleNamespace(iteration=self.iteration, total=iterations, preview_grid=grid,
                                             losses={"G_A": 1.0 / self.iteration, "D_A": 0.5})
            stopped = callback(progress) is False
        if self.saves[-1:] != [self.iteration]:
            self.save()
        return types.SimpleNamespace(iteration=self.iteration, stopped_early=stopped)


def test_training_panel_trains_syncs_and_shows_progress(tmp_path):
    from faceswap_parts.notebooks.panel import TrainingPanel, train_with_panel

    trainer = _FakeTrainer(tmp_path / "local")
    trainer.workdir.mkdir()
    sync = nb.CheckpointSync(trainer.workdir, tmp_path / "drive")
    panel = TrainingPanel(iterations=7, display_interval=2)
    result = train_with_panel(trainer, panel, sync=sync)
    assert result.iteration == 7 and not result.stopped_early
    assert trainer.config.preview_interval == 2  # previews follow the display interval
    assert panel.progress.value == 7 and "finished at iteration 7" in panel.status.value
    assert panel.progress.description == "7 / 7"  # the count and the target, beside the bar
    assert (tmp_path / "drive" / "checkpoint.pt").read_text() == "7"
    assert bytes(panel.preview.value)[:4] == bytes(panel.loss_image.value)[:4] == b"\x89PNG"
    assert [it for it, _ in panel.history["G_A"]] == list(range(1, 8))
    # Running again at the target trains nothing and says how to train more.
    assert train_with_panel(trainer, panel, sync=sync) is None and "raise the iteration" in panel.status.value


def test_stop_button_stops_saves_and_syncs(tmp_path):
    from faceswap_parts.notebooks.panel import TrainingPanel, train_with_panel

    trainer = _FakeTrainer(tmp_path / "local", save_interval=100)
    trainer.workdir.mkdir()
    sync = nb.CheckpointSync(trainer.workdir, tmp_path / "drive")
    panel = TrainingPanel(iterations=50, display_interval=5)
    click_stop_at(panel, 4)
    result = train_with_panel(trainer, panel, sync=sync)
    assert result.stopped_early and result.iteration == 4
    assert (tmp_path / "drive" / "checkpoint.pt").read_text() == "4"
    assert "stopped at iteration 4" in panel.status.value


def test_wait_for_start_without_clicks_is_a_clear_error():
    from faceswap_parts.notebooks.panel import TrainingPanel

    panel = TrainingPanel(iterations=5)
    panel.wait_for_start(auto_start=True)  # returns at once
    with pytest.raises(FaceswapError, match="AUTO_START"):
        panel.wait_for_start(auto_start=False, timeout_s=0.3)
    panel.start_button.click()
    panel.wait_for_start(auto_start=False, timeout_s=5)


def test_checkpoint_sync_carries_history_and_previews(tmp_path):
    sync = nb.CheckpointSync(tmp_path / "local", tmp_path / "drive")
    for name in ("loss_history.csv", "loss_curve.png", "preview_latest.png", "checkpoint.pt"):
        (sync.local / name).write_text(name)
    assert sync.push()
    assert sorted(p.name for p in sync.drive.iterdir()) == sorted(
        ["loss_history.csv", "loss_curve.png", "preview_latest.png", "checkpoint.pt"])
    fresh = nb.CheckpointSync(tmp_path / "new_runtime", tmp_path / "drive")
    assert fresh.restore()
    assert sorted(p.name for p in fresh.local.iterdir()) == ["checkpoint.pt", "loss_history.csv"]


def test_faceswap_errors_show_as_one_line_in_ipython(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        nb.show_errors_briefly()
        result = shell.run_cell("from faceswap_parts.errors import FaceswapError\n"
                                "raise FaceswapError('video not found: x.mp4; give an existing path')")
        out = capsys.readouterr().out
        assert result.error_in_exec is not None  # the cell still fails, so "Run all" stops
        assert "ERROR: video not found: x.mp4; give an existing path" in out and "Traceback" not in out
        result = shell.run_cell("1 / 0")  # other errors keep their traceback
        assert "ZeroDivisionError" in capsys.readouterr().out
    finally:
        InteractiveShell.clear_instance()
    nb.show_errors_briefly()  # outside IPython: nothing to do


def test_time_limit_stops_training_cleanly(tmp_path):
    from faceswap_parts.notebooks.panel import TrainingPanel, train_with_panel

    trainer = _FakeTrainer(tmp_path, save_interval=100)
    result = train_with_panel(trainer, TrainingPanel(iterations=1000, display_interval=10), max_minutes=1e-9)
    assert result.stopped_early and result.iteration == 1
    assert (tmp_path / "checkpoint.pt").read_text() == "1"


def test_the_panel_says_when_its_stop_button_cannot_work(monkeypatch):
    """Under ipykernel 7 jupyter-ui-poll does not deliver clicks (its issue 54): the panel says to interrupt."""
    import importlib.metadata

    from faceswap_parts.notebooks.panel import stop_button_note

    real = importlib.metadata.version
    for kernel, expected in (("6.17.1", None), ("7.4.0", "interrupt the kernel")):
        monkeypatch.setattr(importlib.metadata, "version", lambda name, v=kernel: v if name == "ipykernel" else real(name))
        note = stop_button_note()
        assert note is None if expected is None else expected in note and "ipykernel 7.4.0" in note
