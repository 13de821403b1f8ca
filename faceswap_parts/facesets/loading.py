"""Reading a face set for training.

Accepted layouts of ``DIR`` (see docs/training.md):

* an ``extract`` output: ``DIR/aligned_faces/*.png`` with eye masks of the same
  names in ``DIR/binary_masks_eyes/``;
* the ``aligned_faces`` folder itself (the masks are looked up in its sibling
  ``binary_masks_eyes``);
* a plain folder of face images, read as aligned crops at coverage 1.0 (whole
  head with some margin, face centred), without eye masks.

Images are centre-cropped to a square and resized to 256 px; files that are
not readable images are skipped and counted, images under ``MIN_SIDE`` pixels
are skipped and counted, and a folder with no usable image is refused.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from faceswap_parts.errors import FaceswapError
from faceswap_parts.facesets.folder import face_folder
from faceswap_parts.io.images import is_image_file, read_image, read_mask
from faceswap_parts.options import LOSS_PARTS

#: Side of the stored aligned faces (what extraction writes).
FACE_SIZE = 256
#: Smaller images carry too little detail to train on and are skipped.
MIN_SIDE = 64


@dataclass
class FaceSet:
    """All faces of one identity in memory: ``images`` (N,256,256,3) uint8 and
    ``eye_masks`` (N,256,256) uint8 (all zero where a face has no mask)."""

    folder: Path
    images: np.ndarray
    eye_masks: np.ndarray
    names: list[str]
    has_eye_masks: bool
    skipped: dict[str, int] = field(default_factory=dict)
    #: (N,256,256) uint8 masks of the :data:`LOSS_PARTS` whose folders exist beside the faces
    part_masks: dict[str, np.ndarray] = field(default_factory=dict)
    #: a pool's folders and their face counts (:func:`load_pool`); empty for one folder
    sources: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    def summary(self, part_weights: dict[str, float] | None = None) -> str:
        """One line for the user: how many faces, masks and skipped files.
        ``part_weights`` (``{"mouth": w_mouth, ...}``) marks the part masks that
        a weight of 0 leaves unused."""
        masks = "with eye masks" if self.has_eye_masks else "no eye masks"
        if self.part_masks:
            masks += f", {' and '.join(self.part_masks)} masks"
            unused = [f"w_{part}=0" for part in self.part_masks if part_weights and part_weights.get(part) == 0]
            if unused:
                masks += f" found (unused: {', '.join(unused)})"
        skipped = ", ".join(f"{n} {why}" for why, n in self.skipped.items() if n)
        if self.sources:
            return (f"pool of {len(self.sources)} face folders: {len(self)} faces, {masks}"
                    + (f" (skipped {skipped})" if skipped else ""))
        return f"{self.folder}: {len(self)} faces, {masks}" + (f" (skipped {skipped})" if skipped else "")


def _square_256(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    image = image[top:top + side, left:left + side]
    if side != FACE_SIZE:
        image = cv2.resize(image, (FACE_SIZE, FACE_SIZE),
                           interpolation=cv2.INTER_AREA if side > FACE_SIZE else cv2.INTER_CUBIC)
    return image


def load_faceset(folder: str | os.PathLike, label: str = "") -> FaceSet:
    """Read every usable face of ``folder`` (see the module docstring).

    Raises:
        FaceswapError: the folder is missing, not a folder, or holds no usable image.
    """
    what = f"face folder {label} " if label else "face folder "
    resolved = face_folder(folder, label)
    faces_dir, eyes_dir = resolved.images_dir, resolved.mask_folder("eyes")
    entries = sorted(p for p in faces_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    part_dirs = {part: folder for part in LOSS_PARTS
                 if eyes_dir is not None and (folder := resolved.mask_folder(part)) is not None}
    parts: dict[str, list] = {part: [] for part in part_dirs}
    skipped = {"non-image files": 0, "unreadable images": 0, f"images under {MIN_SIDE} px": 0}
    images, masks, names, n_masks = [], [], [], 0
    for path in entries:
        if not is_image_file(path):
            skipped["non-image files"] += 1
            continue
        try:
            image = read_image(path)
        except FaceswapError:
            skipped["unreadable images"] += 1
            continue
        if min(image.shape[:2]) < MIN_SIDE:
            skipped[f"images under {MIN_SIDE} px"] += 1
            continue
        mask = _mask(eyes_dir, path.name, image.shape[:2])
        n_masks += mask is not None
        images.append(_square_256(image))
        masks.append(_square_256(mask if mask is not None else np.zeros(image.shape[:2], np.uint8)))
        for part, folder in part_dirs.items():
            part_mask = _mask(folder, path.name, image.shape[:2])
            parts[part].append(_square_256(part_mask if part_mask is not None else np.zeros(image.shape[:2], np.uint8)))
        names.append(path.name)
    if not images:
        found = ", ".join(f"{n} {why}" for why, n in skipped.items() if n) or "no files"
        raise FaceswapError(f"{what}{faces_dir} has no usable face image ({found}); "
                            f"give a folder of face images of at least {MIN_SIDE} px or an extract output folder")
    return FaceSet(folder=faces_dir, images=np.stack(images), eye_masks=np.stack(masks), names=names,
                   has_eye_masks=n_masks > 0, skipped=skipped,
                   part_masks={part: np.stack(m) for part, m in parts.items()})


def load_pool(folders, label: str = "pool") -> FaceSet:
    """The faces of several folders (several people) as one :class:`FaceSet`,
    for pretraining: names are prefixed with the folder's position, part masks
    kept where every folder has them. Each folder is read by :func:`load_faceset`."""
    sets = [load_faceset(folder, f"{label} {i + 1}") for i, folder in enumerate(folders)]
    if not sets:
        raise FaceswapError("a pretraining pool needs at least one face folder")
    parts = [part for part in sets[0].part_masks if all(part in fs.part_masks for fs in sets)]
    skipped = {why: sum(fs.skipped.get(why, 0) for fs in sets) for why in sets[0].skipped}
    return FaceSet(folder=sets[0].folder, images=np.concatenate([fs.images for fs in sets]),
                   eye_masks=np.concatenate([fs.eye_masks for fs in sets]),
                   names=[f"{i:02d}_{name}" for i, fs in enumerate(sets) for name in fs.names],
                   has_eye_masks=any(fs.has_eye_masks for fs in sets), skipped=skipped,
                   part_masks={part: np.concatenate([fs.part_masks[part] for fs in sets]) for part in parts},
                   sources=[(fs.folder, len(fs)) for fs in sets])


def _mask(folder: Path | None, name: str, shape: tuple[int, int]) -> np.ndarray | None:
    """The mask of face ``name`` in ``folder``, at the face's size; None when
    absent or broken (a broken mask only costs that face its masked losses)."""
    path = folder / name if folder is not None else None
    if path is None or not path.is_file():
        return None
    try:
        mask = read_mask(path)
    except FaceswapError:
        return None
    if mask.shape != shape:
        mask = cv2.resize(mask, shape[::-1], interpolation=cv2.INTER_NEAREST)
    return mask
