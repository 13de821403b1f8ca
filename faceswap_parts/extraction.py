"""Video -> face set: detect, pick, landmark, align, mask and write faces.

:func:`extract_video` is what ``faceswap-parts extract`` runs. Frames are
decoded in a background thread and handed to the detector in batches (it
batches its image pyramid across frames); image encoding and writing run in
a small thread pool (OpenCV releases the GIL), so decoding and writing
overlap with detection.

The detector runs on every ``detect_every``-th processed frame; in between,
the kept faces are followed from the previous frame with optical flow
(:class:`~faceswap_parts.conversion.tracking.FaceTracker`). A frame where
flow has no face to follow or loses one is detected as well, so following
never costs a face the detector would have found on that frame; only a new
face that appears beside already followed ones waits for the next detection.
"""
from __future__ import annotations

import os
import time
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from faceswap_parts import faceset
from faceswap_parts.alignment import FACE_COVERAGE, align_face, transform_points
from faceswap_parts.errors import FaceswapError, FaceswapWarning
from faceswap_parts.images import write_image
from faceswap_parts.video import prefetch
from faceswap_parts.masks import parts_mask, to_uint8

#: Faces whose box has less than this fraction inside the frame are "cut off".
MIN_INSIDE_FRACTION = 0.8
#: Raw crops are squares this many times the box's larger side.
RAW_MARGIN = 1.3
#: Default ``detect_every``: the detector sees every other frame, optical flow
#: follows the faces on the rest (about half the detection time per frame).
DETECT_EVERY = 2
#: JPEG quality of ``raw_faces`` (they are for looking at, not training;
#: JPEG encodes about 10x faster than PNG).
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


class _Writer:
    """Thread pool for image writes, with a cap on pending work (memory)."""

    def __init__(self, workers: int = 2, max_pending: int = 64):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="faceset-writer")
        self._pending: list[Future] = []
        self._max = max_pending

    def submit(self, fn, *args) -> None:
        self._pending.append(self._pool.submit(fn, *args))
        if len(self._pending) > self._max:
            self._drain(self._max // 2)

    def _drain(self, keep: int) -> None:
        while len(self._pending) > keep:
            self._pending.pop(0).result()  # re-raises a failed write here

    def close(self) -> None:
        try:
            self._drain(0)
        finally:
            self._pool.shutdown(wait=True)


class _FaceFinder:
    """The faces to keep in consecutive frames: detected on every
    ``detect_every``-th frame (one detector call per batch) and followed by
    optical flow in between. Followed faces must pass O-Net
    (:meth:`~faceswap_parts.detection.FaceDetector.face_probability`, which
    also gives their score); a frame where flow or O-Net fails is detected
    anyway, in a second call. Each face is ``(box, score, points5, detected)``."""

    def __init__(self, detector, detect_every: int, min_face: float, all_faces: bool, summary: ExtractionSummary):
        from faceswap_parts.conversion.tracking import FaceTracker

        self.detector, self.detect_every = detector, detect_every
        self.min_face, self.all_faces, self.summary = min_face, all_faces, summary
        self.tracker = FaceTracker(all_faces=True, smoother=dict(method="none"), max_lost=0)
        self.seen = 0  # frames handled so far: keeps the detection rhythm across batches

    def _keep(self, frame, boxes, scores, points, detected: bool) -> list[tuple]:
        kept = _select_faces(frame, boxes, self.min_face, self.all_faces, self.summary)
        if not kept and len(boxes) == 0:
            self.summary.frames_without_face += 1
        return [(boxes[i], scores[i], points[i], detected) for i in kept]

    def _detect(self, frames: list[np.ndarray]) -> list[tuple]:
        return list(zip(*self.detector.detect(frames))) if frames else []

    def find(self, frames: list[np.ndarray]) -> list[list[tuple]]:
        """The kept faces of each frame (largest first); updates the summary's counts."""
        first, self.seen = self.seen, self.seen + len(frames)
        scheduled = [i for i in range(len(frames)) if (first + i) % self.detect_every == 0]
        detections = dict(zip(scheduled, self._detect([frames[i] for i in scheduled])))
        faces: list[list[tuple] | None] = [None] * len(frames)
        followed: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for i, frame in enumerate(frames):
            if i in detections:
                faces[i] = self._keep(frame, *detections[i], True)
                boxes = np.array([f[0] for f in faces[i]], np.float32).reshape(-1, 4)
                self.tracker.update(frame, (boxes, np.array([f[2] for f in faces[i]]).reshape(-1, 5, 2)))
                continue
            positions = self.tracker.follow(frame)
            if positions is None:  # nothing to follow, or flow lost a face
                self.tracker.reset()  # so the frames up to the next scheduled detection are detected too
                continue
            moved = self.tracker.update(frame, None, followed=positions)
            moved.sort(key=lambda f: -(f.raw_box[2] - f.raw_box[0]) * (f.raw_box[3] - f.raw_box[1]))
            followed[i] = (np.array([f.raw_box for f in moved], np.float32),
                           np.array([f.raw_points5 for f in moved], np.float32))
        order = sorted(followed)
        scores = dict(zip(order, self.detector.face_probability([frames[i] for i in order],
                                                                [followed[i][0] for i in order]))) if order else {}
        lost = False  # a rejected face also spoils the frames that followed it
        for i, frame in enumerate(frames):
            if i in detections:
                lost = False
            elif i in followed:
                lost = lost or bool((scores[i] < self.detector.thresholds[2]).any())
                if not lost:
                    faces[i] = self._keep(frame, followed[i][0], scores[i], followed[i][1], False)
        if lost:
            self.tracker.reset()
        missing = [i for i, found in enumerate(faces) if found is None]
        for i, found in zip(missing, self._detect([frames[i] for i in missing])):
            faces[i] = self._keep(frames[i], *found, True)
        return faces


def _frame_batches(reader, every: int, batch_size: int, counter: dict):
    """Batches of ``(frame number in the whole video, time, frame)`` for
    every ``every``-th frame of the reader's segment, decoded in a
    background thread one batch ahead."""
    def batches():
        batch = []
        for index, t, frame in reader:
            counter["read"] += 1
            if index % every == 0:
                batch.append((reader.start_index + index, t, frame))
            if len(batch) == batch_size:
                yield batch
                batch = []
        if batch:
            yield batch

    return prefetch(batches())


def extract_video(video: str | os.PathLike, out: str | os.PathLike, *, every: int = 1, landmarks: str = "auto",
                  min_face: int = 40, detect_every: int = DETECT_EVERY, start: float | None = None,
                  end: float | None = None, max_frames: int | None = None, all_faces: bool = False,
                  min_sharpness: float = 0.0, size: int = 256, overwrite: bool = False, device="auto",
                  batch_size: int = 16, progress: bool = True, detector=None) -> ExtractionSummary:
    """Extract the faces of a video into the face-set folder ``out``.

    Args:
        video: input video file.
        out: output folder (see :mod:`faceswap_parts.faceset` for the layout
            and the overwrite rules).
        every: process every N-th frame.
        landmarks: 68-point backend for the eye masks (``auto``, ``fan``,
            ``dlib``, ``mtcnn``).
        min_face: skip faces whose box's shorter side is below this many pixels.
        detect_every: run the detector on every K-th processed frame and
            follow the faces with optical flow in between (1 = detect on
            every frame; see the module docstring).
        start, end: extract only the segment from ``start`` to ``end`` seconds
            (``None``: from the beginning, to the end). Frame numbers and
            times in ``faces.json`` and the file names stay those of the
            whole video, so segments extracted into different folders never
            share a name.
        max_frames: stop after reading this many video frames (of the segment).
        all_faces: keep every face of a frame, not only the largest.
        min_sharpness: skip faces whose :func:`sharpness` is below this (0 = keep all).
        size: side of the aligned crops and masks in pixels.
        overwrite: replace a previous extraction in ``out`` (only its own files).
        device: torch device for the detector (and the ``fan`` backend).
        batch_size: frames per detector call (a batch of frames read holds
            ``batch_size * detect_every`` frames).
        progress: show a ``tqdm`` progress bar.
        detector: a ready :class:`~faceswap_parts.detection.FaceDetector`
            (default: one made with ``device`` and ``min_face``).

    Returns:
        :class:`ExtractionSummary`. A video in which no face is written raises
        :class:`FaceswapError` after writing an empty ``faces.json``.
    """
    from faceswap_parts.landmarks import get_landmarker
    from faceswap_parts.video import VideoReader

    if every < 1:
        raise FaceswapError(f"--every must be >= 1, got {every}")
    if detect_every < 1:
        raise FaceswapError(f"--detect-every must be >= 1, got {detect_every}")
    if size < 32:
        raise FaceswapError(f"--size must be at least 32 pixels, got {size}")
    if max_frames is not None and max_frames < 1:
        raise FaceswapError(f"--max-frames must be >= 1, got {max_frames}")
    # Check the input and load the models before touching the output folder.
    reader = VideoReader(video, start=start, end=end, max_frames=max_frames)
    landmarker = get_landmarker(landmarks, device=device)
    if detector is None:
        from faceswap_parts.detection import FaceDetector

        detector = FaceDetector(device=device, min_face_size=max(12, min_face))
    out = faceset.prepare_output(out, overwrite=overwrite)
    stem = Path(video).stem
    summary = ExtractionSummary(video=os.fspath(video), out=os.fspath(out), landmarks=landmarker.name)
    records: list[dict] = []
    meta = {"video": os.fspath(Path(video).resolve()), "fps": reader.fps, "frame_size": list(reader.size),
            "start": reader.start, "end": reader.end, "every": every, "detect_every": detect_every,
            "size": size, "coverage": 1.0, "landmarks": landmarker.name, "faces": records}
    counter = {"read": 0}
    writer = _Writer()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=reader.expected_frames() or None, unit="frame", desc="extract", dynamic_ncols=True)
    start = time.perf_counter()
    summary.complete = False
    try:
        finder = _FaceFinder(detector, detect_every, min_face, all_faces, summary)
        for batch in _frame_batches(reader, every, batch_size * detect_every, counter):
            for (index, t, frame), kept in zip(batch, finder.find([frame for _, _, frame in batch])):
                summary.frames_processed += 1
                written = 0
                for k, (box, score, points, detected) in enumerate(kept):
                    record = _process_face(frame, box, score, points, landmarker, size, min_sharpness,
                                           out, faceset.face_name(stem, index, k), writer)
                    if record is None:
                        summary.faces_blurry += 1
                        continue
                    record.update(frame=index, time=round(t, 4), detected=detected)
                    records.append(record)
                    written += 1
                summary.faces_written += written
                if written:
                    summary.frames_with_face += 1
            if bar is not None:  # frames up to this batch's last one are done
                bar.update(batch[-1][0] - reader.start_index + 1 - bar.n)
        summary.complete = True
        summary.frames_expected = reader.expected_frames()
        short = reader.cut_short(counter["read"])
        if short:
            summary.cut_short = True
            warnings.warn(short, FaceswapWarning, stacklevel=2)
        if bar is not None:
            bar.update(counter["read"] - bar.n)
    finally:
        summary.frames_read = counter["read"]
        summary.seconds = time.perf_counter() - start
        if bar is not None:
            bar.close()
        try:
            writer.close()
        finally:
            meta["summary"] = {k: v for k, v in asdict(summary).items() if k not in ("video", "out")}
            if not summary.complete:  # list only the faces whose files were written (a full disk stops writes)
                meta["faces"] = [r for r in records if (Path(out) / r["file"]).is_file()]
            faceset.write_faces_json(out, meta)
    summary.seconds = time.perf_counter() - start
    if summary.faces_written == 0:
        raise FaceswapError(f"no face found in {video} ({summary.frames_processed} frames checked, "
                            f"{_skipped_text(summary)}); {out} holds no faces")
    return summary


def _skipped_text(summary: ExtractionSummary) -> str:
    return (f"{summary.faces_too_small} too small, {summary.faces_cut_off} cut off, "
            f"{summary.faces_blurry} blurry")


def _select_faces(frame, boxes, min_face, all_faces, summary) -> list[int]:
    """Indices of the faces to keep (the detector sorts them largest first)."""
    h, w = frame.shape[:2]
    kept = []
    for i, box in enumerate(boxes):
        if min(box[2] - box[0], box[3] - box[1]) < min_face:
            summary.faces_too_small += 1
        elif inside_fraction(box, w, h) < MIN_INSIDE_FRACTION:
            summary.faces_cut_off += 1
        elif kept and not all_faces:
            summary.faces_extra += 1
        else:
            kept.append(i)
    return kept


def _landmarks_in_crop(landmarker, frame, box, points5, crop, matrix) -> np.ndarray:
    if hasattr(landmarker, "predict_aligned") and crop.shape[0] >= 192:
        return landmarker.predict_aligned(crop)  # dlib: the crop is the upright face it wants
    return transform_points(landmarker.predict(frame, box[None], points5[None])[0], matrix)


def _process_face(frame, box, score, points5, landmarker, size, min_sharpness, out: Path, name: str,
                  writer: _Writer) -> dict | None:
    """Align, landmark, mask and queue the writes of one face; its
    faces.json record, or None if it is too blurry."""
    crop, matrix = align_face(frame, points5, size=size, coverage=1.0)
    sharp = sharpness(crop)
    if sharp < min_sharpness:
        return None
    lm_crop = _landmarks_in_crop(landmarker, frame, box, points5, crop, matrix)
    mask = to_uint8(parts_mask(lm_crop, (size, size), ("eyes",), binary=True))
    files = {"file": f"{faceset.ALIGNED_DIR}/{name}.png", "raw_file": f"{faceset.RAW_DIR}/{name}.jpg"}
    masks = {"eyes": f"{faceset.mask_dir('eyes')}/{name}.png"}
    writer.submit(write_image, out / files["file"], crop)
    writer.submit(write_image, out / masks["eyes"], mask)
    writer.submit(write_image, out / files["raw_file"], raw_crop(frame, box), RAW_JPEG_QUALITY)
    return {**files, "masks": masks, "box": _r(box), "points5": _r(points5), "score": round(float(score), 4),
            "sharpness": round(sharp, 1), "matrix": _r(matrix, 5), "landmarks68": _r(lm_crop)}


def _r(array, digits: int = 2) -> list:
    return np.round(np.asarray(array, dtype=np.float64), digits).tolist()


#: Where MTCNN's box lies in an aligned crop at coverage 1.0 (x1, y1, x2, y2
#: as fractions; median over real faces), for images assumed to be aligned.
ALIGNED_BOX = (0.27, 0.24, 0.73, 0.85)


@dataclass
class MasksSummary:
    """What :func:`make_masks` did."""

    folder: str
    landmarks: str
    parts: tuple[str, ...]
    images: int = 0
    masks_written: int = 0
    no_face: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def __str__(self) -> str:
        folders = ", ".join(faceset.mask_dir(p) for p in self.parts)
        lines = [f"images: {self.images}, masks written: {self.masks_written} into {folders} "
                 f"({self.landmarks} landmarks, {self.seconds:.1f} s)"]
        if self.no_face:
            lines.append(f"no face found in {len(self.no_face)} image(s), e.g. {self.no_face[0]} "
                         "(use --assume-aligned if they are aligned face crops)")
        if self.unreadable:
            lines.append(f"skipped {len(self.unreadable)} unreadable file(s), e.g. {self.unreadable[0]}")
        return "\n".join(lines)


def _mask_names(parts) -> dict[str, tuple[str, ...]]:
    """``"eyes,nose+mouth"`` -> {"eyes": ("eyes",), "nose_mouth": ("nose", "mouth")}."""
    from faceswap_parts.masks import parse_parts

    items = parts.split(",") if isinstance(parts, str) else list(parts)
    out = {}
    for item in items:
        if item.strip():
            names = parse_parts(item)
            out["_".join(names)] = names
    if not out:
        raise FaceswapError("no face part given to --parts")
    return out


def make_masks(folder: str | os.PathLike, parts="eyes", landmarks: str = "auto", device="auto",
               assume_aligned: bool = False, overwrite: bool = False, progress: bool = True) -> MasksSummary:
    """(Re)compute part masks for a face-set folder or a plain folder of face images.

    * A folder written by ``extract`` (it has ``faces.json``): landmarks are
      predicted again on each ``aligned_faces`` crop with ``landmarks`` (its 5
      points are known there), masks go to ``binary_masks_<part>/`` with the
      crops' names, and ``faces.json`` gets the new landmarks and mask files.
    * Any other folder of images: faces are detected in each image (the
      largest is used) and masks of the image's size go to
      ``FOLDER/binary_masks_<part>/<image stem>.png``; images without a
      detected face are listed. With ``assume_aligned`` nothing is detected:
      every image is taken as an aligned crop at coverage 1.0 (what
      ``extract`` writes).

    ``parts`` is comma-separated; ``+`` joins parts into one mask
    (``"eyes,nose+mouth"`` writes ``binary_masks_eyes`` and
    ``binary_masks_nose_mouth``). Existing mask files are replaced only when
    ``faces.json`` lists them or ``overwrite`` is given.
    """
    from faceswap_parts.alignment import template_points
    from faceswap_parts.images import list_images, read_image
    from faceswap_parts.landmarks import get_landmarker

    folder = Path(folder)
    if not folder.is_dir():
        raise FaceswapError(f"folder not found: {folder}")
    groups = _mask_names(parts)
    landmarker = get_landmarker(landmarks, device=device)
    data = faceset.read_faces_json(folder) if (folder / faceset.FACES_JSON).is_file() else None
    if data is not None:
        items = [(folder / face["file"], face) for face in data["faces"]]
        own = faceset.own_files(folder, data)
    else:
        items = [(path, None) for path in list_images(folder)]
        own = set()
    if not items:
        raise FaceswapError(f"no images in {folder} (expected a face set from 'extract' or a folder of face images)")
    # Masks are named (and found by training) by the image's name without its extension.
    by_stem = {}
    for path, _ in items:
        if path.stem in by_stem:
            raise FaceswapError(f"{by_stem[path.stem].name} and {path.name} would share the mask {path.stem}.png; "
                                f"rename one of them")
        by_stem[path.stem] = path
    # Refuse before writing anything if a mask file of unknown origin would be replaced.
    if not overwrite:
        for path, _ in items:
            for name in groups:
                target = folder / faceset.mask_dir(name) / f"{path.stem}.png"
                if target.exists() and target not in own:
                    raise FaceswapError(f"{target} already exists and was not written by this tool; "
                                        "pass --overwrite to replace it")
    for name in groups:
        (folder / faceset.mask_dir(name)).mkdir(exist_ok=True)
    detector = None
    if data is None and not assume_aligned:
        from faceswap_parts.detection import FaceDetector

        detector = FaceDetector(device=device)
    summary = MasksSummary(folder=os.fspath(folder), landmarks=landmarker.name, parts=tuple(groups))
    start = time.perf_counter()
    writer = _Writer()
    iterator = items
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(items, unit="image", desc="masks", dynamic_ncols=True)
    try:
        for path, face in iterator:
            summary.images += 1
            try:
                image = read_image(path)
            except FaceswapError:
                summary.unreadable.append(path.name)
                continue
            h, w = image.shape[:2]
            if detector is not None:
                boxes, _, points = detector.detect(image)
                if len(boxes) == 0:
                    summary.no_face.append(path.name)
                    continue
                box, p5 = boxes[0], points[0]
            elif face is not None and "matrix" in face:
                matrix = np.asarray(face["matrix"], dtype=np.float64)
                p5 = transform_points(face["points5"], matrix)
                corners = transform_points(np.asarray(face["box"], dtype=np.float64).reshape(2, 2), matrix)
                box = np.r_[corners.min(0), corners.max(0)]
            else:  # an aligned crop: the template says where the face is
                p5 = template_points(w)
                box = np.asarray(ALIGNED_BOX) * w
            lm = landmarker.predict(image, np.asarray(box)[None], np.asarray(p5)[None])[0]
            files = {}
            for name, group in groups.items():
                rel = f"{faceset.mask_dir(name)}/{path.stem}.png"
                writer.submit(write_image, folder / rel, to_uint8(parts_mask(lm, (h, w), group, binary=True)))
                files[name] = rel
                summary.masks_written += 1
            if face is not None:
                face["landmarks68"] = _r(lm)
                face.setdefault("masks", {}).update(files)
    finally:
        writer.close()
        if data is not None:
            data["mask_landmarks"] = landmarker.name
            faceset.write_faces_json(folder, {k: v for k, v in data.items() if k != "tool"})
    summary.seconds = time.perf_counter() - start
    if summary.masks_written == 0:
        raise FaceswapError(f"no mask written: {summary}".replace("\n", "; "))
    return summary
