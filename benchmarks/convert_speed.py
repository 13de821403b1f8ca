"""Conversion speed and smoothing jitter.

    python benchmarks/convert_speed.py [--video ../shared/data/videos/person_a_train.mp4] [--max-frames N]

Converts the video end to end at default settings with a randomly
initialised 64 px ``lite`` model (weights do not change the cost), then, in
the same run, times the detector alone on the frames the pipeline detected
and the generator alone on as many aligned faces as the pipeline swapped.
``overhead_ratio`` = end-to-end time / (detector + generator time): what
decoding, tracking, blending and encoding add. The components alone run the
way one pipeline would, with all of torch's threads; the conversion itself
runs at default settings, which on this CPU means two parts at once with one
torch thread each (``workers``; ``pipeline_detector_s`` and
``pipeline_generator_s`` then add up both parts' times). ``one_pipeline``
is the same conversion with ``workers=1``, timed in the same run.

Jitter: mean frame-to-frame movement (pixels) of the pasted face box, from
the same detections tracked with Kalman, moving-average and no smoothing.

Last stdout line: ``{"fps", "detector_s", "generator_s", "total_s",
"overhead_ratio", "jitter_px": {"kalman", "moving_average", "none"}, ...}``.
"""
from __future__ import annotations

import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from video_args import ready, video_parser


def main(argv=None) -> int:
    parser = video_parser(__doc__.splitlines()[0], "convert")
    parser.add_argument("--detect-every", type=int, default=None, help="override the default")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    parser.add_argument("--encoder-preset", default=None, help="override the default x264 preset")
    parser.add_argument("--workers", type=int, default=None, help="override the default (0 = automatic)")
    args = parser.parse_args(argv)
    if not ready(args):
        return 2

    import torch

    from faceswap_parts.alignment import align_face
    from faceswap_parts.config import ModelConfig
    from faceswap_parts.conversion import ConverterConfig, VideoConverter
    from faceswap_parts.conversion.smoothing import box_jitter
    from faceswap_parts.conversion.tracking import FaceTracker
    from faceswap_parts.models import FaceswapModel
    from faceswap_parts.video import VideoReader

    torch.manual_seed(0)
    model = FaceswapModel(ModelConfig(resolution=64, capacity="lite")).eval()
    overrides = {"detect_every": args.detect_every} if args.detect_every else {}
    if args.encoder_preset:
        overrides["encoder_preset"] = args.encoder_preset
    if args.workers is not None:
        overrides["workers"] = args.workers
    config = ConverterConfig(max_frames=args.max_frames, progress_bar=False, precision=args.precision, **overrides)

    # warm-up (weights load, oneDNN kernel selection) outside the timings
    VideoConverter(model, config).convert_frames([f for _, _, f in VideoReader(args.video, max_frames=2)])

    converter = VideoConverter(model, config)
    with tempfile.TemporaryDirectory() as tmp:
        result = converter.convert(args.video, Path(tmp) / "out.mp4")
        result_size = (Path(tmp) / "out.mp4").stat().st_size
        # side by side: the same conversion as one pipeline using all threads
        one = VideoConverter(model, replace(config, workers=1)).convert(args.video, Path(tmp) / "one.mp4") \
            if result.workers > 1 else result
    total_s = result.seconds

    # the same work, component by component: detection (same frames, same
    # settings, tracked the same way) and the generator on the same crops
    alone = VideoConverter(model, config)
    detections: dict[int, tuple] = {}  # the detection each frame's face came from, for the jitter runs
    for batch in VideoReader(args.video, max_frames=args.max_frames).batches(config.batch_size):
        frames = [f for _, _, f in batch]
        crops = []
        for (index, _, frame), faces in zip(batch, alone.track_frames(frames)):
            if index % config.detect_every == 0:
                detections[index] = (np.array([f.raw_box for f in faces]).reshape(-1, 4),
                                     np.array([f.raw_points5 for f in faces]).reshape(-1, 5, 2))
            crops += [align_face(frame, face.points5, size=model.config.resolution,
                                 coverage=model.config.coverage)[0] for face in faces]
        if crops:
            alone.generate(np.stack(crops))
    detector_s, generator_s = alone.timings["detector"], alone.timings["generator"]

    # jitter of the pasted box with each smoothing, same detections, optical flow between
    jitter = {}
    for method in ("kalman", "moving-average", "none"):
        tracker = FaceTracker(smoother=dict(method=method))
        boxes = []
        for i, _, frame in VideoReader(args.video, max_frames=args.max_frames):
            faces = tracker.update(frame, detections.get(i), need_flow=config.detect_every > 1)
            boxes.append(faces[0].box if faces else None)
        jitter[method.replace("-", "_")] = round(box_jitter(boxes), 3)

    report = {
        "fps": round(result.frames / total_s, 2),
        "detector_s": round(detector_s, 2),
        "generator_s": round(generator_s, 2),
        "total_s": round(total_s, 2),
        "overhead_ratio": round(total_s / max(detector_s + generator_s, 1e-9), 3),
        "jitter_px": jitter,
        "frames": result.frames,
        "frames_with_faces": result.frames_with_faces,
        "pipeline_detector_s": round(result.timings["detector"], 2),
        "pipeline_generator_s": round(result.timings["generator"], 2),
        "workers": result.workers,
        "one_pipeline": {"total_s": round(one.seconds, 2), "fps": round(one.frames / one.seconds, 2),
                         "overhead_ratio": round(one.seconds / max(detector_s + generator_s, 1e-9), 3)},
        "detect_every": config.detect_every,
        "precision": config.precision,
        "encoder_preset": config.encoder_preset,
        "output_mb": round(result_size / 2**20, 2),
        "torch_threads": torch.get_num_threads(),
        "video": Path(args.video).name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
