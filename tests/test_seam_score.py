"""The seam score of a parts (or face) paste: gradient energy on the blend's
edge over the source's; a hard-edged paste scores clearly worse than a
feathered one, and Poisson blending no worse than feathering."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceswap_parts.conversion.blending import paste_back
from faceswap_parts.faces.detection import FaceDetector
from faceswap_parts.evaluation.metrics import changed_region, seam_score

IDENTITY = np.array([[1.0, 0, 0], [0, 1.0, 0]])


@pytest.fixture(scope="module")
def scene(grace_hopper):
    from skimage import data

    other = cv2.resize(data.astronaut(), grace_hopper.shape[1::-1])  # someone else's eyes, pasted on hers
    box = FaceDetector(device="cpu").detect(grace_hopper)[0][0]
    eyes = np.zeros(grace_hopper.shape[:2], np.float32)
    eyes[150:230, 170:360] = 1.0
    return grace_hopper, other, box, eyes


def paste(frame, face, weight, blend="feather"):
    out = frame.copy()
    paste_back(out, face, weight, IDENTITY, blend=blend)
    return out


def test_hard_feathered_and_poisson_pastes_are_ordered(scene):
    frame, other, box, eyes = scene
    soft = cv2.GaussianBlur(eyes, (0, 0), 8)
    hard_score = seam_score(frame, paste(frame, other, eyes), box)
    feathered = seam_score(frame, paste(frame, other, soft), box)
    poisson = seam_score(frame, paste(frame, other, soft, "seamless"), box)
    assert hard_score > 1.5 and hard_score > 1.8 * feathered, (hard_score, feathered)
    assert poisson <= 1.05 * feathered, (poisson, feathered)


def test_the_changed_region_is_the_paste_and_an_untouched_frame_has_no_score(scene):
    frame, other, box, eyes = scene
    region = changed_region(frame, paste(frame, other, eyes), box)
    inside = region[150:230, 170:360].mean()
    assert inside > 0.9 and region.sum() < 1.2 * eyes.sum()
    assert seam_score(frame, frame.copy(), box) is None
    # Codec-like noise alone (±3 grey levels) is not a region.
    noisy = np.clip(frame.astype(int) + np.random.default_rng(0).integers(-3, 4, frame.shape), 0, 255).astype(np.uint8)
    assert seam_score(frame, noisy, box) is None
