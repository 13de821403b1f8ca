"""Frame-level face swapping: find and follow the faces of consecutive
frames, align them, run the generator on the whole batch of crops, correct
colours, and blend the results back into the frames.

>>> from faceswap_parts.conversion import ConverterConfig, FaceSwapper
>>> swapper = FaceSwapper("workdir", ConverterConfig(direction="AtoB"))
>>> swapped = swapper.convert_image(image)
"""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import numpy as np

from faceswap_parts.conversion.blending import edge_mask, enhance_contrast, paste_back
from faceswap_parts.conversion.color import color_correct
from faceswap_parts.conversion.config import ConverterConfig
from faceswap_parts.conversion.label import add_label
from faceswap_parts.io.layouts import compose
from faceswap_parts.errors import FaceswapError
from faceswap_parts.faces.alignment import align_face, alignment_matrix, invert, transform_points
from faceswap_parts.faces.finder import FaceFinder
from faceswap_parts.faces.tracking import FaceTracker, TrackedFace
from faceswap_parts.io.provenance import make_record, tagged_image_bytes
from faceswap_parts.options import DETECTION_THRESHOLDS


class FaceSwapper:
    """Swap faces in consecutive frames and in still images with a trained model.

    :class:`~faceswap_parts.conversion.converter.VideoConverter` adds whole videos.

    Args:
        model: a :class:`~faceswap_parts.models.FaceswapModel` or a training
            workdir (loaded with :func:`faceswap_parts.models.load_model`).
        config: :class:`ConverterConfig` (defaults if omitted).
        detector: a ready :class:`~faceswap_parts.faces.detection.FaceDetector`
            (made from the config when omitted).
        landmarker: a ready 68-point landmarker for ``config.parts``
            (``get_landmarker(config.landmarks)`` when omitted).
    """

    def __init__(self, model, config: ConverterConfig | None = None, detector=None, landmarker=None):
        import torch

        from faceswap_parts.device import inference_dtype, resolve_device
        from faceswap_parts.models import load_model

        self.config = config = config or ConverterConfig()
        if config.sign_cert:  # before any frame is converted
            from faceswap_parts.io import c2pa_manifest

            if not c2pa_manifest.available():
                raise FaceswapError(f"--sign-cert signs a C2PA manifest, which needs the provenance extra: "
                                    f"{c2pa_manifest.INSTALL_HINT}")
        if isinstance(model, (str, os.PathLike)):
            model = load_model(model, device=config.device)
        elif config.device != "auto":
            model = model.to(resolve_device(config.device))
        self.model = model.eval()
        self.device = next(model.parameters()).device
        self.resolution = model.config.resolution
        self.coverage = model.config.coverage
        dtype = inference_dtype(config.precision, self.device)
        self._autocast = (lambda: torch.autocast(self.device.type, dtype=dtype)) if dtype is not None \
            else contextlib.nullcontext
        self._detector = detector
        self._detectors: dict = {}
        self._landmarker = landmarker
        self._edge = edge_mask(self.resolution, config.roi_coverage, config.feather)
        self.timings = {"detector": 0.0, "generator": 0.0}
        self.reset()

    # ------------------------------------------------------------------ components
    def detector_for(self, frame_size: tuple[int, int]):
        """The face detector for frames of ``(width, height)``: the one given
        to the constructor, else one made (and kept) for this frame size by
        :meth:`FaceDetector.for_frames` (``min_face`` and ``auto_downscale``
        from the config).
        """
        if self._detector is not None:
            return self._detector
        if frame_size not in self._detectors:
            from faceswap_parts.faces.detection import FaceDetector

            c = self.config
            self._detectors[frame_size] = FaceDetector.for_frames(
                frame_size, c.min_face, c.auto_downscale, device=self.device,
                thresholds=(*DETECTION_THRESHOLDS[:2], c.detect_threshold))
        return self._detectors[frame_size]

    @property
    def landmarker(self):
        """The 68-point landmarker used for ``parts`` (created on first use)."""
        if self._landmarker is None:
            from faceswap_parts.faces.landmarks import get_landmarker

            self._landmarker = get_landmarker(self.config.landmarks, device=self.device)
        return self._landmarker

    def reset(self) -> None:
        """Start a new video: forget tracks, smoothing state and the frame count."""
        c = self.config
        self.tracker = FaceTracker(all_faces=c.all_faces, smoother=dict(
            method=c.smoothing, kalman_noise=c.kalman_noise, moving_average=c.moving_average))
        #: finds the faces of the video's frames: detection every ``detect_every`` frames, optical flow between
        self.finder = FaceFinder(self._detect, self.tracker, c.detect_every)
        #: smoothed boxes pasted in each frame so far: list (per frame) of (N, 4) arrays
        self.history: list[np.ndarray] = []

    # ------------------------------------------------------------------ frame level
    def _detect(self, frames: list[np.ndarray]) -> tuple[list, list, list]:
        """The detector's ``(boxes, scores, points5)`` lists for a batch of frames, timed in ``timings``."""
        if not frames:
            return [], [], []
        t0 = time.perf_counter()
        h, w = frames[0].shape[:2]
        found = self.detector_for((w, h)).detect(frames)
        self.timings["detector"] += time.perf_counter() - t0
        return found

    def detect(self, frames: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(boxes (N, 4), points5 (N, 5, 2))`` per frame, largest face first (timed in ``timings``)."""
        boxes, _, points = self._detect(frames)
        return list(zip(boxes, points))

    def generate(self, crops: np.ndarray):
        """``model.transform`` of aligned crops (N, R, R, 3) at the configured
        precision: ``(result, raw, mask)`` (timed in ``timings``)."""
        import torch

        t0 = time.perf_counter()
        with torch.inference_mode(), self._autocast():
            out = self.model.transform(crops, self.config.direction, batch_size=max(len(crops), 1))
        self.timings["generator"] += time.perf_counter() - t0
        return out

    def _frame_weights(self, frame: np.ndarray, faces) -> list[np.ndarray | None]:
        """The frame-sized landmark weight of each face: the ``parts`` mask,
        times the face hull for the ``face`` masks; ``None`` where neither applies.
        The landmarks are predicted once for both."""
        c = self.config
        groups = ([c.parts] if c.parts else []) + ([("face",)] if c.mask != "learned" else [])
        if not faces or not groups:
            return [None] * len(faces)
        return [np.prod(masks, axis=0) for masks in self._landmark_masks(frame, faces, groups)]

    def _landmark_masks(self, frame: np.ndarray, faces, groups) -> list[list[np.ndarray]]:
        """Per face, one frame-sized mask for each group of ``groups`` (tuples of
        part names), drawn at the smoothed face position."""
        from faceswap_parts.faces.masks import face_size, parts_mask

        boxes = np.stack([f.raw_box for f in faces]).astype(np.float32)
        points = np.stack([f.raw_points5 for f in faces]).astype(np.float32)
        landmarks = self.landmarker.predict(frame, boxes, points)
        h, w = frame.shape[:2]
        per_face = []
        for face, lm in zip(faces, landmarks):
            # landmarks follow the face from its raw to its smoothed position
            raw_m = alignment_matrix(face.raw_points5, self.resolution, self.coverage)
            smooth_m = alignment_matrix(face.points5, self.resolution, self.coverage)
            moved = transform_points(transform_points(lm, raw_m), invert(smooth_m))
            # draw the masks in a window around the face only (distance transforms cost per pixel)
            margin = face_size(moved) * 0.5
            x0, y0 = np.clip(np.floor(moved.min(axis=0) - margin), 0, [w, h]).astype(int)
            x1, y1 = np.clip(np.ceil(moved.max(axis=0) + margin), 0, [w, h]).astype(int)
            masks = []
            for parts in groups:
                weight = np.zeros((h, w), np.float32)
                if x1 > x0 and y1 > y0:
                    weight[y0:y1, x0:x1] = parts_mask((moved - [x0, y0]).astype(np.float32), (y1 - y0, x1 - x0),
                                                      parts=parts)
                masks.append(weight)
            per_face.append(masks)
        return per_face

    def track_frames(self, frames: list[np.ndarray], finder: FaceFinder | None = None,
                     detect_all: bool = False) -> list[list[TrackedFace]]:
        """The smoothed faces of each of consecutive frames, found by
        ``finder`` (default: this video's, :attr:`finder`); ``detect_all``
        runs the detector on every frame."""
        finder = finder or self.finder
        per_frame = finder.find(frames, detect_all)
        if finder is self.finder:
            self.history.extend(np.array([f.box for f in faces]).reshape(-1, 4) for faces in per_frame)
        return per_frame

    def swap_frames(self, frames: list[np.ndarray], finder: FaceFinder | None = None,
                    detect_all: bool = False) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        """Swap the faces in consecutive frames (tracking continues across calls).

        Returns ``(results, alphas)``: one RGB frame per input (the input
        object itself when it had no face) and the (H, W) blend weight
        actually used (``None`` without a face).
        """
        c = self.config
        per_frame = self.track_frames(frames, finder, detect_all)
        crops, matrices, owners = [], [], []
        for i, faces in enumerate(per_frame):
            for face in faces:
                try:
                    crop, matrix = align_face(frames[i], face.points5, size=self.resolution, coverage=self.coverage)
                except ValueError:  # degenerate points: leave this face alone
                    continue
                crops.append(crop)
                matrices.append(matrix)
                owners.append((i, face))
        results: list[np.ndarray] = list(frames)
        alphas: list[np.ndarray | None] = [None] * len(frames)
        if not crops:
            return results, alphas
        crops = np.stack(crops)
        _, raw, masks = self.generate(crops)
        if c.mask == "face":  # the hull alone decides (frame weight below); the crop is pasted whole
            masks = np.ones_like(masks)
        weights = {}
        for i, faces in enumerate(per_frame):
            weights.update(zip((id(f) for f in faces), self._frame_weights(frames[i], faces)))
        corrected = color_correct(raw, crops, c.color_correction, masks)
        for matrix, (i, face), swapped, mask in zip(matrices, owners, corrected, masks):
            if results[i] is frames[i]:
                results[i] = frames[i].copy()
                alphas[i] = np.zeros(frames[i].shape[:2], np.float32)
            paste_back(results[i], enhance_contrast(swapped, c.enhance), mask * self._edge, matrix,
                       frame_weight=weights.get(id(face)), out_alpha=alphas[i], blend=c.blend)
        return results, alphas

    def convert_frames(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """Output frames (in the configured layout) for consecutive input frames."""
        results, alphas = self.swap_frames(frames)
        return [add_label(compose(self.config.output_type, f, r, a), self.config.label)
                for f, r, a in zip(frames, results, alphas)]

    def convert_image(self, image: np.ndarray) -> np.ndarray:
        """Swap the face(s) in one RGB uint8 image (no temporal smoothing);
        returns the result (the layout option applies to videos only)."""
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise FaceswapError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
        alone = FaceFinder(self._detect, FaceTracker(all_faces=self.config.all_faces, smoother=dict(method="none")),
                           detect_every=1)
        results, _ = self.swap_frames([image], finder=alone, detect_all=True)
        return add_label(results[0], self.config.label) if results[0] is not image else image

    def record(self) -> dict:
        """The synthetic-media record this converter's output carries (:mod:`faceswap_parts.io.provenance`)."""
        return make_record(self.model, self.config.direction, self.config.label)

    def write_image(self, path: str | os.PathLike, image: np.ndarray) -> str | None:
        """Write a converted image with the synthetic-media tag inside (PNG, JPEG or WebP), atomically,
        and the signed C2PA manifest where the provenance extra is installed; returns who signed it (or None)."""
        from faceswap_parts.io.files import write_bytes_atomic

        record = self.record()
        write_bytes_atomic(path, tagged_image_bytes(image, Path(path).suffix, record))
        return self.sign(path, record)

    def sign(self, path: str | os.PathLike, record: dict) -> str | None:
        """Embed the signed C2PA manifest in ``path`` where the provenance extra is installed and the
        format takes one (not MKV); returns who signed it, or None."""
        from faceswap_parts.io import c2pa_manifest

        if not c2pa_manifest.available() or not c2pa_manifest.supported(path):
            return None
        return c2pa_manifest.embed(path, record, self.config.sign_cert or None, self.config.sign_key or None)
