"""Shared fixtures: the real footage in ../shared/data (skipped when absent)
and the package-shipped portraits (always available)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("FACESWAP_SHARED_DATA", ROOT.parent / "shared" / "data"))

# Two torch threads is all this machine has; more only thrash.
os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the project root; skips the test when absent."""
    if not (SHARED_DATA / "videos").is_dir():
        pytest.skip(f"real test footage not found at {SHARED_DATA} (see the README's Test data section)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def video_a_3s(shared_data) -> Path:
    return shared_data / "videos" / "person_a_3s.mp4"


@pytest.fixture(scope="session")
def video_b_3s(shared_data) -> Path:
    return shared_data / "videos" / "person_b_3s.mp4"


@pytest.fixture(scope="session")
def grace_hopper() -> np.ndarray:
    """matplotlib's Grace Hopper portrait, RGB uint8 (600x512)."""
    from matplotlib import cbook

    from faceswap_parts.io.images import read_image

    return read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut (Eileen Collins), RGB uint8 (512x512)."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


# Real face sets for the training tests: a fixed central crop of the frames of
# person_a_3s.mp4 / person_b_3s.mp4 (steady frontal talking heads), written as
# extract-style folders (aligned_faces + rough binary_masks_eyes).
#: Where the head sits in both 512x512 clips (whole head with margin, like coverage 1.0).
CROP = (slice(120, 440), slice(110, 430))
#: A band over both eyes in the 256 px crop.
EYES = (slice(96, 128), slice(72, 184))


def write_faceset(video, folder, every: int = 6, limit: int = 12) -> None:
    import cv2

    from faceswap_parts.io.images import write_image
    from faceswap_parts.io.video import VideoReader

    (folder / "aligned_faces").mkdir(parents=True)
    (folder / "binary_masks_eyes").mkdir()
    mask = np.zeros((256, 256), np.uint8)
    mask[EYES] = 255
    count = 0
    for index, _, frame in VideoReader(video):
        if index % every:
            continue
        face = cv2.resize(frame[CROP], (256, 256), interpolation=cv2.INTER_AREA)
        write_image(folder / "aligned_faces" / f"f{index:04d}.png", face)
        write_image(folder / "binary_masks_eyes" / f"f{index:04d}.png", mask)
        count += 1
        if count == limit:
            break


@pytest.fixture(scope="session")
def real_facesets(tmp_path_factory, video_a_3s, video_b_3s):
    """``(dir_a, dir_b)``: extract-style face sets of 12 real faces each."""
    root = tmp_path_factory.mktemp("facesets")
    write_faceset(video_a_3s, root / "a")
    write_faceset(video_b_3s, root / "b")
    return root / "a", root / "b"


@pytest.fixture(scope="session")
def model():
    """A fresh 64 px lite model (seed 0): conversion tests need a model, not a trained one."""
    import torch

    from faceswap_parts.config import ModelConfig
    from faceswap_parts.models import FaceswapModel

    torch.manual_seed(0)
    return FaceswapModel(ModelConfig(resolution=64, capacity="lite")).eval()


@pytest.fixture(scope="session")
def workdir(tmp_path_factory, model):
    """A workdir whose checkpoint.pt has the trainer's layout."""
    import torch

    path = tmp_path_factory.mktemp("workdir")
    torch.save({"format": 1, "model_config": model.config.to_dict(), "model": model.state_dict()},
               path / "checkpoint.pt")
    return path


def click_stop_at(panel, iteration: int) -> None:
    """Make ``panel`` (a TrainingPanel) get a Stop click when it shows ``iteration``, as a user would."""
    original = panel.update

    def update(shown, *args, **kwargs):
        if shown == iteration:
            panel.stop_button.click()
        return original(shown, *args, **kwargs)

    panel.update = update
