"""Faces of consecutive video frames, found the way both extraction and
conversion need them: the detector runs on every ``detect_every``-th frame
(one batched call per batch of frames) and optical flow follows the faces
on the frames in between (:class:`~faceswap_parts.faces.tracking.FaceTracker`).

Two policies for frames that flow cannot serve:

* ``complete=True`` (extraction, where every face counts): a frame with no
  face to follow, or where flow loses one, is detected too, and followed
  faces must pass O-Net (:meth:`FaceDetector.face_probability`, which also
  gives their score); frames that fail are detected in one second call.
* ``complete=False`` (conversion, where speed counts): a frame where flow
  loses a followed face is detected at once, so the swapped face does not
  flash back to the original for a frame; a frame with nothing to follow
  waits for the next scheduled detection.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from faceswap_parts.faces.tracking import FaceTracker, TrackedFace

#: ``select(frame, boxes, scores, points5) -> indices`` of the detected faces to keep (largest first).
Selector = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], list[int]]


class FaceFinder:
    """Find and follow the faces of consecutive frames (see the module docstring).

    Args:
        detect: :meth:`FaceDetector.detect` on a batch, or a callable like it:
            ``detect(frames) -> (boxes, scores, points5)``, three lists with an
            ``(N, 4)``, ``(N,)`` and ``(N, 5, 2)`` array per frame, largest face first.
        tracker: the :class:`FaceTracker` that follows (and smooths) the faces.
        detect_every: run ``detect`` on every K-th frame (1 = every frame).
        complete: the extraction policy (see the module docstring); needs ``verify``.
        verify: ``verify(frames, boxes_per_frame) -> probabilities per frame``
            (:meth:`FaceDetector.face_probability`) and the threshold to pass.
        select: which detected faces to keep (default: all).
    """

    def __init__(self, detect: Callable, tracker: FaceTracker, detect_every: int = 2, complete: bool = False,
                 verify: tuple[Callable, float] | None = None, select: Selector | None = None):
        if complete and verify is None:
            raise ValueError("complete=True needs verify: followed faces are checked with O-Net")
        self.detect, self.tracker, self.detect_every = detect, tracker, max(1, detect_every)
        self.complete, self.verify, self.select = complete, verify, select
        #: frames handled so far: keeps the detection rhythm across batches
        self.seen = 0

    def _detections(self, frames: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Detected faces per frame, reduced to the selected ones."""
        if not frames:  # no detector call at all
            return []
        found = []
        for frame, boxes, scores, points in zip(frames, *self.detect(frames)):
            boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
            scores = np.asarray(scores, np.float32).reshape(-1)
            points = np.asarray(points, np.float32).reshape(-1, 5, 2)
            if self.select is not None:
                keep = list(self.select(frame, boxes, scores, points))
                boxes, scores, points = boxes[keep], scores[keep], points[keep]
            found.append((boxes, scores, points))
        return found

    def _update(self, frame, found, need_flow: bool) -> list[TrackedFace]:
        boxes, scores, points = found
        faces = self.tracker.update(frame, (boxes, points), scores=scores, need_flow=need_flow)
        if self.complete:  # in the detector's order (largest first), not the tracks'
            faces.sort(key=lambda f: next((k for k, b in enumerate(boxes) if np.array_equal(f.raw_box, b)), len(boxes)))
        return faces

    def find(self, frames: list[np.ndarray], detect_all: bool = False) -> list[list[TrackedFace]]:
        """The faces of each of ``frames`` (which continue the previous call's
        frames); ``detect_all`` runs the detector on every one of them."""
        first, self.seen = self.seen, self.seen + len(frames)
        every = 1 if detect_all else self.detect_every
        scheduled = [i for i in range(len(frames)) if (first + i) % every == 0]
        detections = dict(zip(scheduled, self._detections([frames[i] for i in scheduled])))
        faces: list[list[TrackedFace] | None] = [None] * len(frames)
        followed: list[int] = []
        for i, frame in enumerate(frames):
            if i in detections:
                faces[i] = self._update(frame, detections[i], every > 1)
                continue
            positions = self.tracker.follow(frame) if self.tracker.following else None
            if positions is not None:
                faces[i] = self.tracker.update(frame, None, followed=positions)
                followed.append(i)
            elif self.complete:  # nothing to follow, or flow lost a face: detected below, in one call
                self.tracker.reset()  # so the frames up to the next scheduled detection are detected too
            elif self.tracker.following:  # flow lost a face: detect now, or its original would flash for a frame
                faces[i] = self._update(frame, self._detections([frame])[0], every > 1)
            else:
                faces[i] = self.tracker.update(frame, None, need_flow=every > 1)
        if self.complete:
            self._check_followed(frames, faces, followed, scheduled)
            missing = [i for i, found in enumerate(faces) if found is None]
            for i, found in zip(missing, self._detections([frames[i] for i in missing])):
                faces[i] = detected_faces(*found)  # the tracker is not told: it has moved on past these frames
        return faces

    def _check_followed(self, frames, faces, followed: list[int], scheduled: list[int]) -> None:
        """O-Net scores the followed faces (one call); a frame whose face fails
        it, and the followed frames after it up to the next detection, are
        marked for detection (``None``)."""
        if not followed:
            return
        probability, threshold = self.verify
        boxes = [np.array([f.raw_box for f in faces[i]], np.float32).reshape(-1, 4) for i in followed]
        scores = dict(zip(followed, probability([frames[i] for i in followed], boxes)))
        lost = False
        for i in range(len(frames)):
            if i in scheduled:
                lost = False
            elif i in scores:
                lost = lost or bool((scores[i] < threshold).any())
                faces[i] = None if lost else self._selected(frames[i], faces[i], scores[i])
        if lost:
            self.tracker.reset()

    def _selected(self, frame, faces: list[TrackedFace], scores: np.ndarray) -> list[TrackedFace]:
        """Followed faces with their O-Net scores, largest first, that ``select`` keeps."""
        for face, score in zip(faces, scores):
            face.score = float(score)
        faces = sorted(faces, key=lambda f: -(f.raw_box[2] - f.raw_box[0]) * (f.raw_box[3] - f.raw_box[1]))
        if self.select is None or not faces:
            return faces
        keep = self.select(frame, np.array([f.raw_box for f in faces], np.float32),
                           np.array([f.score for f in faces], np.float32),
                           np.array([f.raw_points5 for f in faces], np.float32))
        return [faces[k] for k in keep]


def detected_faces(boxes: np.ndarray, scores: np.ndarray, points5: np.ndarray) -> list[TrackedFace]:
    """Detections as untracked :class:`TrackedFace` objects (``track`` -1, no smoothing)."""
    return [TrackedFace(-1, np.asarray(b, np.float64), np.asarray(p, np.float64).reshape(5, 2),
                        np.asarray(b, np.float64), np.asarray(p, np.float64).reshape(5, 2), True, float(s))
            for b, s, p in zip(boxes, scores, points5)]
