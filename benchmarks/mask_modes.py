"""The conversion masks (``convert --mask learned|face|learned+face``) and colour corrections
(``--color-correction``) scored on a quality run's checkpoints.

    python benchmarks/mask_modes.py --out DIR [--iterations 1500,3000] [--masks learned,face,learned+face]
                                    [--color-corrections adain,mean,none] [--score-seconds S]

``DIR`` is a ``benchmarks/swap_quality.py --keep-checkpoints`` output
folder: its face sets, its workdir and the checkpoint kept for every scored
iteration (``workdir/backups``; the workdir's own checkpoint counts for its
iteration). For each chosen iteration (default: every one kept), each
mask and each colour correction, the unseen segments (``--score-seconds`` of
them, default all) are converted (A after ``--a-split`` with AtoB, B
after ``--b-split`` with BtoA) and scored with ``evaluate`` exactly as
``swap_quality.py`` does; everything else is the converter's default.

Writes ``DIR/mask_modes/`` (videos, reports, ``mask_modes.json``, and
``contact_sheet.png``: the middle frame's face of each conversion, a row per
iteration, mask and colour correction). Last
stdout line: ``{"points": [{"iteration", "mask", "color_correction", "AtoB": {scores}, "BtoA": {scores}}, ...]}``.
"""
from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import swap_quality


def checkpoints(workdir: Path) -> dict[int, Path]:
    """Iteration -> checkpoint file of every kept checkpoint of ``workdir``."""
    import torch

    found = {int(m.group(1)): p for p in (workdir / "backups").glob("checkpoint_*.pt")
             if (m := re.fullmatch(r"checkpoint_(\d+)\.pt", p.name))}
    own = workdir / "checkpoint.pt"
    if own.is_file():
        found.setdefault(int(torch.load(own, map_location="cpu", weights_only=True, mmap=True)["iteration"]), own)
    return dict(sorted(found.items()))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="a swap_quality.py --keep-checkpoints output folder")
    p.add_argument("--iterations", default="", help="comma-separated iterations to score (default: every kept one)")
    p.add_argument("--masks", default="learned,face,learned+face")
    p.add_argument("--color-corrections", default="adain", help="comma-separated (default: the converter's)")
    p.add_argument("--score-seconds", type=float, default=None, help="seconds of each unseen segment (default: all)")
    p.add_argument("--video-a", default=str(swap_quality.VIDEOS / "person_a_train.mp4"))
    p.add_argument("--video-b", default=str(swap_quality.VIDEOS / "person_b_train.mp4"))
    p.add_argument("--a-split", type=float, default=32.0)
    p.add_argument("--b-split", type=float, default=46.0)
    p.add_argument("--eval-every", type=int, default=2)
    p.add_argument("--device", default="auto")
    args = p.parse_args(argv)

    from faceswap_parts.config import ModelConfig
    from faceswap_parts.conversion import ConverterConfig, VideoConverter
    from faceswap_parts.faces.detection import FaceDetector
    from faceswap_parts.io.images import write_image
    from faceswap_parts.models import FaceswapModel
    from faceswap_parts.models.checkpoint import load_checkpoint

    kept = checkpoints(args.out / "workdir")
    wanted = [int(i) for i in args.iterations.split(",") if i] or list(kept)
    missing = [i for i in wanted if i not in kept]
    if missing:
        print(f"no checkpoint kept for iteration {missing[0]} in {args.out / 'workdir'} "
              f"(kept: {', '.join(map(str, kept)) or 'none'})", file=sys.stderr)
        return 2
    faces = {"A": args.out / "faces_a", "B": args.out / "faces_b"}
    tests = {"AtoB": (args.video_a, args.a_split, "A", "B"), "BtoA": (args.video_b, args.b_split, "B", "A")}
    folder = args.out / "mask_modes"
    folder.mkdir(exist_ok=True)
    points, rows, boxes = [], [], {}
    detector = FaceDetector(device=args.device)
    for iteration in wanted:
        state = load_checkpoint(kept[iteration])
        model = FaceswapModel(ModelConfig.from_dict(state["model_config"]))
        model.load_state_dict(state["model"])
        model.eval()
        for mask, color in itertools.product(args.masks.split(","), args.color_corrections.split(",")):
            point = {"iteration": iteration, "mask": mask, "color_correction": color}
            tiles = []
            for direction, (video, start, src, dst) in tests.items():
                name = f"{direction}_{iteration:06d}_{mask.replace('+', '_')}_{color}"
                swapped = folder / f"{name}.mp4"
                end = None if args.score_seconds is None else start + args.score_seconds
                VideoConverter(model, ConverterConfig(direction=direction, start=start, end=end, device=args.device,
                                                      progress_bar=False, mask=mask, color_correction=color)
                               ).convert(video, swapped)
                point[direction] = swap_quality.named_for_people(
                    swap_quality.score(video, swapped, faces[src], faces[dst], start, args, folder / "reports" / name),
                    direction)
                frame = swap_quality.middle_frame(swapped)
                # one box per direction (from its first conversion), so that every row shows the same place
                boxes.setdefault(direction, detector.detect(frame)[0][0])
                tiles.append(swap_quality.face_crop(frame, boxes[direction]))
            print(json.dumps(point), flush=True)
            points.append(point)
            rows.append((f"it {iteration} {mask} {color}", tiles))
            write_image(folder / "contact_sheet.png", swap_quality.contact_sheet(rows, list(tests)))
    result = {"points": points}
    (folder / "mask_modes.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
