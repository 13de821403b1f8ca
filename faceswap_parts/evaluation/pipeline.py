"""``evaluate_videos``: score a face swap against its original video."""
from __future__ import annotations

import functools
import heapq
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

import cv2
import numpy as np

from faceswap_parts.io.layouts import layout_of, result_panel
from faceswap_parts.errors import FaceswapError
from faceswap_parts.evaluation import metrics
from faceswap_parts.evaluation.embeddings import DEFAULT_EMBEDDER, FaceEmbedder, get_embedder
from faceswap_parts.evaluation.faces import FaceAnalyzer, embed_face_folder, face_folder_images, pick_face
from faceswap_parts.evaluation.pairing import paired_frames
from faceswap_parts.io.video import VideoReader, probe
from faceswap_parts.options import LANDMARK_BACKENDS
from faceswap_parts.settings import check_settings, setting

THUMB = 128  # side of each face in the worst-frames strip


@dataclass
class EvaluationConfig:
    """Settings of an evaluation run.

    Attributes:
        max_frames: evaluate at most this many (sampled) frames.
        every: sample every N-th frame of the swapped video.
        start: the second of the original where the swapped video begins
            (the ``--start`` its segment was converted with).
        max_faces: embed at most this many images of each face folder.
        device: detector / landmarker device ("auto", "cpu", "cuda").
        landmarks: landmark backend for :func:`faceswap_parts.faces.landmarks.get_landmarker`.
        embedder: embedder name (``"dlib-torch"``, the default, or ``"dlib"``:
            the same descriptors) or a :class:`FaceEmbedder` instance.
        worst_frames: how many frames the report's worst-frames strip shows.
        batch_size: frame pairs per detector call.
        model: a training workdir: also score A->A / B->B reconstructions (SSIM, PSNR).
        progress: show a progress bar.
    """

    max_frames: int | None = setting(None, kind=int, low=1)
    every: int = setting(1, low=1)
    start: float = setting(0.0, low=0)
    max_faces: int = setting(100, low=1)
    device: str = "auto"
    landmarks: str = setting("auto", choices=LANDMARK_BACKENDS)
    embedder: str | FaceEmbedder = DEFAULT_EMBEDDER
    worst_frames: int = setting(6, low=0)
    batch_size: int = setting(8, low=1)
    model: str | None = None
    progress: bool = True

    def __post_init__(self):
        if self.model is not None:
            self.model = os.fspath(self.model)
        self.start = float(self.start or 0.0)
        check_settings(self)

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["embedder"] = self.embedder if isinstance(self.embedder, str) else self.embedder.name
        return out


class _Track:
    """Per-frame measurements of one video, appended frame by frame (NaN where no face)."""

    def __init__(self, centroid_a: np.ndarray, centroid_b: np.ndarray):
        self.centroids = (centroid_a, centroid_b)
        self._landmarks, self._colours, self._dist, self._sharpness = [], [], [], []

    def append(self, face, image: np.ndarray) -> None:
        if face is None:
            self._landmarks.append(np.full((68, 2), np.nan))
            self._colours.append(np.full(3, np.nan))
            self._dist.append((np.nan, np.nan))
            self._sharpness.append(np.nan)
            return
        self._landmarks.append(face.landmarks)
        self._colours.append(metrics.face_colour(image, face.landmarks))
        self._sharpness.append(metrics.face_sharpness(image, face.landmarks))
        da, db = metrics.identity_distances(face.embedding[None], *self.centroids)
        self._dist.append((da[0], db[0]))

    @property
    def landmarks(self) -> np.ndarray:  # (T, 68, 2)
        return np.asarray(self._landmarks, np.float64).reshape(-1, 68, 2)

    @property
    def colours(self) -> np.ndarray:  # (T, 3)
        return np.asarray(self._colours, np.float64).reshape(-1, 3)

    @property
    def sharpness(self) -> np.ndarray:  # (T,)
        return np.asarray(self._sharpness, np.float64)

    @property
    def dist_a(self) -> np.ndarray:  # (T,)
        return np.asarray(self._dist, np.float64).reshape(-1, 2)[:, 0]

    @property
    def dist_b(self) -> np.ndarray:
        return np.asarray(self._dist, np.float64).reshape(-1, 2)[:, 1]


def _thumbnail(frame: np.ndarray, box: np.ndarray) -> np.ndarray:
    """A square crop around ``box`` (1.6x its size), resized to THUMB pixels."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = 0.8 * max(box[2] - box[0], box[3] - box[1])
    matrix = np.array([[THUMB / (2 * half), 0, THUMB / 2 - cx * THUMB / (2 * half)],
                       [0, THUMB / (2 * half), THUMB / 2 - cy * THUMB / (2 * half)]])
    return cv2.warpAffine(frame, matrix, (THUMB, THUMB), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT)


def _load_tools(config: EvaluationConfig) -> FaceAnalyzer:
    embedder = get_embedder(config.embedder, device=config.device)  # first: its missing-dlib message is the most useful
    detector, landmarker = _detector_and_landmarker(config.device, config.landmarks)
    return FaceAnalyzer(detector, landmarker, embedder)


@functools.lru_cache(maxsize=2)
def _detector_and_landmarker(device: str, landmarks: str):
    """Loaded once per process and setting: a notebook scoring several swaps pays for the models once."""
    try:
        from faceswap_parts.faces.detection import FaceDetector
        from faceswap_parts.faces.landmarks import get_landmarker
    except ImportError as err:
        raise FaceswapError(f"evaluation needs the face detector and landmarker, which failed to load: {err}") from None
    return FaceDetector(device=device), get_landmarker(landmarks, device=device)


def evaluate_videos(original: str | os.PathLike, swapped: str | os.PathLike, faces_a: str | os.PathLike,
                    faces_b: str | os.PathLike, out: str | os.PathLike | None = None,
                    config: EvaluationConfig | None = None, **overrides) -> dict:
    """Score ``swapped`` (A's video with B's face) against ``original``.

    Args:
        original: the source video (identity A).
        swapped: the converted video, paired to ``original`` frame by frame by timestamp.
        faces_a, faces_b: face folders of A and B (``extract`` output or plain face images).
        out: folder to write ``report.json`` and ``report.html`` into (``None``: write nothing).
        config: :class:`EvaluationConfig`; keyword ``overrides`` replace its fields.

    Returns:
        The report dict (what ``report.json`` holds).
    """
    config = replace(config or EvaluationConfig(), **overrides)
    original, swapped = os.fspath(original), os.fspath(swapped)
    info_o, info_s = probe(original), probe(swapped)
    for label, folder in (("A", faces_a), ("B", faces_b)):
        face_folder_images(folder, label)  # refuse a wrong folder before loading any model
    VideoReader(original, start=config.start)  # --start beyond the end: say so now, not inside the progress bar
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise FaceswapError(f"--out must be a folder, but {out} is a file")
    model = None
    if config.model:  # load first: a wrong workdir should fail before minutes of scoring
        from faceswap_parts.models import load_model

        model = load_model(config.model, device=config.device)
    analyzer = _load_tools(config)
    ids = {label: embed_face_folder(analyzer, folder, label, config.max_faces, config.batch_size)
           for label, folder in (("A", faces_a), ("B", faces_b))}
    centroid_a, centroid_b = metrics.centroid(ids["A"].embeddings), metrics.centroid(ids["B"].embeddings)

    # a side-by-side or triple output of ``convert`` is scored on its result panel
    layout = layout_of(info_s.size, info_o.size) or "result"
    frames, tracks, worst = _score_frames(analyzer, original, swapped, info_o.size, layout, config,
                                          centroid_a, centroid_b)
    if not any(f["face_in_original"] for f in frames):
        raise FaceswapError(f"no face detected in any of the {len(frames)} scored frames of {original}; "
                            "check the video, or score more frames (--max-frames, --every)")
    report = _summarise(frames, tracks, config, ids, centroid_a, centroid_b, analyzer, info_o, info_s)
    report["inputs"]["swapped"]["layout"] = layout
    if model is not None:
        from faceswap_parts.evaluation.reconstruction import evaluate_reconstruction

        report["reconstruction"] = {"workdir": os.fspath(config.model),
                                    **evaluate_reconstruction(model, faces_a, faces_b, config.max_faces)}
    if out is not None:
        from faceswap_parts.evaluation.report import write_report

        Path(out).mkdir(parents=True, exist_ok=True)  # only now: a refused run leaves no empty folder
        write_report(report, [item[2] for item in sorted(worst, reverse=True)], out)
    return report


def _expected_pairs(swapped: str, config: EvaluationConfig) -> int:
    n = (probe(swapped).frame_count + config.every - 1) // config.every
    return min(n, config.max_frames) if config.max_frames else n


def _score_frames(analyzer, original, swapped, size, layout, config, centroid_a, centroid_b):
    """Analyse every frame pair (the ``layout`` result panel of each swapped
    frame); returns per-frame dicts, the two tracks and the worst-frames heap."""
    from tqdm.auto import tqdm

    frames, worst = [], []
    tracks = {"original": _Track(centroid_a, centroid_b), "swapped": _Track(centroid_a, centroid_b)}
    pairs = paired_frames(original, swapped, config.every, config.max_frames, config.start)
    bar = tqdm(total=_expected_pairs(swapped, config), unit="frame", desc="evaluate", disable=not config.progress)
    batch = []

    def flush():
        images, same = [], []
        for pair in batch:
            pair.swapped = result_panel(pair.swapped, layout)
            if pair.swapped.shape[:2] != pair.original.shape[:2]:  # compare in the original's pixel grid
                pair.swapped = cv2.resize(pair.swapped, size, interpolation=cv2.INTER_AREA)
            # frames the swap left untouched (or a video scored against itself) are analysed once
            same.append(np.array_equal(pair.original, pair.swapped))
            images += [pair.original] if same[-1] else [pair.original, pair.swapped]
        detections = iter(analyzer.detect(images))  # one detector call for the whole batch
        wanted, slots = [], []  # faces to analyse; per pair, their indices in it (None: no face)

        def want(image, found):
            if found is None:
                return None
            wanted.append((image, *found))
            return len(wanted) - 1

        for pair, identical in zip(batch, same):
            found_o = pick_face(next(detections))
            slot_o = want(pair.original, found_o)
            slot_s = slot_o if identical else want(
                pair.swapped, pick_face(next(detections), near=None if found_o is None else found_o[0]))
            slots.append((slot_o, slot_s))
        faces = analyzer.analyse_batch(wanted)  # one embedder call for the whole batch
        for pair, (slot_o, slot_s) in zip(batch, slots):
            face_o = None if slot_o is None else faces[slot_o]
            face_s = None if slot_s is None else faces[slot_s]
            seam = None if face_o is None or slot_o == slot_s else \
                metrics.seam_score(pair.original, pair.swapped, face_o.box)
            frames.append({"index": pair.swapped_index, "original_index": pair.original_index,
                           "time": round(pair.time, 4), "face_in_original": face_o is not None,
                           "face_in_swapped": face_s is not None,
                           "seam_score": None if seam is None else round(seam, 4)})
            tracks["original"].append(face_o, pair.original)
            tracks["swapped"].append(face_s, pair.swapped)
            _keep_worst(worst, config.worst_frames, pair, face_o, face_s, centroid_a, centroid_b)
        bar.update(len(batch))
        batch.clear()

    for pair in pairs:
        batch.append(pair)
        if len(batch) == config.batch_size:
            flush()
    if batch:
        flush()
    bar.close()
    return frames, tracks, worst


def _keep_worst(heap, k, pair, face_o, face_s, centroid_a, centroid_b) -> None:
    """Keep the ``k`` frames whose swap looks least like B (a lost face counts as worst)."""
    if k <= 0 or face_o is None:
        return
    if face_s is None:
        score, why = np.inf, "no face in swap"
    else:
        da, db = metrics.identity_distances(face_s.embedding[None], centroid_a, centroid_b)
        score, why = float(db[0] - da[0]), f"d(B)-d(A) = {float(db[0] - da[0]):+.2f}"
    # the frame index breaks ties so the choice is deterministic
    item = (score, -pair.swapped_index)
    if len(heap) == k and item <= heap[0][:2]:
        return
    thumb = np.concatenate([_thumbnail(pair.original, face_o.box), _thumbnail(pair.swapped, face_o.box)], axis=1)
    entry = (score, -pair.swapped_index, {"index": pair.swapped_index, "time": pair.time, "why": why, "image": thumb})
    if len(heap) == k:
        heapq.heapreplace(heap, entry)
    else:
        heapq.heappush(heap, entry)


def _summarise(frames, tracks, config, ids, centroid_a, centroid_b, analyzer, info_o, info_s) -> dict:
    o, s = tracks["original"], tracks["swapped"]
    has_o = np.array([f["face_in_original"] for f in frames], bool)
    has_s = np.array([f["face_in_swapped"] for f in frames], bool)
    lm_error = metrics.landmark_error(o.landmarks, s.landmarks)
    expression = metrics.expression_differences(o.landmarks, s.landmarks)
    scale = metrics.inter_ocular(o.landmarks)  # both videos' motion in the original face's units
    motion_o = metrics.landmark_motion(o.landmarks, scale)
    motion_s = metrics.landmark_motion(s.landmarks, scale)
    flicker_o, flicker_s = metrics.colour_change(o.colours), metrics.colour_change(s.colours)

    def num(x):
        return None if x is None or not np.isfinite(x) else round(float(x), 6)

    for t, f in enumerate(frames):
        f.update({"distance_to_a": num(s.dist_a[t]), "distance_to_b": num(s.dist_b[t]),
                  "original_distance_to_a": num(o.dist_a[t]), "original_distance_to_b": num(o.dist_b[t]),
                  "landmark_error": num(lm_error[t]),
                  **{k: num(v[t]) for k, v in expression.items()},
                  "motion_original": num(motion_o[t - 1]) if t else None,
                  "motion_swapped": num(motion_s[t - 1]) if t else None,
                  "colour_change_original": num(flicker_o[t - 1]) if t else None,
                  "colour_change_swapped": num(flicker_s[t - 1]) if t else None})
    return {
        "identity_transfer_rate": num(metrics.identity_transfer_rate(s.dist_a, s.dist_b)),
        "baseline_identity_transfer_rate": num(metrics.identity_transfer_rate(o.dist_a, o.dist_b)),
        "identity_match_rate": num(metrics.identity_match_rate(s.dist_a, s.dist_b,
                                                               analyzer.embedder.same_person_distance)),
        "mean_distance_to_a": num(metrics.nan_mean(s.dist_a)),
        "mean_distance_to_b": num(metrics.nan_mean(s.dist_b)),
        "baseline_mean_distance_to_a": num(metrics.nan_mean(o.dist_a)),
        "baseline_mean_distance_to_b": num(metrics.nan_mean(o.dist_b)),
        "identity_centroid_distance": num(np.linalg.norm(centroid_a - centroid_b)),
        "same_person_distance": analyzer.embedder.same_person_distance,
        "landmark_error": num(metrics.nan_mean(lm_error)),
        "expression": {k: num(metrics.nan_mean(v)) for k, v in expression.items()},
        "stability_ratio": num(metrics.paired_ratio(motion_s, motion_o)),
        "sharpness_ratio": num(metrics.sharpness_ratio(s.sharpness, o.sharpness)),
        "flicker_ratio": num(metrics.paired_ratio(flicker_s, flicker_o)),
        "mean_motion_original": num(metrics.nan_mean(motion_o)),
        "mean_motion_swapped": num(metrics.nan_mean(motion_s)),
        "coverage": num(metrics.coverage(has_o, has_s)),
        # median: a frame where the codec's noise made the changed region ragged must not dominate
        "seam_score": num(np.median(seams)) if (seams := [f["seam_score"] for f in frames
                                                           if f["seam_score"] is not None]) else None,
        "frame_count": len(frames),
        "frames_without_face_in_original": [f["index"] for f in frames if not f["face_in_original"]],
        "frames_without_face_in_swapped": [f["index"] for f in frames if f["face_in_original"]
                                           and not f["face_in_swapped"]],
        "inputs": {
            "original": {"path": info_o.path, "fps": info_o.fps, "size": list(info_o.size), "duration": info_o.duration},
            "swapped": {"path": info_s.path, "fps": info_s.fps, "size": list(info_s.size), "duration": info_s.duration},
            "faces_a": ids["A"].summary(), "faces_b": ids["B"].summary(),
            "paired_by": "nearest timestamp",
        },
        "models": {"embedder": analyzer.embedder.name, "landmarks": getattr(analyzer.landmarker, "name", "?")},
        "warnings": _warnings(centroid_a, centroid_b, analyzer.embedder.same_person_distance,
                              metrics.identity_transfer_rate(o.dist_a, o.dist_b)),
        "settings": config.to_dict(),
        "frames": frames,
    }


def _warnings(centroid_a, centroid_b, threshold: float, baseline_rate: float | None) -> list[str]:
    """Signs that the face folders, not the swap, are at fault."""
    out = []
    if np.linalg.norm(centroid_a - centroid_b) < threshold:
        out.append("the faces of A and B look like the same person to the embedder: identity scores mean little")
    if baseline_rate is not None and baseline_rate > 0.5:
        out.append("the original video looks more like B than A: "
                   "is A the person in the original, and are --a and --b the right way round?")
    return out
