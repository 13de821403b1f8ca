"""Face tracks across frames: detections on some frames, Lucas-Kanade optical
flow (OpenCV) in between, and a :class:`TrackSmoother` per track.

With ``all_faces=False`` there is one track, always the largest detected
face; otherwise each detection joins the nearest live track or starts one.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceswap_parts.faces.smoothing import TrackSmoother, box_size

_LK_PARAMS = dict(winSize=(21, 21), maxLevel=3,
                  criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))


@dataclass
class TrackedFace:
    """One face in one frame: the smoothed geometry used for pasting and the raw one it came from."""

    track: int
    box: np.ndarray  # (4,) smoothed x1, y1, x2, y2
    points5: np.ndarray  # (5, 2) smoothed
    raw_box: np.ndarray
    raw_points5: np.ndarray
    detected: bool  # False when carried over from the previous frame by optical flow
    score: float = float("nan")  # the detector's (or O-Net's) face probability, when known


@dataclass
class _Track:
    smoother: TrackSmoother
    box: np.ndarray | None = None  # last raw observation, None when lost
    points5: np.ndarray | None = None
    misses: int = 0


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


class FaceTracker:
    """Turn per-frame detections (or none, on frames in between) into smoothed face tracks.

    Args:
        all_faces: follow every face rather than the largest one.
        smoother: keyword arguments for each track's :class:`TrackSmoother`.
        max_lost: frames a track survives without being seen before it is dropped.
    """

    def __init__(self, all_faces: bool = False, smoother: dict | None = None, max_lost: int = 10):
        self.all_faces = all_faces
        self.smoother_args = dict(smoother or {})
        self.max_lost = max_lost
        self.tracks: dict[int, _Track] = {}
        self._next_id = 0
        self._prev_frame = None

    def reset(self) -> None:
        """Forget all tracks (e.g. at a cut or a new video)."""
        self.tracks.clear()
        self._prev_frame = None

    def _new_track(self) -> int:
        tid = self._next_id
        self._next_id += 1
        self.tracks[tid] = _Track(TrackSmoother(**self.smoother_args))
        return tid

    def _assign(self, boxes: np.ndarray) -> list[int]:
        """Track id for each detection: the nearest live track within half a
        face size, else a new track."""
        if not self.all_faces:
            tid = next(iter(self.tracks), None)
            return [self._new_track() if tid is None else tid] if len(boxes) else []
        free = set(self.tracks)
        ids = []
        for box in boxes:
            best, best_d = None, np.inf
            for tid in free:
                last = self.tracks[tid].box
                if last is None:
                    continue
                d = np.linalg.norm(_centre(box) - _centre(last)) / box_size(last)
                if d < 0.5 and d < best_d:
                    best, best_d = tid, d
            if best is None:
                best = self._new_track()
            else:
                free.discard(best)
            ids.append(best)
        return ids

    def _flow(self, frame: np.ndarray, track: _Track) -> tuple[np.ndarray, np.ndarray] | None:
        """Carry a track's last box and points to this frame with optical flow,
        checked forward-backward; ``None`` when the flow is unreliable."""
        if self._prev_frame is None or track.box is None:
            return None
        b = track.box
        # flow within a window around the face: grey conversion and pyramids
        # of the whole frame would cost more than the flow itself
        h, w = frame.shape[:2]
        margin = 0.5 * box_size(b)
        x0, y0 = (max(int(v - margin), 0) for v in b[:2])
        x1, y1 = min(int(b[2] + margin) + 1, w), min(int(b[3] + margin) + 1, h)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        prev, cur = (cv2.cvtColor(np.ascontiguousarray(f[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
                     for f in (self._prev_frame, frame))
        offset = np.array([x0, y0], np.float32)
        pts = (track.points5.astype(np.float32) - offset).reshape(-1, 1, 2)
        nxt, st, _ = cv2.calcOpticalFlowPyrLK(prev, cur, pts, None, **_LK_PARAMS)
        if nxt is None or not st.all():
            return None
        back, st2, _ = cv2.calcOpticalFlowPyrLK(cur, prev, nxt, None, **_LK_PARAMS)
        if back is None or not st2.all():
            return None
        if np.abs(back - pts).reshape(-1, 2).max() > 0.03 * box_size(b):
            return None
        pts, nxt = pts + offset, nxt + offset
        # the box follows the similarity that moved the 5 points (box corners have no texture to track)
        matrix, _ = cv2.estimateAffinePartial2D(pts, nxt, method=cv2.LMEDS)
        if matrix is None:
            return None
        new_points = nxt.reshape(5, 2).astype(np.float64)
        new_corners = np.array([[b[0], b[1]], [b[2], b[3]]]) @ matrix[:, :2].T + matrix[:, 2]
        return new_corners.ravel(), new_points

    def _follow_each(self, frame: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        moved = {}
        for tid, track in self.tracks.items():
            flowed = self._flow(frame, track)
            if flowed is not None:
                moved[tid] = flowed
        return moved

    @property
    def following(self) -> bool:
        """Whether a face seen on the last frame is being followed."""
        return any(track.box is not None for track in self.tracks.values())

    def follow(self, frame: np.ndarray) -> dict[int, tuple[np.ndarray, np.ndarray]] | None:
        """Where optical flow puts every face followed so far in ``frame``
        (track id -> ``(box, points5)``), without advancing the tracks; ``None``
        when no face is followed or flow loses one of them, so the caller can
        run the detector on this frame instead. Pass the result to
        :meth:`update` as ``followed``."""
        live = sum(track.box is not None for track in self.tracks.values())
        moved = self._follow_each(frame) if live else {}
        return moved if live and len(moved) == live else None

    def update(self, frame: np.ndarray, detections: tuple[np.ndarray, np.ndarray] | None,
               need_flow: bool = True, followed: dict | None = None,
               scores: np.ndarray | None = None) -> list[TrackedFace]:
        """Advance one frame.

        Args:
            frame: the RGB frame.
            detections: ``(boxes (N, 4), points5 (N, 5, 2))`` sorted largest
                first, or ``None`` on frames without detection (optical flow).
            need_flow: keep this frame for the next frame's optical flow.
            followed: :meth:`follow`'s result for this frame (with
                ``detections=None``), so flow is not computed twice.
            scores: the detections' face probabilities (kept in :attr:`TrackedFace.score`).
        """
        observed: dict[int, tuple[np.ndarray, np.ndarray, bool, float]] = {}
        if detections is not None:
            boxes, points = detections
            scores = np.full(len(boxes), np.nan) if scores is None else scores
            if not self.all_faces:
                boxes, points = boxes[:1], points[:1]
            for tid, box, pts, score in zip(self._assign(boxes), boxes, points, scores):
                observed[tid] = (np.asarray(box, np.float64), np.asarray(pts, np.float64).reshape(5, 2), True,
                                 float(score))
        else:
            moved = self._follow_each(frame) if followed is None else followed
            observed = {tid: (*m, False, float("nan")) for tid, m in moved.items()}
        faces = []
        for tid in list(self.tracks):
            track = self.tracks[tid]
            if tid not in observed:
                track.smoother.miss()
                track.box = track.points5 = None
                track.misses += 1
                if track.misses > self.max_lost:
                    del self.tracks[tid]
                continue
            box, pts, detected, score = observed[tid]
            track.box, track.points5, track.misses = box, pts, 0
            sbox, spts = track.smoother.update(box, pts)
            faces.append(TrackedFace(tid, sbox, spts, box, pts, detected, score))
        self._prev_frame = frame if (need_flow or detections is None) else None
        return faces
