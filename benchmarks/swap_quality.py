"""Swap quality over training time, scored on footage the model never saw.

    python benchmarks/swap_quality.py [--iterations N] [--every K] [--perceptual on|off] [--out DIR] ...

Extracts faces (default settings) from ``person_a_train.mp4`` seconds 0-32
and ``person_b_train.mp4`` seconds 0-46, trains one model on them with a
fixed seed (the v2.2 schedule laid out over ``--iterations``), and every
``--every`` iterations converts the unseen rest of each clip (A 32-40 s with
AtoB, B 46-56 s with BtoA) and scores it with ``evaluate`` against the
training face sets. Distances are named for the real people: in BtoA,
``mean_distance_to_a`` is the distance to A, the identity being put on B's
video. ``reencoded`` holds the scores of each unseen segment merely
re-encoded: the landmark-error and stability baselines a swap is held to.

Writes ``DIR/curves.png`` (the scores against iterations and CPU minutes)
and ``DIR/contact_sheet.png`` (one frame of each unseen segment per
checkpoint, source beside swap), and keeps the face sets, the workdir, the
converted videos and the evaluation reports under ``DIR``. Face sets and
re-encoded baselines are reused by later runs with the same ``--out``; the
workdir is started afresh unless ``--resume``.

``train_cpu_s`` is the process CPU time spent in training (all threads),
``train_wall_s`` its wall time; conversion and scoring are not counted.

Last stdout line: ``{"config": {...}, "reencoded": {...}, "points": [{"iteration",
"train_cpu_s", "train_wall_s", "AtoB": {scores}, "BtoA": {scores}}, ...]}``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
VIDEOS = ROOT.parent / "shared" / "data" / "videos"
SCORES = ("identity_transfer_rate", "identity_match_rate", "sharpness_ratio", "mean_distance_to_a", "mean_distance_to_b",
          "landmark_error",
          "stability_ratio", "flicker_ratio", "coverage", "seam_score")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--video-a", default=str(VIDEOS / "person_a_train.mp4"))
    p.add_argument("--video-b", default=str(VIDEOS / "person_b_train.mp4"))
    p.add_argument("--a-split", type=float, default=32.0, help="A trains on seconds [0, S), is scored after S")
    p.add_argument("--b-split", type=float, default=46.0, help="B trains on seconds [0, S), is scored after S")
    p.add_argument("--score-seconds", type=float, default=None,
                   help="score at most this many seconds after each split (default: to the clip's end)")
    p.add_argument("--iterations", type=int, default=1500, help="total training iterations (schedule laid over it)")
    p.add_argument("--every", type=int, default=250, help="score every K iterations")
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--capacity", default="lite")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto")
    p.add_argument("--perceptual", choices=("on", "off"), default="on")
    p.add_argument("--perceptual-net", default="auto", help="auto, vggface2 or dlib")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init-from", default="", metavar="WORKDIR",
                   help="start the pair from this model (train --init-from; its architecture wins), e.g. a --pretrain run")
    p.add_argument("--init-parts", default="all", help="all or encoder, as train --init-parts")
    p.add_argument("--schedule", default="v2.2", help="a named schedule: v2.2 or short (v2.2 without the decoder swap)")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=JSON",
                   help="override a TrainConfig field, e.g. --set lr_g=2e-4 --set 'w_pl=[0,0.1,0.3,0.1]'")
    p.add_argument("--parts", default="", help="convert only these parts (e.g. eyes,mouth); default: the whole face")
    p.add_argument("--blend", default="feather", help="feather or seamless, as convert --blend")
    p.add_argument("--eval-every", type=int, default=2, help="score every N-th frame of the unseen segments")
    p.add_argument("--out", default=str(ROOT / "benchmark_output" / "swap_quality"))
    p.add_argument("--keep-checkpoints", action="store_true",
                   help="keep the checkpoint of every scored iteration (workdir/backups), to score them again later "
                        "(e.g. benchmarks/mask_modes.py)")
    p.add_argument("--resume", action="store_true", help="continue the workdir in --out instead of starting afresh")
    return p.parse_args(argv)


def extract_once(video: str, folder: Path, start: float, end: float) -> Path:
    """Extract ``video`` seconds [start, end) into ``folder`` unless a previous run did."""
    from faceswap_parts.extraction import extract_video

    marker = folder / "benchmark_segment.json"
    wanted = {"video": str(Path(video).resolve()), "start": start, "end": end}
    if marker.is_file() and json.loads(marker.read_text()) == wanted:
        return folder
    extract_video(video, folder, start=start, end=end, overwrite=True, progress=False)
    marker.write_text(json.dumps(wanted))
    return folder


def reencode_once(video: str, path: Path, start: float, end: float | None) -> Path:
    """The unseen segment merely re-encoded (the converter's encoder and preset)."""
    from faceswap_parts.io.video import VideoReader, VideoWriter

    if path.is_file():
        return path
    reader = VideoReader(video, start=start, end=end)
    tmp = path.with_name("." + path.name)
    with VideoWriter(tmp, reader.info.fps, reader.info.size) as writer:
        for _, _, frame in reader:
            writer.write(frame)
    tmp.replace(path)
    return path


def reencoded_scores_once(video: str, out: Path, faces: dict, start: float, stop: float | None, src: str, dst: str,
                          args) -> dict:
    """The scores of the unseen segment merely re-encoded (the baseline), kept in ``out`` so that a
    resumed run does not score it again."""
    saved, path = out / f"reencoded_{src}.json", out / f"reencoded_{src}.mp4"
    wanted = {"video": str(Path(video).resolve()), "start": start, "end": stop, "eval_every": args.eval_every,
              "faces": [str(faces[src]), str(faces[dst])]}
    kept = json.loads(saved.read_text()) if saved.is_file() else {}
    if kept.get("wanted") == wanted and path.is_file():
        return kept["scores"]
    if saved.is_file():  # made for another segment
        path.unlink(missing_ok=True)
    reencode_once(video, path, start, stop)
    scores = named_for_people(score(video, path, faces[src], faces[dst], start, args,
                                    out / "reports" / f"reencoded_{src}"), f"{src}to{dst}")
    saved.write_text(json.dumps({"wanted": wanted, "scores": scores}))
    return scores


def score(original: str, swapped: Path, faces_source: Path, faces_target: Path, start: float, args,
          report_dir: Path) -> dict:
    from faceswap_parts.evaluation import evaluate_videos

    report = evaluate_videos(original, swapped, faces_source, faces_target, out=report_dir, start=start,
                             every=args.eval_every, device=args.device, progress=False)
    return {k: report.get(k) for k in SCORES}


def named_for_people(scores: dict, direction: str) -> dict:
    """evaluate's a/b are the video's own person and the one swapped in;
    name the distances for A and B themselves."""
    if direction == "BtoA":
        scores = dict(scores, mean_distance_to_a=scores["mean_distance_to_b"],
                      mean_distance_to_b=scores["mean_distance_to_a"])
    return scores


def middle_frame(video: Path) -> np.ndarray:
    from faceswap_parts.io.video import read_frames

    frames, _ = read_frames(video)
    return frames[len(frames) // 2]


def face_crop(frame: np.ndarray, box, size: int = 160) -> np.ndarray:
    import cv2

    x1, y1, x2, y2 = box
    cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, 0.8 * max(x2 - x1, y2 - y1)
    m = np.float32([[size / (2 * half), 0, size / 2 - cx * size / (2 * half)],
                    [0, size / (2 * half), size / 2 - cy * size / (2 * half)]])
    return cv2.warpAffine(frame, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def contact_sheet(rows: list[tuple[str, list[np.ndarray]]], header: list[str]) -> np.ndarray:
    import cv2

    size = rows[0][1][0].shape[0]
    pad = 4
    label_w = max([90] + [cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)[0][0] + 8 for label, _ in rows])

    def text_tile(text, w, h):
        tile = np.full((h, w, 3), 255, np.uint8)
        cv2.putText(tile, text, (4, h // 2 + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        return tile

    def line(label, tiles, h):
        parts = [text_tile(label, label_w, h)]
        for t in tiles:
            parts += [np.full((h, pad, 3), 255, np.uint8), t]
        return np.concatenate(parts, axis=1)

    out = [line("", [text_tile(h, size, 24) for h in header], 24)]
    for label, tiles in rows:
        out += [np.full((pad, out[0].shape[1], 3), 255, np.uint8), line(label, tiles, size)]
    return np.concatenate(out, axis=0)


def plot_curves(points: list[dict], reencoded: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    its = [p["iteration"] for p in points]
    fig, axes = plt.subplots(2, 3, figsize=(14, 7.5))
    panels = [("identity_transfer_rate", "identity transfer rate", 0.9),
              ("landmark_error", "landmark error", None), ("stability_ratio", "stability ratio", 1.2),
              ("flicker_ratio", "flicker ratio", None), ("coverage", "coverage", 0.99)]
    colours = {"AtoB": "tab:blue", "BtoA": "tab:orange"}
    for ax, (key, label, target) in zip(axes.flat, panels):
        for direction, colour in colours.items():
            ax.plot(its, [p[direction][key] for p in points], "o-", color=colour, label=direction)
            if key == "landmark_error" and reencoded[direction][key] is not None:
                ax.axhline(1.5 * reencoded[direction][key], color=colour, ls="--", lw=1,
                           label=f"{direction} target (1.5x re-encoded)")
        if target is not None:
            ax.axhline(target, color="grey", ls="--", lw=1, label="target")
        ax.set_title(label)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    ax = axes.flat[5]
    for direction, colour in colours.items():
        wanted, other = ("mean_distance_to_b", "mean_distance_to_a") if direction == "AtoB" else \
            ("mean_distance_to_a", "mean_distance_to_b")
        ax.plot(its, [p[direction][wanted] for p in points], "o-", color=colour, label=f"{direction}: to target")
        ax.plot(its, [p[direction][other] for p in points], "x:", color=colour, label=f"{direction}: to source")
    ax.axhline(0.6, color="grey", ls="--", lw=1, label="same-person distance")
    ax.set_title("mean embedding distance")
    ax.set_xlabel("iteration")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    cpu = [p["train_cpu_s"] / 60 for p in points]
    top = axes.flat[0].secondary_xaxis("top", functions=(
        lambda x: np.interp(x, [0] + its, [0] + cpu), lambda m: np.interp(m, [0] + cpu, [0] + its)))
    top.set_xlabel("training CPU minutes")
    axes.flat[0].set_title(panels[0][1], pad=30)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None) -> int:
    args = parse_args(argv)
    result = run(args)
    if result is None:
        return 2
    print(json.dumps(result))
    return 0


def run(args: argparse.Namespace) -> dict | None:
    """The whole benchmark for parsed ``args``: the result dict (the last
    stdout line of :func:`main`), or None after a one-line error on stderr."""
    for video in (args.video_a, args.video_b):
        if not Path(video).is_file():
            print(f"video not found: {video} (the benchmark needs ../shared/data)", file=sys.stderr)
            return None
    if args.every < 1 or args.iterations < args.every:
        print("--every must be >= 1 and at most --iterations", file=sys.stderr)
        return None

    from faceswap_parts.config import SCHEDULES, ModelConfig, TrainConfig, parse_overrides
    from faceswap_parts.conversion import ConverterConfig, VideoConverter
    from faceswap_parts.faces.detection import FaceDetector
    from faceswap_parts.io.images import write_image
    from faceswap_parts.training import Trainer
    from faceswap_parts.training.checkpoint import write_backup

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    faces = {"A": extract_once(args.video_a, out / "faces_a", 0.0, args.a_split),
             "B": extract_once(args.video_b, out / "faces_b", 0.0, args.b_split)}
    extract_s = time.perf_counter() - t0
    end = {k: None if args.score_seconds is None else s + args.score_seconds
           for k, s in (("A", args.a_split), ("B", args.b_split))}
    tests = {  # direction: (source video, its split, source identity, target identity)
        "AtoB": (args.video_a, args.a_split, end["A"], "A", "B"),
        "BtoA": (args.video_b, args.b_split, end["B"], "B", "A"),
    }
    reencoded = {direction: reencoded_scores_once(video, out, faces, start, stop, src, dst, args)
                 for direction, (video, start, stop, src, dst) in tests.items()}

    workdir = out / "workdir"
    if workdir.exists() and not args.resume:
        shutil.rmtree(workdir)
    config = TrainConfig.from_dict({
        **TrainConfig().to_dict(), "a_dir": str(faces["A"]), "b_dir": str(faces["B"]), "workdir": str(workdir),
        "model": ModelConfig(resolution=args.resolution, capacity=args.capacity).to_dict(),
        "batch_size": args.batch_size, "device": args.device, "precision": args.precision,
        "perceptual": args.perceptual == "on", "perceptual_net": args.perceptual_net, "seed": args.seed,
        "schedule": SCHEDULES[args.schedule](),
        "init_from": args.init_from, "init_parts": args.init_parts,
        "preview_interval": args.every, "save_interval": min(args.every, 500),
        "backup_interval": 0, "progress": False,
        **parse_overrides(args.set)})
    trainer = Trainer(config)

    detector = FaceDetector(device=args.device)
    sources = {d: middle_frame(out / f"reencoded_{t[3]}.mp4") for d, t in tests.items()}
    boxes = {d: detector.detect(f)[0][0] for d, f in sources.items()}
    # Scored points and the training time behind them survive a kill: --resume goes on from the
    # checkpoint with the time recorded at its save, and keeps the points already scored.
    points_file, clock_file = out / "points.jsonl", out / "train_clock.json"
    if not args.resume:
        for stale in (points_file, clock_file):
            stale.unlink(missing_ok=True)
    points = [json.loads(line) for line in points_file.read_text().splitlines()] if points_file.is_file() else []
    points = [p for p in points if p["iteration"] <= trainer.iteration]
    clock = json.loads(clock_file.read_text()) if clock_file.is_file() else {}
    cpu_s, wall_s = (clock["cpu_s"], clock["wall_s"]) if clock.get("iteration") == trainer.iteration else \
        ((points[-1]["train_cpu_s"], points[-1]["train_wall_s"]) if points else (0.0, 0.0))
    sheet_rows = []
    for point in points:
        sheet_rows.append((f"it {point['iteration']}", [tile for d in tests for tile in (
            face_crop(sources[d], boxes[d]),
            face_crop(middle_frame(out / "converted" / f"{d}_{point['iteration']:06d}.mp4"), boxes[d]))]))
    checkpoints = list(range(args.every, args.iterations + 1, args.every))
    if checkpoints[-1] != args.iterations:
        checkpoints.append(args.iterations)
    checkpoints = [c for c in checkpoints if c > (points[-1]["iteration"] if points else 0)]

    def on_iteration(progress, stop_at, c0, w0):
        if progress.iteration % config.save_interval == 0:  # just saved: record the time it took to get here
            clock_file.write_text(json.dumps({"iteration": progress.iteration,
                                              "cpu_s": cpu_s + time.process_time() - c0,
                                              "wall_s": wall_s + time.perf_counter() - w0}))
        return False if progress.iteration >= stop_at else None

    for stop_at in checkpoints:
        if trainer.iteration < stop_at:
            c0, w0 = time.process_time(), time.perf_counter()
            trainer.train(args.iterations, callback=lambda p, s=stop_at, c=c0, w=w0: on_iteration(p, s, c, w))
            cpu_s += time.process_time() - c0
            wall_s += time.perf_counter() - w0
        if args.keep_checkpoints:  # the trainer saved on stopping here; keep that save for mask_modes.py
            write_backup(trainer.checkpoint_path, trainer.iteration, keep=10_000)
        point = {"iteration": trainer.iteration, "train_cpu_s": round(cpu_s, 3), "train_wall_s": round(wall_s, 3)}
        tiles = []
        for direction, (video, start, stop, src, dst) in tests.items():
            swapped = out / "converted" / f"{direction}_{trainer.iteration:06d}.mp4"
            swapped.parent.mkdir(exist_ok=True)
            converter = VideoConverter(trainer.model.eval(), ConverterConfig(
                direction=direction, start=start, end=stop, device=args.device, progress_bar=False,
                parts=args.parts or (), blend=args.blend))
            converter.convert(video, swapped)
            trainer.model.train()
            report_dir = out / "reports" / f"{direction}_{trainer.iteration:06d}"
            point[direction] = named_for_people(
                score(video, swapped, faces[src], faces[dst], start, args, report_dir), direction)
            tiles += [face_crop(sources[direction], boxes[direction]),
                      face_crop(middle_frame(swapped), boxes[direction])]
        points.append(point)
        with open(points_file, "a") as f:
            f.write(json.dumps(point) + "\n")
        sheet_rows.append((f"it {trainer.iteration}", tiles))
        print(json.dumps(point), flush=True)
        write_image(out / "contact_sheet.png", contact_sheet(
            sheet_rows, ["A (unseen)", "A -> B", "B (unseen)", "B -> A"]))
        plot_curves(points, reencoded, out / "curves.png",
                    f"swap quality on unseen frames: {args.resolution} px {trainer.model.config.capacity}, "
                    f"perceptual {args.perceptual} ({trainer.perceptual_net or 'not loaded'})")

    result = {
        "config": {"iterations": args.iterations, "every": args.every, "resolution": args.resolution,
                   "capacity": trainer.model.config.capacity, "batch_size": args.batch_size, "device": str(trainer.device),
                   "precision": trainer.precision, "perceptual": args.perceptual,
                   "perceptual_net": trainer.perceptual_net or None, "seed": args.seed, "schedule": args.schedule,
                   "init_from": trainer.init_source or None,
                   "overrides": parse_overrides(args.set), "eval_every": args.eval_every,
                   "parts": args.parts, "blend": args.blend,
                   "faces": {k: len(list((v / "aligned_faces").glob("*.png"))) for k, v in faces.items()},
                   "extract_s": round(extract_s, 1), "out": str(out)},
        "reencoded": reencoded,
        "points": points,
    }
    return result


if __name__ == "__main__":
    sys.exit(main())
