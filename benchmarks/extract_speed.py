"""Extraction speed: the batched pipeline against a naive detection loop.

    python benchmarks/extract_speed.py [--video ../shared/data/videos/person_a_train.mp4]
                                       [--max-frames N] [--naive-frames N] [--threads N]

Runs :func:`faceswap_parts.extraction.extract_video` with its default
settings on the video (the face set goes to a temporary folder), then the
same pipeline with the detector replaced by a naive loop: every frame, one at
a time, through ``FaceDetector()`` at its own defaults (full resolution,
``min_face_size=20``, no batching across frames, ``detect_every=1``: no
optical-flow following). Both runs decode, landmark, align, mask and write
exactly as ``extract`` does, so ``speedup`` is what the detector's batching
and the pipeline's defaults buy end to end.

``agreement``: over the frames both runs saw, the fraction where both face
sets hold a face and their first (largest) faces' boxes overlap with IoU >
0.5, or neither holds one. ``*_cpu_ms_per_frame`` is process CPU time (all
threads) per frame, steadier than frames/s on a shared machine;
``*_detector_ms_per_frame`` is the wall time spent inside the detector
(``detect``, and ``face_probability`` for followed faces).

Last stdout line: ``{"fps", "naive_fps", "speedup", "agreement", "frames",
"naive_frames", "cpu_ms_per_frame", "naive_cpu_ms_per_frame",
"detector_ms_per_frame", "naive_detector_ms_per_frame", "landmarks", "threads"}``.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from video_args import ready, video_parser


class Timed:
    """Wraps a detector: times its ``detect`` and ``face_probability`` calls;
    ``one_at_a_time`` feeds ``detect`` frames singly, as a naive loop would."""

    def __init__(self, detector, one_at_a_time: bool = False):
        self.detector = detector
        self.thresholds = detector.thresholds
        self.one_at_a_time = one_at_a_time
        self.seconds = 0.0

    def detect(self, frames):
        start = time.perf_counter()
        if self.one_at_a_time:
            out = tuple(list(column) for column in zip(*(self.detector.detect(frame) for frame in frames)))
        else:
            out = self.detector.detect(frames)
        self.seconds += time.perf_counter() - start
        return out

    def face_probability(self, frames, boxes):
        start = time.perf_counter()
        out = self.detector.face_probability(frames, boxes)
        self.seconds += time.perf_counter() - start
        return out


def iou(a, b) -> float:
    from faceswap_parts.faces.detection.boxes import overlap_matrix

    return float(overlap_matrix(np.array([a, b], dtype=np.float64))[0, 1])


def agreement(first: dict, second: dict, frames: int) -> float:
    """``first`` and ``second``: frame index -> largest written box."""
    same = 0
    for i in range(frames):
        a, b = first.get(i), second.get(i)
        same += (a is None and b is None) or (a is not None and b is not None and iou(a, b) > 0.5)
    return same / frames if frames else 0.0


def run_pipeline(video: str, max_frames: int | None, **kwargs) -> tuple[object, float, dict]:
    """``extract_video`` at default settings (but ``kwargs``) into a temporary
    folder; returns its summary, the process CPU seconds it took and each
    frame's largest written face box."""
    from faceswap_parts.extraction import extract_video

    with tempfile.TemporaryDirectory() as tmp:
        cpu = time.process_time()
        summary = extract_video(video, Path(tmp) / "faces", max_frames=max_frames, progress=False, **kwargs)
        cpu = time.process_time() - cpu
        faces = json.loads((Path(tmp) / "faces" / "faces.json").read_text())["faces"]
    largest = {}
    for face in faces:  # a frame's faces come largest first
        largest.setdefault(face["frame"], face["box"])
    return summary, cpu, largest


def main(argv=None) -> int:
    parser = video_parser(__doc__.splitlines()[0], "extract")
    parser.add_argument("--naive-frames", type=int, default=None,
                        help="frames for the naive loop (default: as many as --max-frames)")
    args = parser.parse_args(argv)
    if not ready(args):
        return 2

    import torch

    import faceswap_parts.faces.detection as detection


    # extract_video builds its own detector from this name: time it without changing its settings
    pipeline: list = []
    original = detection.FaceDetector
    detection.FaceDetector = lambda *a, **kw: pipeline.append(Timed(original(*a, **kw))) or pipeline[-1]
    try:
        summary, cpu, largest = run_pipeline(args.video, args.max_frames)
    finally:
        detection.FaceDetector = original
    recorded = pipeline[0]
    print(summary, file=sys.stderr)
    print(f"pipeline detector: {recorded.detector!r}", file=sys.stderr)

    naive = Timed(original(), one_at_a_time=True)
    naive_summary, naive_cpu, naive_largest = run_pipeline(args.video, args.naive_frames or args.max_frames,
                                                           detector=naive, detect_every=1)
    print(naive_summary, file=sys.stderr)

    frames, naive_frames = summary.frames_read, naive_summary.frames_read
    fps, naive_fps = summary.frames_per_second, naive_summary.frames_per_second
    result = {
        "fps": round(fps, 2),
        "naive_fps": round(naive_fps, 2),
        "speedup": round(fps / naive_fps, 2) if naive_fps else None,
        "agreement": round(agreement(largest, naive_largest, min(frames, naive_frames)), 4),
        "frames": frames,
        "naive_frames": naive_frames,
        "cpu_ms_per_frame": round(1000 * cpu / frames, 1),
        "naive_cpu_ms_per_frame": round(1000 * naive_cpu / naive_frames, 1),
        "detector_ms_per_frame": round(1000 * recorded.seconds / frames, 1),
        "naive_detector_ms_per_frame": round(1000 * naive.seconds / naive_frames, 1),
        "landmarks": summary.landmarks,
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
