"""Two short synthetic face videos made from portraits that ship with the
dependencies, so the pipeline can be exercised with no network and no data.

Each clip animates one still photo: per frame, the whole photo is warped with
``cv2.warpAffine`` by a smooth sinusoidal rotation, scale and shift about the
face centre, and its brightness is modulated. Motions stay small so the face
remains frontal and detectable in every frame.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from faceswap_parts.errors import FaceswapError
from faceswap_parts.io.images import read_image, write_image
from faceswap_parts.io.video import write_video

#: Face centre ``(x, y)`` and crop side in the source photo, chosen by eye so
#: the head fills about half of the clip's frame.
_PORTRAITS = {
    "grace_hopper": ((262.0, 245.0), 420.0),
    "astronaut": ((226.0, 125.0), 240.0),
}


def portrait(name: str) -> np.ndarray:
    """A package-shipped portrait as RGB ``uint8``: ``"grace_hopper"`` (matplotlib)
    or ``"astronaut"`` (scikit-image)."""
    if name == "grace_hopper":
        from matplotlib import cbook

        return read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    if name == "astronaut":
        from skimage import data

        return np.ascontiguousarray(data.astronaut())
    raise ValueError(f"unknown portrait {name!r}; choose from {', '.join(_PORTRAITS)}")


def animate_portrait(image: np.ndarray, center: tuple[float, float], side: float, n_frames: int,
                     size: int = 256, phase: float = 0.0) -> list[np.ndarray]:
    """Frames of a gently moving head made from one photo.

    Args:
        image: RGB photo.
        center: face centre ``(x, y)`` in the photo.
        side: side of the square region around ``center`` that fills the frame.
        n_frames: number of frames.
        size: output frame side in pixels.
        phase: shifts the motion cycle so two clips do not move in lockstep.
    """
    cx, cy = center
    base_scale = size / side
    frames = []
    for i in range(n_frames):
        t = 2.0 * math.pi * i / max(n_frames, 1) + phase
        angle = 6.0 * math.sin(t)                      # degrees of head roll
        scale = base_scale * (1.0 + 0.06 * math.sin(2 * t + 0.5))
        dx = 0.04 * size * math.sin(t + 1.0)
        dy = 0.03 * size * math.cos(1.5 * t)
        # Rotate/scale about the face centre, then put that centre mid-frame.
        matrix = cv2.getRotationMatrix2D((cx, cy), angle, scale)
        matrix[0, 2] += size / 2 - cx + dx
        matrix[1, 2] += size / 2 - cy + dy
        frame = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT_101)
        gain = 1.0 + 0.12 * math.sin(1.3 * t + 2.0)  # slow lighting change
        frames.append(np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8))
    return frames


def fast_mode() -> bool:
    """True when ``FACESWAP_FAST`` is set (``1``, or a number of training
    iterations): tiny settings for CI and smoke tests."""
    value = os.environ.get("FACESWAP_FAST", "").strip().lower()
    return value in ("1", "true", "yes", "on") or (value.isdigit() and int(value) > 0)


def fast_iterations(default: int = 2) -> int:
    """Iterations a fast-mode training cell runs: ``FACESWAP_FAST=N`` with
    N > 1 asks for N (long enough to click Stop in a browser test), anything
    else for ``default``."""
    value = os.environ.get("FACESWAP_FAST", "").strip()
    return int(value) if value.isdigit() and int(value) > 1 else default


def fast_model() -> dict:
    """The architecture fast mode trains: the smallest and quickest there is."""
    return {"resolution": 64, "capacity": "lite", "self_attention": False}


def make_demo_clips(out_dir: str | os.PathLike, n_frames: int = 75, fps: float = 25.0,
                    size: int = 256) -> tuple[Path, Path]:
    """Write ``person_a.mp4`` (Grace Hopper) and ``person_b.mp4`` (the
    astronaut, Eileen Collins) into ``out_dir``; returns their paths.

    Existing clips made with the same settings are reused.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for label, name, phase in (("a", "grace_hopper", 0.0), ("b", "astronaut", 1.7)):
        path = out_dir / f"person_{label}.mp4"
        stamp = out_dir / f".person_{label}.settings"
        settings = f"{n_frames} {fps} {size}"
        if not (path.is_file() and stamp.is_file() and stamp.read_text() == settings):
            center, side = _PORTRAITS[name]
            frames = animate_portrait(portrait(name), center, side, n_frames, size, phase)
            write_video(path, frames, fps)
            stamp.write_text(settings)
        paths.append(path)
    return paths[0], paths[1]


# -- the whole pipeline -------------------------------------------------------

@dataclass
class DemoSettings:
    """Sizes of a demo run: clip length, what is trained on, and for how long."""

    frames: int = 100         # per clip (4 s at 25 fps)
    fps: float = 25.0
    size: int = 256           # clip frame side
    #: faces are extracted from the clips' first seconds; the rest is what is converted and scored
    train_seconds: float = 3.0
    capacity: str = "quick"
    schedule: str = "short"
    batch_size: int = 8
    #: the pretrained model: both people's faces in one pool, both decoders seeing every face
    pretrain_iterations: int = 300
    #: what the pair takes from it (``train --init-parts``)
    init_parts: str = "encoder"
    iterations: int = 900
    preview_interval: int = 100
    #: Each training stops (and saves) after this many seconds even before its
    #: iterations, so the demo ends in minutes on a slow CPU; running the demo
    #: again resumes both.
    pretrain_budget_s: float | None = 90.0
    train_budget_s: float | None = 300.0
    self_attention: bool = True
    #: the face hull: the learned mask of a few hundred iterations is still about one half everywhere
    mask: str = "face"
    #: further :class:`TrainConfig` fields for both trainings. Two animated photos are learned faster with 5x
    #: v2.2's learning rates, and without colour matching to the other person or motion blur (docs/quality.md)
    train_settings: dict = field(default_factory=lambda: {"lr_g": 5e-4, "lr_d": 1e-3, "color_match_prob": 0.0,
                                                          "motion_blur_prob": 0.0})

    @classmethod
    def for_mode(cls, fast: bool) -> "DemoSettings":
        """The full demo, or the tiny one used by tests (``FACESWAP_FAST=1`` / ``--fast``)."""
        if fast:
            return cls(frames=24, fps=8.0, size=192, train_seconds=2.0, batch_size=2, pretrain_iterations=2,
                       iterations=2, preview_interval=2, pretrain_budget_s=None, train_budget_s=None,
                       self_attention=False)
        return cls()


@dataclass
class DemoResult:
    """What a demo run produced and how long each stage took (seconds)."""

    workdir: Path
    video: Path
    preview: Path
    training_preview: Path | None
    seconds: dict = field(default_factory=dict)
    #: ``evaluate``'s scores of the swapped frames the model never trained on (``report.json`` in ``workdir/report``)
    scores: dict = field(default_factory=dict)
    iterations: dict = field(default_factory=dict)  # "pretrain" and "pair": where each training stopped


HONEST_NOTE = ("What this shows: {pretrain} pretraining and {iterations} pair iterations of a {capacity} 64 px "
               "model on two animated photos, scored on frames it never trained on. A real pair of videos, with "
               "many poses and expressions, needs far longer training (docs/quality.md).")


def _train(config, iterations: int, budget_s: float | None):
    """Train ``config`` towards ``iterations`` for at most ``budget_s`` seconds; ``(trainer, result)``."""
    from faceswap_parts.training import Trainer

    trainer = Trainer(config)
    deadline = None if budget_s is None else time.perf_counter() + budget_s
    result = trainer.train(iterations,
                           callback=lambda p: None if deadline is None or time.perf_counter() < deadline else False)
    return trainer, result


def run_demo(workdir: str | os.PathLike = "demo_output", fast: bool = False, device: str = "auto",
             log=print, settings: DemoSettings | None = None) -> DemoResult:
    """Run extract -> masks -> pretrain -> train -> convert -> evaluate on two synthetic clips.

    Needs no network and no user data. Writes everything under ``workdir``
    (clips, face sets, the pretrained model, the pair's model, ``swap_AtoB.mp4``
    and ``preview.png``). Faces come from the clips' first
    ``settings.train_seconds``; the score is of the rest, which no model saw.
    Both trainings resume from ``workdir`` when the demo runs again.
    """
    from faceswap_parts.config import SCHEDULES, ModelConfig
    from faceswap_parts.conversion import ConverterConfig, VideoConverter
    from faceswap_parts.evaluation import evaluate_videos
    from faceswap_parts.extraction import extract_video
    from faceswap_parts.masking import make_masks
    from faceswap_parts.training import TrainConfig

    settings = settings or DemoSettings.for_mode(fast)
    workdir = Path(workdir)
    if workdir.exists() and not workdir.is_dir():
        raise FaceswapError(f"--workdir {workdir} is a file; give a folder (it is created if missing)")
    workdir.mkdir(parents=True, exist_ok=True)
    seconds, reached = {}, {}

    t0 = time.perf_counter()
    clip_a, clip_b = make_demo_clips(workdir / "clips", settings.frames, settings.fps, settings.size)
    seconds["clips"] = time.perf_counter() - t0
    log(f"[1/5] synthetic clips: {clip_a} (Grace Hopper), {clip_b} (astronaut Eileen Collins)")

    t0 = time.perf_counter()
    faces = {}
    for label, clip in (("A", clip_a), ("B", clip_b)):
        faces[label] = workdir / "faces" / label
        extract_video(clip, faces[label], end=settings.train_seconds, device=device, overwrite=True, progress=False)
        # 68-point landmark masks replace extraction's eye masks (training weights the eyes with them).
        make_masks(faces[label], parts="eyes,mouth", device=device, progress=False)
    seconds["extract"] = time.perf_counter() - t0
    log(f"[2/5] faces of the first {settings.train_seconds:g} s and their masks: {faces['A']}, {faces['B']}")

    common = dict(model=ModelConfig(resolution=64, capacity=settings.capacity, self_attention=settings.self_attention),
                  batch_size=settings.batch_size, schedule=SCHEDULES[settings.schedule](),
                  perceptual=False,  # its weights need a download; the demo must run offline
                  preview_interval=settings.preview_interval, save_interval=settings.preview_interval,
                  backup_interval=0, device=device, progress=not fast, **settings.train_settings)
    t0 = time.perf_counter()
    pretrained = workdir / "pretrained"
    _, result = _train(TrainConfig(pretrain_dirs=[str(faces["A"]), str(faces["B"])], workdir=str(pretrained),
                                   **common), settings.pretrain_iterations, settings.pretrain_budget_s)
    reached["pretrain"] = result.iteration
    seconds["pretrain"] = time.perf_counter() - t0
    log(f"[3/5] pretrained on both people's faces (one pool, both decoders) to iteration {result.iteration}: "
        f"{pretrained / 'checkpoint.pt'}")

    t0 = time.perf_counter()
    trainer, result = _train(TrainConfig(a_dir=str(faces["A"]), b_dir=str(faces["B"]), workdir=str(workdir / "model"),
                                         init_from=str(pretrained), init_parts=settings.init_parts, **common),
                             settings.iterations, settings.train_budget_s)
    reached["pair"] = result.iteration
    seconds["train"] = time.perf_counter() - t0
    budget_note = (f" (stopped by the {settings.train_budget_s / 60:.0f}-minute training budget; run the demo "
                   f"again to continue towards {settings.iterations})" if result.stopped_early else "")
    log(f"[4/5] trained the pair from the pretrained {settings.init_parts} to iteration {result.iteration}: "
        f"{workdir / 'model' / 'checkpoint.pt'}{budget_note}")

    t0 = time.perf_counter()
    model = trainer.model.eval()
    video = workdir / "swap_AtoB.mp4"
    options = dict(direction="AtoB", device=device, progress_bar=not fast, mask=settings.mask)
    VideoConverter(model, ConverterConfig(**options)).convert(clip_a, video)
    unseen = workdir / "unseen_AtoB.mp4"  # what the score is of: the seconds no model trained on
    VideoConverter(model, ConverterConfig(start=settings.train_seconds, **options)).convert(clip_a, unseen)
    preview = workdir / "preview.png"
    write_image(preview, side_by_side_frame(clip_a, video, at=(1 + settings.train_seconds * settings.fps
                                                               / settings.frames) / 2))
    seconds["convert"] = time.perf_counter() - t0
    log(f"[5/5] swapped video: {video}\n      preview (input | output, an unseen frame): {preview}")

    t0 = time.perf_counter()
    report = evaluate_videos(clip_a, unseen, faces["A"], faces["B"], out=workdir / "report", device=device,
                             start=settings.train_seconds, progress=False)
    scores = {k: report[k] for k in ("identity_transfer_rate", "identity_match_rate", "mean_distance_to_a",
                                     "mean_distance_to_b", "sharpness_ratio", "landmark_error", "stability_ratio",
                                     "coverage")}
    seconds["evaluate"] = time.perf_counter() - t0
    log(f"      evaluate, on the {settings.frames / settings.fps - settings.train_seconds:g} s no model trained on: "
        f"identity transfer {_percent(scores['identity_transfer_rate'])} of frames look more like B than A, "
        f"{_percent(scores['identity_match_rate'])} are taken for B (distance to B "
        f"{_distance(scores['mean_distance_to_b'])}, to A {_distance(scores['mean_distance_to_a'])}; same person "
        f"below {report['same_person_distance']:g}); coverage {_percent(scores['coverage'])}; report: "
        f"{workdir / 'report' / 'report.html'}")
    if (scores["identity_match_rate"] or 0) < 0.5:
        log("      not a swap yet: the face is nobody to the embedder (the preview shows why); run the demo again "
            "to train on, or see docs/quality.md for what a swap takes")
    elif (scores["sharpness_ratio"] or 0) < 0.5:
        log(f"      not a swap a person would see yet: the embedder takes the face for B, but it is a blur with "
            f"{_percent(scores['sharpness_ratio'])} of the source's detail (see the preview); run the demo again "
            "to train on, or see docs/quality.md")
    training_preview = workdir / "model" / "preview_latest.png"
    log(HONEST_NOTE.format(pretrain=reached["pretrain"], iterations=reached["pair"], capacity=settings.capacity))
    return DemoResult(workdir, video, preview, training_preview if training_preview.is_file() else None, seconds,
                      scores, reached)


def _percent(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def _distance(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def side_by_side_frame(original: str | os.PathLike, converted: str | os.PathLike, at: float = 0.5) -> np.ndarray:
    """The frame at fraction ``at`` of both videos, side by side (input | output)."""
    from faceswap_parts.io.video import read_frames

    left, _ = read_frames(original)
    right, _ = read_frames(converted)
    n = min(len(left), len(right))
    i = int(at * (n - 1))
    return np.concatenate([left[i], right[i]], axis=1)
