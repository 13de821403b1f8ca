"""Look-alike parts augmentation: a training-time face-parts method.

For each face of A, the faces of B that look most alike in everything but
identity (same head pose, same expression, same light) are found once (kNN);
during training, with probability ``parts_prob``, an A sample is replaced by
itself with the chosen parts (eyes, nose, mouth, eyebrows) of one of those
look-alikes, and trained on as A (and symmetrically for B).

The known failure of the method is that the model learns the augmentation's
artifacts (sharp edges around the parts, oddly warped faces) from imperfect
blending. Here each part is moved with a similarity fitted to that part's
own landmarks (no single perspective warp of the whole face), its colours
are matched to the face around it, and it is Poisson-blended
(``cv2.seamlessClone``) inside a feathered mask, so no hard edge remains
(``evaluation.metrics.seam_score`` measures it; see the tests).

The look-alike descriptor of a face combines its head pose, eye and mouth
opening and landmark geometry, from its 68 landmarks, with a globally
averaged early feature map of dlib's face-recognition network (light and
colour, before the network gets to identity). The raw descriptors of a face set are cached
beside it (``lookalike_index.npz``) and recomputed when the set changes.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceswap_parts.errors import FaceswapError
from faceswap_parts.faces.alignment import similarity_matrix
from faceswap_parts.faces.landmarks import ibug68
from faceswap_parts.facesets.folder import face_folder, read_faces_json
from faceswap_parts.io.files import atomic_path

#: Parts the augmentation can swap, and the landmarks each one's warp is fitted to.
PART_POINTS = {
    "eyes": np.r_[36:48],
    "eyebrows": np.r_[17:27],
    "nose": np.r_[27:36],
    "mouth": np.r_[48:68],
}
CACHE_NAME = "lookalike_index.npz"
#: dlib network stage whose pooled map describes light and colour (early: little identity in it).
APPEARANCE_STAGE = "level4"
#: Relative weight of each descriptor group in the kNN distance.
#: Chosen on the training clips in ../shared/data: pose alone leaves the eye and mouth opening of the
#: nearest face no closer than a random pick's, so expression has its own group (docs/training.md).
WEIGHTS = {"pose": 3.0, "expression": 2.0, "geometry": 1.0, "appearance": 0.5}


# --------------------------------------------------------------------------- descriptors
def _fingerprint(faceset) -> str:
    h = hashlib.sha1()
    for name in faceset.names:
        path = Path(faceset.folder) / name
        stat = path.stat() if path.exists() else None
        h.update(f"{name}:{stat.st_size if stat else 0}:{stat.st_mtime_ns if stat else 0};".encode())
    return h.hexdigest()


def _set_folder(faceset) -> Path:
    """The face set's own folder: the extract output holding ``aligned_faces``, or the plain folder of images."""
    resolved = face_folder(faceset.folder)
    return resolved.masks_root if resolved.masks_root is not None else resolved.images_dir


def _landmarks_from_json(faceset) -> dict[str, np.ndarray]:
    """``{file name: (68,2)}`` from the extract output's ``faces.json`` (crop pixels at 256)."""
    try:
        data = read_faces_json(_set_folder(faceset))
    except FaceswapError:  # not an extract output, or its faces.json is damaged: landmarks are predicted
        return {}
    if data.get("size", 256) != 256:
        return {}
    out = {}
    for face in data.get("faces", []):
        lm = face.get("landmarks68")
        if lm is not None and len(lm) == 68:
            out[Path(face.get("file", "")).name] = np.asarray(lm, np.float32)
    return out


def faceset_landmarks(faceset, landmarker=None) -> np.ndarray:
    """(N, 68, 2) landmarks of every face in 256 px crop pixels: from
    ``faces.json`` where the set has it, else predicted on the aligned crops."""
    known = _landmarks_from_json(faceset)
    out = np.zeros((len(faceset), 68, 2), np.float32)
    missing = []
    for i, name in enumerate(faceset.names):
        if name in known:
            out[i] = known[name]
        else:
            missing.append(i)
    if missing:
        # Not from extract (a plain folder of faces): find each face in its image, then its landmarks.
        from faceswap_parts.faces.detection import FaceDetector
        from faceswap_parts.faces.landmarks import get_landmarker

        landmarker = landmarker or get_landmarker("auto", device="cpu", verbose=False)
        detector = FaceDetector(device="cpu", min_face_size=48)
        boxes, _, points = detector.detect([faceset.images[i] for i in missing])
        for i, box, p5 in zip(missing, boxes, points):
            if len(box):
                out[i] = landmarker.predict(faceset.images[i], box[:1], p5[:1])[0]
            else:  # no face found: the mean face laid over the crop
                out[i] = ibug68.MEAN_SHAPE * faceset.images.shape[1]
    return out


def geometry(landmarks: np.ndarray) -> np.ndarray:
    """(N, 136) landmarks centred on the eyes and scaled to inter-ocular units:
    the expression and the face's shape in the crop, without its position."""
    from faceswap_parts.faces.landmarks.geometry import eye_centres, inter_ocular

    left, right = eye_centres(landmarks)
    mid = (left + right) / 2.0
    scale = inter_ocular(landmarks)[..., None, None]
    return ((landmarks - mid[:, None]) / np.maximum(scale, 1e-6)).reshape(len(landmarks), -1).astype(np.float32)


def appearance(images: np.ndarray, device="cpu", batch: int = 64) -> np.ndarray:
    """(N, C) globally averaged early feature map of dlib's face network."""
    import torch

    from faceswap_parts.recognition.dlib_resnet import CHIP_SIZE, load_dlib_face_net

    net = load_dlib_face_net(device=device)
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch):
            chips = np.stack([cv2.resize(im, (CHIP_SIZE, CHIP_SIZE), interpolation=cv2.INTER_AREA)
                              for im in images[start:start + batch]])
            x = torch.from_numpy(chips).to(device).permute(0, 3, 1, 2).float()
            out.append(net.feature_maps(x, [APPEARANCE_STAGE])[0].mean(dim=(2, 3)).float().cpu().numpy())
    return np.concatenate(out).astype(np.float32)


@dataclass
class FaceIndex:
    """One face set's look-alike descriptors (raw; normalised when compared)."""

    landmarks: np.ndarray  # (N, 68, 2)
    pose: np.ndarray  # (N, 3)
    expression: np.ndarray  # (N, 2): eye and mouth opening
    geometry: np.ndarray  # (N, 136)
    appearance: np.ndarray  # (N, C)


def index_path(faceset) -> Path:
    """Where a face set's index is cached: beside ``aligned_faces`` in an extract output, else in the folder."""
    return _set_folder(faceset) / CACHE_NAME


def build_index(faceset, device="cpu", cache: bool = True) -> FaceIndex:
    """The face set's :class:`FaceIndex`, from its cache file when the set has
    not changed since it was written, else computed (and cached when the
    folder is writable)."""
    from faceswap_parts.faces.landmarks.geometry import eye_opening, head_pose, mouth_opening

    cache_path = index_path(faceset)
    fingerprint = _fingerprint(faceset)
    if cache and cache_path.is_file():
        try:
            with np.load(cache_path, allow_pickle=False) as data:
                if str(data["fingerprint"]) == fingerprint:
                    return FaceIndex(*(data[k] for k in ("landmarks", "pose", "expression", "geometry",
                                                          "appearance")))
        except (OSError, ValueError, KeyError):
            pass  # unreadable or from another version: computed again below
    landmarks = faceset_landmarks(faceset)
    expression = np.stack([eye_opening(landmarks), mouth_opening(landmarks)], axis=-1).astype(np.float32)
    index = FaceIndex(landmarks, head_pose(landmarks).astype(np.float32), expression, geometry(landmarks),
                      appearance(faceset.images, device))
    if cache:
        try:
            with atomic_path(cache_path) as tmp:
                np.savez(tmp, fingerprint=fingerprint, **vars(index))
        except OSError:  # a read-only face set: the index is simply not kept
            pass
    return index


def _normalised(a: FaceIndex, b: FaceIndex) -> tuple[np.ndarray, np.ndarray]:
    """Both sets' descriptors, each group standardised and weighted. Pose and
    geometry are compared as they are; appearance is centred on each set's own
    mean first, so what all of a person's faces share (identity, background,
    usual light) does not count, only how a face departs from it."""
    out_a, out_b = [], []
    for group, weight in WEIGHTS.items():
        xa, xb = getattr(a, group).astype(np.float64), getattr(b, group).astype(np.float64)
        if group == "appearance":
            xa, xb = xa - xa.mean(0), xb - xb.mean(0)
        else:
            mean = np.concatenate([xa, xb]).mean(0)
            xa, xb = xa - mean, xb - mean
        std = np.concatenate([xa, xb]).std(0) + 1e-6
        scale = weight / np.sqrt(xa.shape[1])  # each group counts as its weight, whatever its dimensions
        out_a.append(xa / std * scale)
        out_b.append(xb / std * scale)
    return np.concatenate(out_a, 1), np.concatenate(out_b, 1)


def nearest(a: FaceIndex, b: FaceIndex, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``(A -> B, B -> A)``: for each face, its ``k`` nearest look-alikes in the other set."""
    da, db = _normalised(a, b)
    d2 = (da ** 2).sum(1)[:, None] + (db ** 2).sum(1)[None] - 2 * da @ db.T
    k_ab, k_ba = min(k, len(db)), min(k, len(da))
    return (np.argsort(d2, axis=1, kind="stable")[:, :k_ab], np.argsort(d2.T, axis=1, kind="stable")[:, :k_ba])


# --------------------------------------------------------------------------- the swap
def swap_parts(face: np.ndarray, landmarks: np.ndarray, donor: np.ndarray, donor_landmarks: np.ndarray,
               parts: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``face`` with the donor's ``parts``: each moved by the similarity fitted
    to its landmarks, colour-matched to the face around it and blended
    (Poisson inside a feathered mask). Returns ``(image, mask)``, the mask
    (H, W) float32 in [0, 1] where the donor shows."""
    from faceswap_parts.io.images import seamless_clone
    from faceswap_parts.faces.masks import parts_mask

    out = face.copy()
    union = np.zeros(face.shape[:2], np.float32)
    h, w = face.shape[:2]
    for part in parts:
        idx = PART_POINTS[part]
        matrix = similarity_matrix(donor_landmarks[idx].astype(np.float64), landmarks[idx].astype(np.float64))
        moved = cv2.warpAffine(donor, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        mask = parts_mask(landmarks, (h, w), (part,))
        if not mask.any():
            continue
        # colour: the donor part's mean and spread set to those of the face over the same region
        region = cv2.dilate((mask > 0.05).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
        src, dst = moved[region].astype(np.float32), out[region].astype(np.float32)
        matched = (moved.astype(np.float32) - src.mean(0)) * (dst.std(0) / np.maximum(src.std(0), 1.0)) + dst.mean(0)
        moved = np.clip(matched, 0, 255).astype(np.uint8)
        blended = seamless_clone(moved, out, mask)
        out = cv2.blendLinear(blended, out, mask, 1.0 - mask)
        np.maximum(union, mask, out=union)
    return out, union


class LookalikeSwapper:
    """Parts-swapped versions of one identity's faces with look-alikes of the
    other identity, made on demand and kept (least recently used) in memory,
    shared by the batch worker threads."""

    def __init__(self, faceset, index: FaceIndex, donors, donor_index: FaceIndex, neighbours: np.ndarray,
                 parts: tuple[str, ...], cache_size: int = 2048):
        self.faceset, self.index, self.donors, self.donor_index = faceset, index, donors, donor_index
        self.neighbours, self.parts = neighbours, parts
        self._cache: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def k(self) -> int:
        return self.neighbours.shape[1]

    def swap(self, face: int, rank: int) -> tuple[np.ndarray, np.ndarray, int]:
        """(image, parts mask, donor): face ``face`` with the parts of its ``rank``-th nearest look-alike."""
        donor = int(self.neighbours[face, rank])
        image, mask = swap_parts(self.faceset.images[face], self.index.landmarks[face], self.donors.images[donor],
                                 self.donor_index.landmarks[donor], self.parts)
        return image, mask, donor

    def image(self, face: int, rank: int) -> np.ndarray:
        """:meth:`swap`'s image, from the cache when it was made before."""
        key = (face, rank)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        image = self.swap(face, rank)[0]  # outside the lock: the other workers go on meanwhile
        with self._lock:
            self._cache[key] = image
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return image

    def preview_rows(self, faces: list[int]) -> dict[str, np.ndarray]:
        """Rows of a preview sheet for ``faces``: source, look-alike, parts mask, result."""
        rows = {"source": [], "look-alike": [], "parts": [], "result": []}
        for face in faces:
            image, mask, donor = self.swap(face, 0)
            rows["source"].append(self.faceset.images[face])
            rows["look-alike"].append(self.donors.images[donor])
            rows["parts"].append(np.repeat((mask * 255).astype(np.uint8)[..., None], 3, axis=2))
            rows["result"].append(image)
        return {k: np.stack(v) for k, v in rows.items()}


def make_swappers(facesets: dict, parts: tuple[str, ...], k: int, device="cpu") -> dict[str, LookalikeSwapper]:
    """``{"A": swapper of A's faces with B's parts, "B": the reverse}``."""
    index = {name: build_index(fs, device) for name, fs in facesets.items()}
    ab, ba = nearest(index["A"], index["B"], k)
    return {"A": LookalikeSwapper(facesets["A"], index["A"], facesets["B"], index["B"], ab, parts),
            "B": LookalikeSwapper(facesets["B"], index["B"], facesets["A"], index["A"], ba, parts)}


def write_preview(path, swappers: dict[str, LookalikeSwapper], n: int = 6, size: int = 128) -> Path:
    """A sheet of augmented samples of both identities (rows source,
    look-alike, parts, result; A's above B's), for a person to check the
    blending before training on it."""
    from faceswap_parts.io.images import labelled_grid, write_image

    rows = {}
    for name, swapper in swappers.items():
        faces = list(np.linspace(0, len(swapper.faceset) - 1, min(n, len(swapper.faceset))).round().astype(int))
        for row, images in swapper.preview_rows(faces).items():
            rows[f"{name} {row}"] = np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA)
                                              for im in images])
    write_image(path, labelled_grid(rows))
    return Path(path)
