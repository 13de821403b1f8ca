"""Finding, measuring and embedding the face of interest in frames and in
identity face folders."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceswap_parts.errors import FaceswapError
from faceswap_parts.facesets.folder import face_folder
from faceswap_parts.io.images import read_image


@dataclass
class Face:
    """One analysed face: detector output plus 68 landmarks and (optionally) its embedding."""

    box: np.ndarray          # (4,) x1, y1, x2, y2
    points5: np.ndarray      # (5, 2)
    landmarks: np.ndarray    # (68, 2)
    embedding: np.ndarray | None = None


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one box ``(4,)`` with each of ``boxes`` ``(N, 4)``."""
    from faceswap_parts.faces.detection.boxes import overlap_matrix

    stacked = np.vstack([np.asarray(box, np.float64).reshape(1, 4), np.asarray(boxes, np.float64).reshape(-1, 4)])
    return np.nan_to_num(overlap_matrix(stacked)[0, 1:])


class FaceAnalyzer:
    """Detector + 68-point landmarker + identity embedder, bundled.

    Args:
        detector: a :class:`~faceswap_parts.faces.detection.FaceDetector`.
        landmarker: from :func:`~faceswap_parts.faces.landmarks.get_landmarker`.
        embedder: a :class:`~faceswap_parts.evaluation.embeddings.FaceEmbedder`.
    """

    def __init__(self, detector, landmarker, embedder):
        self.detector = detector
        self.landmarker = landmarker
        self.embedder = embedder

    def detect(self, images: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(boxes, points5)`` per image, largest face first."""
        boxes, _, points = self.detector.detect(list(images))
        return [(np.asarray(b, np.float64).reshape(-1, 4), np.asarray(p, np.float64).reshape(-1, 5, 2))
                for b, p in zip(boxes, points)]

    def analyse(self, image: np.ndarray, box: np.ndarray, points5: np.ndarray, embed: bool = True) -> Face:
        """Landmarks (and embedding) of the face at ``box`` in ``image``."""
        boxes, points = box.reshape(1, 4), points5.reshape(1, 5, 2)
        landmarks = np.asarray(self.landmarker.predict(image, boxes, points), np.float64).reshape(68, 2)
        embedding = self.embedder.embed(image, boxes, points)[0].astype(np.float64) if embed else None
        return Face(box=box, points5=points5, landmarks=landmarks, embedding=embedding)

    def analyse_batch(self, faces: list) -> list[Face]:
        """:meth:`analyse` of many ``(image, box, points5)`` at once, with one
        embedder call for all of them."""
        embeddings = self.embedder.embed_batch([(image, box.reshape(1, 4), points5.reshape(1, 5, 2))
                                                for image, box, points5 in faces])
        out = []
        for (image, box, points5), embedding in zip(faces, embeddings):
            face = self.analyse(image, box, points5, embed=False)
            face.embedding = embedding[0].astype(np.float64)
            out.append(face)
        return out


def pick_face(detections: tuple[np.ndarray, np.ndarray], near: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray] | None:
    """The face overlapping ``near`` (a box) most, else the largest; ``None`` if no face."""
    boxes, points = detections
    if len(boxes) == 0:
        return None
    i = 0
    if near is not None:
        iou = box_iou(near, boxes)
        if iou.max() > 0:
            i = int(np.argmax(iou))
    return boxes[i], points[i]


@dataclass
class IdentityFaces:
    """Embeddings of one identity's face folder."""

    folder: Path
    embeddings: np.ndarray                     # (N, D)
    files: list[str]
    without_face: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {"folder": str(self.folder), "faces_used": len(self.files),
                "images_without_face": len(self.without_face), "unreadable_images": len(self.unreadable)}


def face_folder_images(folder: str | os.PathLike, label: str) -> tuple[Path, list[Path]]:
    """The image folder of a face folder (:func:`~faceswap_parts.facesets.folder.face_folder`)
    and its image files; a folder without images is refused."""
    resolved = face_folder(folder, label)
    files = resolved.images()
    if not files:
        raise FaceswapError(f"face folder {label} ({resolved.images_dir}) holds no images; "
                            "run 'faceswap-parts extract' or add face images")
    return resolved.images_dir, files


def embed_face_folder(analyzer: FaceAnalyzer, folder: str | os.PathLike, label: str, max_faces: int = 100,
                      batch_size: int = 8) -> IdentityFaces:
    """Embed up to ``max_faces`` images of a face folder, evenly spread over its
    (name-sorted) files so the result is deterministic. Images where no face is
    detected are skipped; a folder with no detectable face is refused."""
    folder, files = face_folder_images(folder, label)
    if max_faces and len(files) > max_faces:
        files = [files[i] for i in np.linspace(0, len(files) - 1, max_faces).round().astype(int)]
    embeddings, used, without, unreadable = [], [], [], []
    for start in range(0, len(files), batch_size):
        images, names = [], []
        for path in files[start:start + batch_size]:
            try:
                images.append(read_image(path))
                names.append(path.name)
            except FaceswapError:
                unreadable.append(path.name)
        batch = []
        for image, name, detections in zip(images, names, analyzer.detect(images) if images else []):
            found = pick_face(detections)
            if found is None:
                without.append(name)
                continue
            batch.append((image, found[0][None], found[1][None]))
            used.append(name)
        embeddings += [e[0] for e in analyzer.embedder.embed_batch(batch)]
    if not embeddings:
        raise FaceswapError(f"no face found in any image of face folder {label} ({folder}); "
                            "give aligned faces from 'faceswap-parts extract' or clear face photos")
    return IdentityFaces(folder=folder, embeddings=np.asarray(embeddings, np.float64), files=used,
                         without_face=without, unreadable=unreadable)
