"""This checkout against another (e.g. an older commit's ``git worktree``):
the same extraction and conversion on real footage, in fresh interpreters,
alternating the checkouts (both orders) so machine drift hits them alike.
Reports each workload's seconds, the new/old ratio of every pair and their
median, and whether both checkouts produced the same results (extraction: every
``faces.json`` record's file, frame, detected flag, box and score;
conversion: frame counts and every pasted box).

    python benchmarks/compare_checkouts.py --tree ../old-checkout [--repeat 3]
        [--video ../shared/data/videos/person_a_train.mp4] [--extract-frames 450] [--convert-frames 600]

Prints one JSON object as its last line.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared" / "data" / "videos" / "person_a_train.mp4"

#: Each workload runs in a fresh interpreter with the checkout first on sys.path; its last line is JSON.
WORKLOADS = {
    "extract": """
import json, sys, time
sys.path.insert(0, {tree!r})
import faceswap_parts
assert faceswap_parts.__file__.startswith({tree!r}), faceswap_parts.__file__
from faceswap_parts.extraction import extract_video
t = time.perf_counter()
extract_video({video!r}, {out!r}, overwrite=True, progress=False, max_frames={frames})
seconds = time.perf_counter() - t
faces = json.load(open({out!r} + "/faces.json"))["faces"]
result = [(f["file"], f["frame"], f["detected"], f["box"], f["score"]) for f in faces]
print(json.dumps({{"seconds": seconds, "result": result}}))
""",
    "convert": """
import json, sys, time
sys.path.insert(0, {tree!r})
import faceswap_parts, numpy as np, torch
assert faceswap_parts.__file__.startswith({tree!r}), faceswap_parts.__file__
from faceswap_parts.config import ModelConfig
from faceswap_parts.models import FaceswapModel
from faceswap_parts.conversion import ConverterConfig, VideoConverter
torch.manual_seed(0)
model = FaceswapModel(ModelConfig(resolution=64, capacity="lite"))
converter = VideoConverter(model, ConverterConfig(device="cpu", progress_bar=False, max_frames={frames}))
t = time.perf_counter()
r = converter.convert({video!r}, {out!r} + ".mp4")
seconds = time.perf_counter() - t
print(json.dumps({{"seconds": seconds, "result": [r.frames, r.frames_with_faces,
                                                   [np.round(h, 3).tolist() for h in converter.history]]}}))
""",
}


def run(workload: str, tree: Path, video: Path, frames: int, out: Path) -> dict:
    code = WORKLOADS[workload].format(tree=str(tree), video=str(video), frames=frames, out=str(out))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, required=True, help="the other checkout (its repository root)")
    parser.add_argument("--repeat", type=int, default=3, help="pairs in each order per workload (default 3)")
    parser.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--extract-frames", type=int, default=450)
    parser.add_argument("--convert-frames", type=int, default=600)
    args = parser.parse_args()
    if not args.video.is_file():
        print(f"skipped: {args.video} not found (the shared test data lives in ../shared/data)")
        print(json.dumps({"skipped": f"{args.video} not found"}))
        return 0
    trees = {"this": ROOT, "other": args.tree.resolve()}
    frames = {"extract": args.extract_frames, "convert": args.convert_frames}
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workload in WORKLOADS:
            seconds: dict[str, list[float]] = {"this": [], "other": []}
            results = {}
            for order in (("this", "other"), ("other", "this")):
                for _ in range(args.repeat):
                    for name in order:
                        out = run(workload, trees[name], args.video, frames[workload], Path(tmp) / f"{workload}_{name}")
                        seconds[name].append(out["seconds"])
                        results[name] = out["result"]
            ratios = [a / b for a, b in zip(seconds["this"], seconds["other"])]
            report[workload] = {"frames": frames[workload],
                                "this_s": round(statistics.median(seconds["this"]), 2),
                                "other_s": round(statistics.median(seconds["other"]), 2),
                                "ratio_median": round(statistics.median(ratios), 3),
                                "ratios": [round(r, 3) for r in ratios],
                                "identical_results": results["this"] == results["other"]}
            print(f"{workload}: this {report[workload]['this_s']} s, other {report[workload]['other_s']} s, "
                  f"ratio {report[workload]['ratio_median']} (pairs {report[workload]['ratios']}), "
                  f"identical results: {report[workload]['identical_results']}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
