"""MTCNN face detection (P-Net, R-Net, O-Net cascade), batched over frames.

The algorithm follows facenet-pytorch's ``detect_face`` (same weights, same
resampling, same thresholds and suppression rules), reimplemented without
torchvision and restructured for throughput on video:

* every pyramid level runs once for all frames of a batch (one P-Net call);
* pyramid levels and candidate crops are area-resampled (bit for bit as
  ``F.interpolate(mode="area")``) from one summed-area table per frame, at a
  cost proportional to the output size;
* all candidate crops of a batch go through R-Net / O-Net in one call each;
* non-maximum suppression is vectorised per image (``boxes.batched_nms``).
"""
from __future__ import annotations

from typing import Any, Sequence

import cv2
import numpy as np
import torch

from faceswap_parts.faces.detection.boxes import batched_nms, integral_images, resample_crops, resample_frames
from faceswap_parts.faces.detection.mtcnn_nets import ONet, PNet, RNet
from faceswap_parts.faces.detection.weights import load_state_dict
from faceswap_parts.device import half_on_cuda, resolve_device
from faceswap_parts.errors import FaceswapError
from faceswap_parts.io.images import to_rgb
from faceswap_parts.options import DETECTION_THRESHOLDS

#: Frames of one size are processed in chunks of at most this many pixels
#: (about 16 frames of 512x512), which bounds P-Net's activation memory.
PIXELS_PER_CHUNK = 16 * 512 * 512

#: ``FaceDetector.for_frames`` detects on frames shrunk to this longest side.
DETECT_MAX_SIDE = 320

_EMPTY = (np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0, 5, 2), np.float32))


def load_nets(device: torch.device) -> tuple[PNet, RNet, ONet]:
    """The three networks with their weights, in eval mode on ``device``."""
    nets = []
    for name, cls in (("pnet", PNet), ("rnet", RNet), ("onet", ONet)):
        net = cls()
        net.load_state_dict(load_state_dict(name))
        nets.append(net.to(device).eval())
    return tuple(nets)


class FaceDetector:
    """MTCNN face detector returning boxes, scores and 5 landmarks per face.

    ``DETECTION_THRESHOLDS``: the cascade's stage thresholds; the last (O-Net's,
    v2.2's ``detec_threshold``) decides what counts as a face.

    Args:
        device: "auto", "cpu", "cuda", ... (see :func:`faceswap_parts.device.resolve_device`).
        min_face_size: smallest face searched for, in pixels of the image
            detection runs on (after ``max_side`` downscaling). Larger values
            mean fewer pyramid levels and faster detection.
        thresholds: face-probability thresholds of P-Net, R-Net and O-Net.
        factor: ratio between successive pyramid scales, in (0, 1).
        max_side: when set, frames whose longer side exceeds it are detected on
            a copy downscaled to that side and the results mapped back to the
            full frame; faces smaller than ``min_face_size * longer_side /
            max_side`` pixels are then missed.
    """

    def __init__(self, device: str | torch.device = "auto", min_face_size: float = 20,
                 thresholds: Sequence[float] = DETECTION_THRESHOLDS, factor: float = 0.709,
                 max_side: int | None = None) -> None:
        if not np.isfinite(min_face_size) or min_face_size < 6:
            raise FaceswapError(f"min_face_size must be at least 6 pixels, got {min_face_size}")
        thresholds = tuple(float(t) for t in thresholds)
        if len(thresholds) != 3 or not all(0.0 <= t < 1.0 for t in thresholds):
            raise FaceswapError(f"thresholds must be three probabilities in [0, 1), got {thresholds}")
        if not 0.1 <= factor <= 0.95:
            raise FaceswapError(f"pyramid factor must be between 0.1 and 0.95, got {factor}")
        if max_side is not None and max_side < 48:
            raise FaceswapError(f"max_side must be at least 48 pixels (or None), got {max_side}")
        self.min_face_size = float(min_face_size)
        self.thresholds = thresholds
        self.factor = float(factor)
        self.max_side = None if max_side is None else int(max_side)
        self.device = resolve_device(device)
        # fp16 on CUDA GPUs (a T4's tensor cores); the cascade's own arithmetic stays fp32.
        self.pnet, self.rnet, self.onet = (half_on_cuda(net, self.device) for net in load_nets(self.device))

    @classmethod
    def for_frames(cls, frame_size: tuple[int, int], min_face: float, auto_downscale: bool = True,
                   device: str | torch.device = "auto", **kwargs) -> "FaceDetector":
        """A detector for frames of ``(width, height)`` that finds faces of at
        least ``min_face`` pixels of those frames.

        With ``auto_downscale`` it detects on copies shrunk to
        :data:`DETECT_MAX_SIDE` (less shrinking when ``min_face`` would fall
        below MTCNN's 12 px window) with ``min_face_size`` scaled to match, so
        ``min_face`` always means pixels of the original frame. The O-Net
        landmarks come from a 48 px resample of each face either way, so
        shrinking costs them little precision.
        """
        side = max(frame_size)
        target = max(DETECT_MAX_SIDE, int(np.ceil(side * 12.0 / min_face)))
        max_side = target if auto_downscale and target < side else None
        min_face_size = max(12.0, min_face * (max_side / side if max_side else 1.0))
        return cls(device=device, min_face_size=min_face_size, max_side=max_side, **kwargs)

    def __repr__(self) -> str:
        return (f"FaceDetector(device={str(self.device)!r}, min_face_size={self.min_face_size:g}, "
                f"thresholds={self.thresholds}, factor={self.factor}, max_side={self.max_side})")

    def detect(self, images: Any):
        """Detect faces in one image or a batch.

        Args:
            images: one image (numpy ``HxWx3`` RGB uint8, ``HxW`` gray or
                ``HxWx4`` RGBA, a PIL image, or a tensor ``3xHxW``; uint8 or
                floats in [0, 1]) or a batch (list of such images, ``NxHxWx3``
                array or ``Nx3xHxW`` tensor). Images of a batch may differ in size.

        Returns:
            For one image ``(boxes, scores, landmarks)``: float32 arrays of
            shapes ``(N, 4)`` (x1, y1, x2, y2), ``(N,)`` and ``(N, 5, 2)``
            (left eye, right eye, nose, left and right mouth corner as image
            x, y), faces sorted by box area, largest first; 0 rows when no
            face is found. For a batch, three lists with one array per image.
        """
        frames, batched = as_frames(images)
        results: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = [_EMPTY] * len(frames)
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, frame in enumerate(frames):
            by_size.setdefault(frame.shape[:2], []).append(i)
        for (h, w), indices in by_size.items():
            chunk = max(1, PIXELS_PER_CHUNK // (h * w))
            for start in range(0, len(indices), chunk):
                part = indices[start:start + chunk]
                for i, result in zip(part, self._detect_same_size([frames[i] for i in part])):
                    results[i] = result
        if not batched:
            return results[0]
        return tuple(list(column) for column in zip(*results)) if results else ([], [], [])

    @torch.inference_mode()
    def face_probability(self, images: Any, boxes: Sequence[np.ndarray]) -> list[np.ndarray]:
        """O-Net's face probability for given boxes: checks that boxes found
        some other way (e.g. followed by optical flow) still hold a face.

        Args:
            images: one image or a batch, as for :meth:`detect`.
            boxes: for one image an ``(N, 4)`` array, for a batch one per image
                (``x1, y1, x2, y2`` in image pixels, as :meth:`detect` returns).

        Returns:
            ``(N,)`` float32 probabilities (a list of them for a batch); a
            face :meth:`detect` would keep scores above ``thresholds[2]``.
        """
        frames, batched = as_frames(images)
        per_image = [np.asarray(b, np.float32).reshape(-1, 4) for b in (boxes if batched else [boxes])]
        if len(per_image) != len(frames):
            raise FaceswapError(f"face_probability got {len(frames)} images but {len(per_image)} box arrays")
        crops = []
        for frame, frame_boxes in zip(frames, per_image):
            h, w = frame.shape[:2]
            # the square about the box that O-Net sees in the cascade, clipped to the frame the same way
            x0, y0, x1, y1, valid = _clip(_square(frame_boxes), w, h)
            for k in range(len(frame_boxes)):
                crop = frame[y0[k]:y1[k], x0[k]:x1[k]] if valid[k] else np.zeros((1, 1, 3), np.uint8)
                crops.append(cv2.resize(crop, (48, 48), interpolation=cv2.INTER_AREA))
        probs = np.zeros(0, np.float32)
        if crops:
            x = torch.from_numpy(np.stack(crops)).to(self.device).permute(0, 3, 1, 2).float()
            probs = self.onet((x - 127.5) * 0.0078125)[1].float().cpu().numpy()
        out = np.split(probs, np.cumsum([len(b) for b in per_image])[:-1])
        return out if batched else out[0]

    def pyramid_scales(self, height: int, width: int) -> list[float]:
        """Scales at which P-Net sees an image of this size (largest first)."""
        scale = 12.0 / self.min_face_size
        side = min(height, width) * scale
        scales = []
        while side >= 12:
            scales.append(scale)
            scale *= self.factor
            side *= self.factor
        return scales

    def _detect_same_size(self, frames: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        h, w = frames[0].shape[:2]
        sx = sy = 1.0
        if self.max_side is not None and max(h, w) > self.max_side:
            ratio = self.max_side / max(h, w)
            small = (max(1, round(w * ratio)), max(1, round(h * ratio)))
            frames = [cv2.resize(f, small, interpolation=cv2.INTER_AREA) for f in frames]
            sx, sy = w / small[0], h / small[1]
        boxes, scores, points, image = self._cascade(np.stack(frames))
        if sx != 1.0 or sy != 1.0:
            boxes = boxes * np.array([sx, sy, sx, sy], np.float32)
            points = points * np.array([sx, sy], np.float32)
        results = []
        for i in range(len(frames)):
            mine = np.flatnonzero(image == i)
            area = (boxes[mine, 2] - boxes[mine, 0]) * (boxes[mine, 3] - boxes[mine, 1])
            mine = mine[np.argsort(-area, kind="stable")]
            results.append((boxes[mine].astype(np.float32), scores[mine].astype(np.float32),
                            points[mine].astype(np.float32)))
        return results

    @torch.inference_mode()
    def _cascade(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The three stages on ``(N, H, W, 3)`` uint8 frames; returns boxes,
        scores, points and the frame index of every face, unsorted."""
        n, h, w = batch.shape[:3]
        t_p, t_r, t_o = self.thresholds
        # One summed-area table per frame serves every resampling below.
        table = integral_images(batch).to(self.device)

        # Stage 1: P-Net over the pyramid, all frames of the batch per level.
        found, owners = [], []
        for scale in self.pyramid_scales(h, w):
            level = resample_frames(table, int(h * scale + 1), int(w * scale + 1))
            reg, prob = self.pnet((level - 127.5) * 0.0078125)
            hit = prob >= t_p
            where = hit.nonzero()
            if len(where) == 0:
                continue
            cell = where[:, [2, 1]].to(reg.dtype)  # x, y of the 12x12 window on the 2-px grid
            cand = torch.cat([((2 * cell + 1) / scale).floor(), ((2 * cell + 12) / scale).floor(),
                              prob[hit][:, None], reg.permute(0, 2, 3, 1)[hit]], dim=1).cpu().numpy()
            owner = where[:, 0].cpu().numpy()
            keep = batched_nms(cand[:, :4], cand[:, 4], owner, 0.5)
            found.append(cand[keep])
            owners.append(owner[keep])
        if not found:
            return _no_faces()
        cand, owner = np.concatenate(found), np.concatenate(owners)
        keep = batched_nms(cand[:, :4], cand[:, 4], owner, 0.7)
        cand, owner = cand[keep], owner[keep]
        wh = np.stack([cand[:, 2] - cand[:, 0], cand[:, 3] - cand[:, 1]] * 2, axis=1)
        boxes = _square(cand[:, :4] + cand[:, 5:9] * wh)

        # Stage 2: R-Net on 24x24 crops of all candidates of the batch.
        crops, valid = _crops(table, boxes, owner, w, h, 24, self.device)
        boxes, owner = boxes[valid], owner[valid]
        if len(boxes) == 0:
            return _no_faces()
        reg, prob = (t.cpu().numpy() for t in self.rnet((crops - 127.5) * 0.0078125))
        ok = prob > t_r
        boxes, scores, owner, reg = boxes[ok], prob[ok], owner[ok], reg[ok]
        keep = batched_nms(boxes, scores, owner, 0.7)
        boxes, scores, owner, reg = boxes[keep], scores[keep], owner[keep], reg[keep]
        boxes = _square(_regress(boxes, reg))
        if len(boxes) == 0:
            return _no_faces()

        # Stage 3: O-Net on 48x48 crops: final boxes, scores and landmarks.
        crops, valid = _crops(table, boxes, owner, w, h, 48, self.device)
        boxes, owner = boxes[valid], owner[valid]
        if len(boxes) == 0:
            return _no_faces()
        reg, prob, marks = (t.cpu().numpy() for t in self.onet((crops - 127.5) * 0.0078125))
        ok = prob > t_o
        boxes, scores, owner, reg, marks = boxes[ok], prob[ok], owner[ok], reg[ok], marks[ok]
        size = np.stack([boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1], axis=1)
        points = size[:, None, :] * marks.reshape(-1, 2, 5).transpose(0, 2, 1) + boxes[:, None, :2] - 1
        boxes = _regress(boxes, reg)
        keep = batched_nms(boxes, scores, owner, 0.7, mode="min")
        return boxes[keep], scores[keep], points[keep], owner[keep]


def _no_faces() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return _EMPTY + (np.zeros((0,), np.int64),)


def _square(boxes: np.ndarray) -> np.ndarray:
    """Boxes grown to squares about their centres (MTCNN's ``rerec``)."""
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    x1 = boxes[:, 0] + w * 0.5 - side * 0.5
    y1 = boxes[:, 1] + h * 0.5 - side * 0.5
    return np.stack([x1, y1, x1 + side, y1 + side], axis=1)


def _regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Apply R-Net/O-Net box regression (offsets relative to inclusive size)."""
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    return boxes[:, :4] + reg * np.stack([w, h, w, h], axis=1)


def _clip(boxes: np.ndarray, w: int, h: int) -> tuple[np.ndarray, ...]:
    """Integer pixel bounds ``x0, y0, x1, y1`` (exclusive ends) of the boxes
    inside a ``w`` x ``h`` frame, as facenet-pytorch crops them, and the mask
    of boxes that keep at least one pixel."""
    edges = np.trunc(boxes).astype(np.int64)
    x0 = np.maximum(edges[:, 0], 1) - 1
    y0 = np.maximum(edges[:, 1], 1) - 1
    x1 = np.minimum(edges[:, 2], w)
    y1 = np.minimum(edges[:, 3], h)
    return x0, y0, x1, y1, (x1 > x0) & (y1 > y0)


def _crops(table: torch.Tensor, boxes: np.ndarray, owner: np.ndarray, w: int, h: int, size: int,
           device: torch.device) -> tuple[torch.Tensor, np.ndarray]:
    """Area-resampled ``size`` crops of the boxes, clipped to the frame as
    facenet-pytorch does (no zero padding); also the mask of non-empty boxes."""
    x0, y0, x1, y1, valid = _clip(boxes, w, h)
    args = (torch.from_numpy(a[valid]).to(device) for a in (owner, x0, y0, x1, y1))
    return resample_crops(table, *args, size), valid


def as_frames(images: Any) -> tuple[list[np.ndarray], bool]:
    """Normalise :meth:`FaceDetector.detect`'s input to a list of ``HxWx3``
    RGB uint8 arrays, and whether it was a batch."""
    if isinstance(images, (list, tuple)):
        return [_as_rgb(image) for image in images], True
    if isinstance(images, (np.ndarray, torch.Tensor)) and images.ndim == 4:
        return [_as_rgb(image) for image in images], True
    return [_as_rgb(images)], False


def _as_rgb(image: Any) -> np.ndarray:
    from PIL import Image

    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    if isinstance(image, torch.Tensor):
        if image.ndim == 3 and image.shape[0] in (1, 2, 3, 4):
            image = image.permute(1, 2, 0)
        elif image.ndim != 2:
            raise FaceswapError(f"cannot detect faces in a tensor of shape {tuple(image.shape)}; "
                                "expected 3xHxW (or a batch Nx3xHxW)")
        image = image.detach().cpu()
        image = image.float().numpy() if image.dtype in (torch.float16, torch.bfloat16) else image.numpy()
    if not isinstance(image, np.ndarray):
        raise FaceswapError(f"cannot detect faces in a {type(image).__name__}; "
                            "pass a numpy RGB image, a PIL image or a 3xHxW tensor")
    if image.dtype not in (np.uint8, np.uint16) and not np.issubdtype(image.dtype, np.floating):
        raise FaceswapError(f"unsupported image dtype {image.dtype}; use uint8 (0-255) or floats in [0, 1]")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (2, 3, 4))) or 0 in image.shape:
        raise FaceswapError(f"cannot detect faces in an array of shape {image.shape}; "
                            "expected HxWx3 RGB (or HxW gray, HxWx4 RGBA)")
    if np.issubdtype(image.dtype, np.floating) and not np.isfinite(image).all():
        raise FaceswapError("image contains NaN or infinite values")
    return to_rgb(image)
