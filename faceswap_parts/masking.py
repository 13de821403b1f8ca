"""Part masks for a face folder: what ``faceswap-parts masks`` runs
(:func:`make_masks`). Landmarks are predicted again on each face and drawn
as ``binary_masks_<part>/`` masks beside the images."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceswap_parts.errors import FaceswapError
from faceswap_parts.faces.alignment import template_points, transform_points
from faceswap_parts.faces.masks import parse_parts
from faceswap_parts.facesets import folder as faceset
from faceswap_parts.facesets.folder import rounded
from faceswap_parts.io.background import BackgroundWriter
from faceswap_parts.io.images import list_images, read_image

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
    items = parts.split(",") if isinstance(parts, str) else list(parts)
    out = {}
    for item in items:
        if item.strip():
            names = parse_parts(item)
            out["_".join(names)] = names
    if not out:
        raise FaceswapError("no face part given to --parts")
    return out


def _mask_targets(folder: Path, data: dict | None, groups: dict, overwrite: bool) -> list[tuple[Path, dict | None]]:
    """The images to mask (with their faces.json record, if any), after
    refusing, before anything is written, names that would share a mask and
    mask files of unknown origin that would be replaced."""
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
    if not overwrite:
        for path, _ in items:
            for name in groups:
                target = folder / faceset.mask_dir(name) / f"{path.stem}.png"
                if target.exists() and target not in own:
                    raise FaceswapError(f"{target} already exists and was not written by this tool; "
                                        "pass --overwrite to replace it")
    return items


def _locate_face(image: np.ndarray, face: dict | None, detector) -> tuple[np.ndarray, np.ndarray] | None:
    """``(box, points5)`` of the face in ``image``: detected (the largest;
    None when there is none), from its faces.json record, or, for an aligned
    crop, where the template puts it."""
    if detector is not None:
        boxes, _, points = detector.detect(image)
        return (boxes[0], points[0]) if len(boxes) else None
    if face is not None and "matrix" in face:
        matrix = np.asarray(face["matrix"], dtype=np.float64)
        corners = transform_points(np.asarray(face["box"], dtype=np.float64).reshape(2, 2), matrix)
        return np.r_[corners.min(0), corners.max(0)], transform_points(face["points5"], matrix)
    width = image.shape[1]
    return np.asarray(ALIGNED_BOX) * width, template_points(width)


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
    from faceswap_parts.faces.landmarks import get_landmarker

    folder = Path(folder)
    if folder.is_file():
        raise FaceswapError(f"{folder} is a file; give the face folder that extract wrote")
    if not folder.is_dir():
        raise FaceswapError(f"folder not found: {folder}")
    groups = _mask_names(parts)
    landmarker = get_landmarker(landmarks, device=device)
    data = faceset.read_faces_json(folder) if (folder / faceset.FACES_JSON).is_file() else None
    items = _mask_targets(folder, data, groups, overwrite)
    for name in groups:
        (folder / faceset.mask_dir(name)).mkdir(exist_ok=True)
    detector = None
    if data is None and not assume_aligned:
        from faceswap_parts.faces.detection import FaceDetector

        detector = FaceDetector(device=device)
    summary = MasksSummary(folder=os.fspath(folder), landmarks=landmarker.name, parts=tuple(groups))
    start = time.perf_counter()
    writer = BackgroundWriter(workers=2, name="mask-writer")
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
            located = _locate_face(image, face, detector)
            if located is None:
                summary.no_face.append(path.name)
                continue
            lm = landmarker.predict(image, np.asarray(located[0])[None], np.asarray(located[1])[None])[0]
            files = faceset.queue_part_masks(writer, folder, path.stem, lm, (h, w), groups)
            summary.masks_written += len(files)
            if face is not None:
                face["landmarks68"] = rounded(lm)
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
