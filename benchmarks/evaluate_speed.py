"""Speed of `evaluate` on CPU: face-folder embedding and frame-pair scoring.

Builds two 6-face folders from the shared 3 s clips and a mirrored copy of
A's clip (so both videos of every pair need a full analysis), then times
``evaluate_videos`` on --frames pairs, once per identity embedder, side by
side in the same run: ``dlib`` (dlib's own network, one face at a time) and
``dlib-torch`` (the same network in torch, a batch at a time; the default).
``embedders.<name>.embed_s_per_face`` times the embedder alone on the same
faces; ``embed_speedup`` is dlib's time over dlib-torch's there, and
``max_descriptor_difference`` the largest difference between their
descriptors. Last stdout line: one JSON object.

    python benchmarks/evaluate_speed.py [--frames 30] [--device cpu]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FACESWAP_SHARED_DATA", ROOT.parent / "shared" / "data")) / "videos"


def build_inputs(tmp: Path, detector) -> tuple[Path, Path, Path]:
    from faceswap_parts.faces.alignment import align_face
    from faceswap_parts.io.images import write_image
    from faceswap_parts.io.video import read_frames, write_video

    for name in ("a", "b"):
        frames, _ = read_frames(SHARED / f"person_{name}_3s.mp4", max_frames=72)
        frames = frames[::12]
        _, _, points = detector.detect(frames)
        out = tmp / f"faces_{name}" / "aligned_faces"
        out.mkdir(parents=True)
        for k, (frame, pts) in enumerate(zip(frames, points)):
            write_image(out / f"{k:03d}.png", align_face(frame, pts[0], 256)[0])
    frames, info = read_frames(SHARED / "person_a_3s.mp4")
    mirrored = write_video(tmp / "mirrored.mp4", (f[:, ::-1] for f in frames), info.fps)
    return tmp / "faces_a", tmp / "faces_b", Path(mirrored)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"shared test footage not found at {SHARED}")
    from faceswap_parts.evaluation import evaluate_videos
    from faceswap_parts.evaluation.faces import embed_face_folder
    from faceswap_parts.evaluation.pipeline import EvaluationConfig, _load_tools

    import numpy as np

    from faceswap_parts.evaluation.embeddings import DEFAULT_EMBEDDER
    from faceswap_parts.io.video import read_frames

    results, descriptors = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        faces_a = faces_b = swapped = None
        for name in ("dlib", "dlib-torch"):
            config = EvaluationConfig(max_frames=args.frames, device=args.device, progress=False, embedder=name)
            start = time.perf_counter()
            analyzer = _load_tools(config)  # cached: evaluate_videos below reuses these models
            load_s = time.perf_counter() - start
            if faces_a is None:
                faces_a, faces_b, swapped = build_inputs(Path(tmp), analyzer.detector)
                frames, _ = read_frames(SHARED / "person_b_3s.mp4", max_frames=48)
                found = [(f, d[0][:1], d[1][:1]) for f, d in zip(frames, analyzer.detect(frames)) if len(d[0])]
            start = time.perf_counter()
            descriptors[name] = np.concatenate(analyzer.embedder.embed_batch(found))
            embed_s = time.perf_counter() - start
            start = time.perf_counter()
            folder = embed_face_folder(analyzer, faces_a, "A")
            folder_s = time.perf_counter() - start
            start = time.perf_counter()
            report = evaluate_videos(SHARED / "person_a_3s.mp4", swapped, faces_a, faces_b,
                                     out=Path(tmp) / f"report_{name}", config=config)
            total_s = time.perf_counter() - start
            frames_s = total_s - 2 * folder_s  # both folders hold the same number of faces
            results[name] = {
                "frame_pairs": report["frame_count"], "model_load_s": round(load_s, 2),
                "embed_s_per_face": round(embed_s / len(found), 4),
                "face_folder_s_per_face": round(folder_s / len(folder.files), 3),
                "evaluate_total_s": round(total_s, 2), "frame_pairs_per_s": round(report["frame_count"] / frames_s, 2),
                "identity_transfer_rate": report["identity_transfer_rate"], "coverage": report["coverage"],
            }
    result = {
        "benchmark": "evaluate_speed", "device": args.device,
        "threads": int(os.environ.get("OMP_NUM_THREADS", 0)) or None,
        **results[DEFAULT_EMBEDDER], "embedder": DEFAULT_EMBEDDER, "embedders": results,
        "embed_faces": len(found),
        "embed_speedup": round(results["dlib"]["embed_s_per_face"] / results["dlib-torch"]["embed_s_per_face"], 2),
        "evaluate_speedup": round(results["dlib"]["evaluate_total_s"] / results["dlib-torch"]["evaluate_total_s"], 2),
        "max_descriptor_difference": float(np.abs(descriptors["dlib"] - descriptors["dlib-torch"]).max()),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
