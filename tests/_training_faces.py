"""Real face sets for the training tests: a fixed central crop of the frames
of person_a_3s.mp4 / person_b_3s.mp4 (steady frontal talking heads), written
as extract-style folders (aligned_faces + rough binary_masks_eyes) in a temp dir."""
from __future__ import annotations

import numpy as np
import pytest

#: Where the head sits in both 512x512 clips (whole head with margin, like coverage 1.0).
CROP = (slice(120, 440), slice(110, 430))
#: A band over both eyes in the 256 px crop.
EYES = (slice(96, 128), slice(72, 184))


def write_faceset(video, folder, every: int = 6, limit: int = 12) -> None:
    import cv2

    from faceswap_parts.images import write_image
    from faceswap_parts.video import VideoReader

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
