"""Video -> face set: detect, pick, landmark, align, mask and write faces.

:func:`extract_video` is what ``faceswap-parts extract`` runs. Frames are
decoded in a background thread and handed to the detector in batches (it
batches its image pyramid across frames); image encoding and writing run in
a small thread pool (OpenCV releases the GIL), so decoding and writing
overlap with detection.

Faces are found by :class:`~faceswap_parts.faces.finder.FaceFinder` with its
``complete`` policy: the detector runs on every ``detect_every``-th processed
frame and optical flow follows the kept faces in between; a frame where flow
has no face to follow or loses one is detected as well, so following never
costs a face the detector would have found on that frame; only a new face
that appears beside already followed ones waits for the next detection.
"""
from __future__ import annotations

import dataclasses
import os
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from faceswap_parts.errors import FaceswapError, FaceswapWarning
from faceswap_parts.faces.alignment import FACE_COVERAGE, align_face, transform_points
from faceswap_parts.faces.finder import FaceFinder
from faceswap_parts.faces.tracking import FaceTracker
from faceswap_parts.facesets import folder as faceset
from faceswap_parts.facesets.folder import rounded
from faceswap_parts.io.background import BackgroundWriter, prefetch
from faceswap_parts.io.images import write_image
from faceswap_parts.extraction_config import ExtractConfig

#: Faces whose box has less than this fraction inside the frame are "cut off".
MIN_INSIDE_FRACTION = 0.8
#: Raw crops are squares this many times the box's larger side.
RAW_MARGIN = 1.3
#: JPEG quality of ``raw_faces`` (they are for looking at, not training, and
#: JPEG encodes many times faster than PNG: docs/extraction.md).
RAW_JPEG_QUALITY = 95


@dataclass
class ExtractionSummary:
    """What :func:`extract_video` did; ``str()`` gives the text the CLI prints."""

    video: str
    out: str
    landmarks: str
    frames_read: int = 0
    frames_processed: int = 0
    frames_with_face: int = 0
    frames_without_face: int = 0
    faces_written: int = 0
    faces_too_small: int = 0
    faces_cut_off: int = 0
    faces_blurry: int = 0
    faces_extra: int = 0
    seconds: float = 0.0
    complete: bool = True
    #: frames the container announces for the segment, and whether far fewer were read
    frames_expected: int = 0
    cut_short: bool = False

    # The counters change only here, in the three places extraction reports to.
    def count_selection(self, detected: int, skipped: dict[str, int]) -> None:
        """A detection frame's faces: how many the detector found, and those left out by reason
        (``faces_too_small``, ``faces_cut_off``, ``faces_extra``)."""
        self.frames_without_face += detected == 0
        for name, n in skipped.items():
            setattr(self, name, getattr(self, name) + n)

    def count_frame(self, written: int, blurry: int) -> None:
        """A processed frame: its faces written, and those too blurry to keep."""
        self.frames_processed += 1
        self.faces_written += written
        self.frames_with_face += written > 0
        self.faces_blurry += blurry

    def finish(self, frames_read: int, seconds: float, complete: bool = False, frames_expected: int = 0,
               cut_short: bool = False) -> None:
        """The run's end, whether it completed or not."""
        self.frames_read, self.seconds, self.complete = frames_read, seconds, complete
        self.frames_expected, self.cut_short = frames_expected, cut_short

    @property
    def frames_per_second(self) -> float:
        """Video frames read per second of wall time."""
        return self.frames_read / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        skipped = [f"{n} {why}" for why, n in (("too small (--min-face)", self.faces_too_small),
                                                ("cut off by the frame edge", self.faces_cut_off),
                                                ("blurry (--min-sharpness)", self.faces_blurry),
                                                ("extra faces (use --all-faces to keep)", self.faces_extra)) if n]
        lines = [f"frames read: {self.frames_read} (processed {self.frames_processed})",
                 f"faces written: {self.faces_written} to {self.out}",
                 f"frames without a face: {self.frames_without_face}",
                 f"faces skipped: {', '.join(skipped) if skipped else 0}",
                 f"time: {self.seconds:.1f} s ({self.frames_per_second:.1f} frames/s), landmarks: {self.landmarks}"]
        return "\n".join(lines)


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the face's centre (the model's input
    region) on a 128 px grey version of an aligned crop; about 20 is blurry,
    100+ is sharp."""
    size = crop.shape[0]
    margin = int(round(size * (1 - FACE_COVERAGE) / 2))
    centre = crop[margin:size - margin, margin:size - margin]
    gray = cv2.cvtColor(cv2.resize(centre, (128, 128), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def inside_fraction(box: np.ndarray, width: int, height: int) -> float:
    """Fraction of a box's area that lies inside a ``width`` x ``height`` frame."""
    x1, y1, x2, y2 = (float(v) for v in box)
    area = max(x2 - x1, 1e-6) * max(y2 - y1, 1e-6)
    iw = max(0.0, min(x2, width) - max(x1, 0.0))
    ih = max(0.0, min(y2, height) - max(y1, 0.0))
    return iw * ih / area


def raw_crop(frame: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Square crop around a box (clipped at the frame edge)."""
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    half = max(x2 - x1, y2 - y1) * RAW_MARGIN / 2
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = max(int(round(cx - half)), 0), max(int(round(cy - half)), 0)
    right, bottom = min(int(round(cx + half)), w), min(int(round(cy + half)), h)
    return np.ascontiguousarray(frame[top:bottom, left:right])


class _FaceSetWriter:
    """Turns the kept faces of each frame into files (queued to a background
    writer) and ``faces.json`` records, counting what it does in the summary."""

    def __init__(self, out: Path, stem: str, landmarker, config: ExtractConfig, summary: ExtractionSummary):
        self.out, self.stem, self.landmarker, self.config, self.summary = out, stem, landmarker, config, summary
        self.records: list[dict] = []
        self.writer = BackgroundWriter(workers=2, name="faceset-writer")

    def add_frame(self, index: int, t: float, frame: np.ndarray, faces) -> None:
        written = blurry = 0
        for k, face in enumerate(faces):
            record = _process_face(frame, face.raw_box, face.score, face.raw_points5, self.landmarker, self.config.size,
                                   self.config.min_sharpness, self.out, faceset.face_name(self.stem, index, k),
                                   self.writer)
            if record is None:
                blurry += 1
                continue
            record.update(frame=index, time=round(t, 4), detected=face.detected)
            self.records.append(record)
            written += 1
        self.summary.count_frame(written, blurry)


def _face_finder(detector, config: ExtractConfig, summary: ExtractionSummary) -> FaceFinder:
    def select(frame, boxes, scores, points) -> list[int]:
        kept, skipped = _select_faces(frame, boxes, config.min_face, config.all_faces)
        summary.count_selection(len(boxes), skipped)
        return kept

    return FaceFinder(detector.detect, FaceTracker(all_faces=True, smoother=dict(method="none"), max_lost=0),
                      config.detect_every, complete=True, select=select,
                      verify=(detector.face_probability, detector.thresholds[2]))


def extract_video(video: str | os.PathLike, out: str | os.PathLike, config: ExtractConfig | None = None, *,
                  detector=None, **settings) -> ExtractionSummary:
    """Extract the faces of a video into the face-set folder ``out``.

    Args:
        video: input video file.
        out: output folder (see :mod:`faceswap_parts.facesets.folder` for the
            layout and the overwrite rules).
        config: :class:`ExtractConfig`; keyword ``settings`` (its field names,
            e.g. ``max_frames=100``) override it or the defaults.
        detector: a ready :class:`~faceswap_parts.faces.detection.FaceDetector`
            (default: one made with the config's ``device`` and ``min_face``).

    Returns:
        :class:`ExtractionSummary`. A video in which no face is written raises
        :class:`FaceswapError` after writing an empty ``faces.json``.
    """
    from faceswap_parts.faces.landmarks import get_landmarker
    from faceswap_parts.io.video import VideoReader

    config = dataclasses.replace(config, **settings) if config is not None else ExtractConfig(**settings)
    c = config
    # Check the input and load the models before touching the output folder.
    reader = VideoReader(video, start=c.start, end=c.end, max_frames=c.max_frames)
    landmarker = get_landmarker(c.landmarks, device=c.device)
    if detector is None:
        from faceswap_parts.faces.detection import FaceDetector

        detector = FaceDetector(device=c.device, min_face_size=max(12, c.min_face))
    out = faceset.prepare_output(out, overwrite=c.overwrite, video=video)
    summary = ExtractionSummary(video=os.fspath(video), out=os.fspath(out), landmarks=landmarker.name)
    faces = _FaceSetWriter(out, Path(video).stem, landmarker, c, summary)
    meta = {"video": os.fspath(Path(video).resolve()), "fps": reader.fps, "frame_size": list(reader.size),
            "start": reader.start, "end": reader.end, "every": c.every, "detect_every": c.detect_every,
            "size": c.size, "coverage": 1.0, "landmarks": landmarker.name, "name_stem": Path(video).stem,
            "summary": {"complete": False}, "faces": []}
    # Written before the first face, so that a kill or a full disk leaves a faces.json that names what
    # was being written: --overwrite, or the same command again, then recognises those files as its own.
    faceset.write_faces_json(out, meta)
    meta["faces"] = faces.records
    bar = None
    if c.progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=reader.expected_frames() or None, unit="frame", desc="extract", dynamic_ncols=True)
    start = time.perf_counter()
    complete, short = False, None
    try:
        finder = _face_finder(detector, c, summary)
        for batch in prefetch(reader.batches(c.batch_size * c.detect_every, every=c.every)):
            for (index, t, frame), kept in zip(batch, finder.find([frame for _, _, frame in batch])):
                faces.add_frame(reader.start_index + index, t, frame, kept)
            if bar is not None:  # frames up to this batch's last one are done
                bar.update(batch[-1][0] + 1 - bar.n)
        complete, short = True, reader.cut_short(reader.frames_read)
        if short:
            warnings.warn(short, FaceswapWarning, stacklevel=2)
        if bar is not None:
            bar.update(reader.frames_read - bar.n)
    finally:
        if bar is not None:
            bar.close()
        try:
            faces.writer.close()  # the queued writes are part of the run's time
        finally:
            summary.finish(reader.frames_read, time.perf_counter() - start, complete,
                           reader.expected_frames() if complete else 0, bool(short))
            meta["summary"] = {k: v for k, v in asdict(summary).items() if k not in ("video", "out")}
            if not summary.complete:  # list only the faces whose files were written (a full disk stops writes)
                meta["faces"] = [r for r in faces.records if (Path(out) / r["file"]).is_file()]
            try:
                faceset.write_faces_json(out, meta)
            except OSError:
                if summary.complete:
                    raise
                # The error that stopped the extraction (a full disk, say) is the one to report; the
                # faces.json written before the first face stays, marking the folder as interrupted.
    if summary.faces_written == 0:
        raise FaceswapError(f"no face found in {video} ({summary.frames_processed} frames checked, "
                            f"{_skipped_text(summary)}); {out} holds no faces")
    return summary


def _skipped_text(summary: ExtractionSummary) -> str:
    return (f"{summary.faces_too_small} too small, {summary.faces_cut_off} cut off, "
            f"{summary.faces_blurry} blurry")


def _select_faces(frame, boxes, min_face, all_faces) -> tuple[list[int], dict[str, int]]:
    """Indices of the faces to keep (the detector sorts them largest first), and how many of the others
    were left out by each reason (as :class:`ExtractionSummary` names them)."""
    h, w = frame.shape[:2]
    kept, skipped = [], {"faces_too_small": 0, "faces_cut_off": 0, "faces_extra": 0}
    for i, box in enumerate(boxes):
        if min(box[2] - box[0], box[3] - box[1]) < min_face:
            skipped["faces_too_small"] += 1
        elif inside_fraction(box, w, h) < MIN_INSIDE_FRACTION:
            skipped["faces_cut_off"] += 1
        elif kept and not all_faces:
            skipped["faces_extra"] += 1
        else:
            kept.append(i)
    return kept, skipped


def _landmarks_in_crop(landmarker, frame, box, points5, crop, matrix) -> np.ndarray:
    if hasattr(landmarker, "predict_aligned") and crop.shape[0] >= 192:
        return landmarker.predict_aligned(crop)  # dlib: the crop is the upright face it wants
    return transform_points(landmarker.predict(frame, box[None], points5[None])[0], matrix)


def _process_face(frame, box, score, points5, landmarker, size, min_sharpness, out: Path, name: str,
                  writer: BackgroundWriter) -> dict | None:
    """Align, landmark, mask and queue the writes of one face; its
    faces.json record, or None if it is too blurry."""
    crop, matrix = align_face(frame, points5, size=size, coverage=1.0)
    sharp = sharpness(crop)
    if sharp < min_sharpness:
        return None
    lm_crop = _landmarks_in_crop(landmarker, frame, box, points5, crop, matrix)
    files = {"file": f"{faceset.ALIGNED_DIR}/{name}.png", "raw_file": f"{faceset.RAW_DIR}/{name}.jpg"}
    writer.submit(write_image, out / files["file"], crop)
    masks = faceset.queue_part_masks(writer, out, name, lm_crop, (size, size), {"eyes": ("eyes",)})
    writer.submit(write_image, out / files["raw_file"], raw_crop(frame, box), RAW_JPEG_QUALITY)
    return {**files, "masks": masks, "box": rounded(box), "points5": rounded(points5), "score": round(float(score), 4),
            "sharpness": round(sharp, 1), "matrix": rounded(matrix, 5), "landmarks68": rounded(lm_crop)}
