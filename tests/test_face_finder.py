"""The face finder shared by extraction and conversion: its two policies for
frames that optical flow cannot serve."""
from __future__ import annotations

import numpy as np
import pytest

from faceswap_parts.faces.detection import FaceDetector
from faceswap_parts.faces.finder import FaceFinder
from faceswap_parts.faces.tracking import FaceTracker


@pytest.fixture(scope="module")
def detector():
    return FaceDetector(device="cpu")


def _finder(detector, calls: list, complete: bool) -> FaceFinder:
    def detect(frames):
        calls.append(len(frames))
        return detector.detect(frames)

    verify = (detector.face_probability, detector.thresholds[2]) if complete else None
    return FaceFinder(detect, FaceTracker(all_faces=True, smoother=dict(method="none"), max_lost=0), detect_every=4,
                      complete=complete, verify=verify)


def _clip(grace_hopper):
    face = np.ascontiguousarray(grace_hopper[:512, :512])
    blank = np.zeros_like(face)
    return [face, face, blank, blank, face]  # the face, gone for two frames, back on the next scheduled frame


def test_conversion_policy_detects_where_flow_loses_a_face_and_waits_otherwise(detector, grace_hopper):
    calls: list = []
    faces = _finder(detector, calls, complete=False).find(_clip(grace_hopper))
    # frames 0 and 4 (scheduled) in one call, then frame 2 at once when flow loses her; frame 3 follows nothing
    assert calls == [2, 1]
    assert [len(f) for f in faces] == [1, 1, 0, 0, 1]
    assert [f[0].detected for f in faces if f] == [True, False, True]


def test_extraction_policy_detects_every_frame_flow_cannot_serve_and_checks_followed_faces(detector, grace_hopper):
    calls: list = []
    faces = _finder(detector, calls, complete=True).find(_clip(grace_hopper))
    # frames 0 and 4 scheduled, then frames 2 and 3 (lost, then nothing to follow) together
    assert calls == [2, 2]
    assert [len(f) for f in faces] == [1, 1, 0, 0, 1]
    followed = faces[1][0]
    assert not followed.detected and followed.score > detector.thresholds[2]  # O-Net's score of the followed face
    assert faces[0][0].score == pytest.approx(faces[4][0].score)  # the detector's score on the same image


def test_the_detection_rhythm_continues_across_calls(detector, grace_hopper):
    calls: list = []
    finder = _finder(detector, calls, complete=False)
    face = np.ascontiguousarray(grace_hopper[:512, :512])
    for _ in range(3):
        finder.find([face, face])  # frames 0-5: detections on 0 and 4 only
    assert calls == [1, 1] and finder.seen == 6
