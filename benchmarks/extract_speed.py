"""Extraction speed: the batched pipeline against a naive detection loop.

    python benchmarks/extract_speed.py [--video ../shared/data/videos/person_a_train.mp4]
                                       [--max-frames N] [--naive-frames N] [--threads N]

Runs :func:`faceswap_parts.extraction.extract_video` with its default
settings on the video (the face set goes to a temporary folder), then the
same pipeline with the detector replaced by a naive loop: one frame at a time
through ``FaceDetector()`` at its own defaults (full resolution,
``min_face_size=20``, no batching across frames). Both runs decode, detect,
landmark, align, mask and write exactly as ``extract`` does, so ``speedup``
is what the detector's batching and the pipeline's defaults buy end to end.

``agreement``: over the frames both runs saw, the fraction where both
detectors find a face and their largest boxes overlap with IoU > 0.5, or
both find none. ``*_cpu_ms_per_frame`` is process CPU time (all threads) per
frame, steadier than frames/s on a shared machine; ``*_detector_ms_per_frame``
is the wall time spent inside ``detect``.

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


class Recorder:
    """Wraps a detector's ``detect`` function: times its calls and keeps each
    frame's largest box (``None`` when no face); ``one_at_a_time`` feeds it
    frames singly, as a naive loop would."""

    def __init__(self, detect, one_at_a_time: bool = False):
        self.detect_fn = detect
        self.one_at_a_time = one_at_a_time
        self.largest: list = []
        self.seconds = 0.0

    def detect(self, frames):
        start = time.perf_counter()
        if self.one_at_a_time:
            out = tuple(list(column) for column in zip(*(self.detect_fn(frame) for frame in frames)))
        else:
            out = self.detect_fn(frames)
        self.seconds += time.perf_counter() - start
        self.largest.extend(boxes[0] if len(boxes) else None for boxes in out[0])
        return out


def iou(a, b) -> float:
    from faceswap_parts.detection.boxes import overlap_matrix

    return float(overlap_matrix(np.array([a, b], dtype=np.float64))[0, 1])


def agreement(first: list, second: list) -> float:
    pairs = list(zip(first, second))
    same = sum((a is None and b is None) or (a is not None and b is not None and iou(a, b) > 0.5) for a, b in pairs)
    return same / len(pairs) if pairs else 0.0


def run_pipeline(video: str, max_frames: int | None, detector=None) -> tuple[object, float]:
    """``extract_video`` at default settings into a temporary folder; returns
    its summary and the process CPU seconds it took."""
    from faceswap_parts.extraction import extract_video

    with tempfile.TemporaryDirectory() as tmp:
        cpu = time.process_time()
        summary = extract_video(video, Path(tmp) / "faces", max_frames=max_frames, progress=False, detector=detector)
        return summary, time.process_time() - cpu


def main(argv=None) -> int:
    parser = video_parser(__doc__.splitlines()[0], "extract")
    parser.add_argument("--naive-frames", type=int, default=None,
                        help="frames for the naive loop (default: as many as --max-frames)")
    args = parser.parse_args(argv)
    if not ready(args):
        return 2

    import torch

    import faceswap_parts.detection as detection


    # extract_video builds its own detector from this name: record it without changing its settings
    class RecordedDetector(detection.FaceDetector):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.recorder = Recorder(lambda images: original.detect(self, images))
            pipeline.append(self)

        def detect(self, images):
            return self.recorder.detect(images)

    pipeline: list = []
    original = detection.FaceDetector
    detection.FaceDetector = RecordedDetector
    try:
        summary, cpu = run_pipeline(args.video, args.max_frames)
    finally:
        detection.FaceDetector = original
    recorded = pipeline[0].recorder
    print(summary, file=sys.stderr)
    print(f"pipeline detector: {pipeline[0]!r}", file=sys.stderr)

    naive = Recorder(original().detect, one_at_a_time=True)
    naive_summary, naive_cpu = run_pipeline(args.video, args.naive_frames or args.max_frames, detector=naive)
    print(naive_summary, file=sys.stderr)

    frames, naive_frames = summary.frames_read, naive_summary.frames_read
    fps, naive_fps = summary.frames_per_second, naive_summary.frames_per_second
    result = {
        "fps": round(fps, 2),
        "naive_fps": round(naive_fps, 2),
        "speedup": round(fps / naive_fps, 2) if naive_fps else None,
        "agreement": round(agreement(recorded.largest, naive.largest), 4),
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
