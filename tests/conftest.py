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

    from faceswap_parts.images import read_image

    return read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut (Eileen Collins), RGB uint8 (512x512)."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())
