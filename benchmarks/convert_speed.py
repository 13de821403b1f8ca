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

``--repeat N`` does all that N times in a row and reports the medians (the
ratio as the median of the N ratios, each from one repeat's side-by-side
times; ``runs`` lists them all): on a shared 2-core machine each time moves
by about 4 % from run to run.

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
    parser.add_argument("--repeat", type=int, default=1, help="time everything N times, report medians")
    args = parser.parse_args(argv)
    if not ready(args):
        return 2

    import torch

    from faceswap_parts.faces.alignment import align_face
    from faceswap_parts.config import ModelConfig
    from faceswap_parts.conversion import ConverterConfig, VideoConverter
    from faceswap_parts.faces.smoothing import box_jitter
    from faceswap_parts.faces.tracking import FaceTracker
    from faceswap_parts.models import FaceswapModel
    from faceswap_parts.io.video import VideoReader

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

    def timed_run(keep_detections: bool) -> dict:
        """One side-by-side measurement: the conversion, the same as one pipeline, the components alone."""
        with tempfile.TemporaryDirectory() as tmp:
            result = VideoConverter(model, config).convert(args.video, Path(tmp) / "out.mp4")
            size = (Path(tmp) / "out.mp4").stat().st_size
            # side by side: the same conversion as one pipeline using all threads
            one = VideoConverter(model, replace(config, workers=1)).convert(args.video, Path(tmp) / "one.mp4") \
                if result.workers > 1 else result

        # the same work, component by component: detection (same frames, same
        # settings, tracked the same way) and the generator on the same crops
        alone = VideoConverter(model, config)
        for batch in VideoReader(args.video, max_frames=args.max_frames).batches(config.batch_size):
            frames = [f for _, _, f in batch]
            crops = []
            for (index, _, frame), faces in zip(batch, alone.track_frames(frames)):
                if keep_detections and index % config.detect_every == 0:
                    detections[index] = (np.array([f.raw_box for f in faces]).reshape(-1, 4),
                                         np.array([f.raw_points5 for f in faces]).reshape(-1, 5, 2))
                crops += [align_face(frame, face.points5, size=model.config.resolution,
                                     coverage=model.config.coverage)[0] for face in faces]
            if crops:
                alone.generate(np.stack(crops))
        components = alone.timings["detector"] + alone.timings["generator"]
        return {"total_s": result.seconds, "detector_s": alone.timings["detector"],
                "generator_s": alone.timings["generator"], "overhead_ratio": result.seconds / max(components, 1e-9),
                "one_pipeline_s": one.seconds, "one_pipeline_ratio": one.seconds / max(components, 1e-9),
                "pipeline_detector_s": result.timings["detector"], "pipeline_generator_s": result.timings["generator"],
                "result": result, "output_bytes": size}

    detections: dict[int, tuple] = {}  # the detection each frame's face came from, for the jitter runs
    runs = [timed_run(keep_detections=r == 0) for r in range(max(args.repeat, 1))]
    result = runs[0]["result"]

    def median(key: str) -> float:
        return float(np.median([run[key] for run in runs]))

    total_s, detector_s, generator_s = median("total_s"), median("detector_s"), median("generator_s")

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
        "overhead_ratio": round(median("overhead_ratio"), 3),
        "jitter_px": jitter,
        "frames": result.frames,
        "frames_with_faces": result.frames_with_faces,
        "pipeline_detector_s": round(median("pipeline_detector_s"), 2),
        "pipeline_generator_s": round(median("pipeline_generator_s"), 2),
        "workers": result.workers,
        "one_pipeline": {"total_s": round(median("one_pipeline_s"), 2),
                         "fps": round(result.frames / median("one_pipeline_s"), 2),
                         "overhead_ratio": round(median("one_pipeline_ratio"), 3)},
        "repeat": len(runs),
        "runs": [{key: round(run[key], 3) for key in ("total_s", "detector_s", "generator_s", "overhead_ratio",
                                                      "one_pipeline_s", "one_pipeline_ratio")} for run in runs],
        "detect_every": config.detect_every,
        "precision": config.precision,
        "encoder_preset": config.encoder_preset,
        "output_mb": round(runs[0]["output_bytes"] / 2**20, 2),
        "torch_threads": torch.get_num_threads(),
        "video": Path(args.video).name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
