"""Reading and writing still images as RGB ``uint8`` arrays."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

import cv2
import numpy as np

from faceswap_parts.errors import FaceswapError
from faceswap_parts.io.files import errors_naming

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def is_image_file(path: str | os.PathLike) -> bool:
    """True if the name has an image extension (content is not checked)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and is_image_file(p))


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Any grayscale / gray+alpha / RGB / RGBA / 16-bit array as RGB ``uint8``."""
    image = np.asarray(image)
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(image * (255.0 if image.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return np.stack([image] * 3, axis=-1)
    if image.shape[2] == 2:  # gray + alpha
        return np.repeat(image[..., :1], 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as RGB ``uint8``; unreadable files raise :class:`FaceswapError`."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FaceswapError(f"image not found: {path}")
    data = np.fromfile(path, dtype=np.uint8)  # works with non-ASCII paths, unlike cv2.imread
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise FaceswapError(f"cannot read image {path}: not an image file or corrupt")
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA if image.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return to_rgb(image)


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a mask image as a single-channel ``uint8`` array (0..255)."""
    return read_image(path)[..., 0]


def encode_image(image: np.ndarray, ext: str = ".png", jpeg_quality: int | None = None) -> bytes:
    """An RGB (or single-channel) image encoded in the format of ``ext``
    (``jpeg_quality``: 0-100 for ``.jpg``, OpenCV's default otherwise); other
    dtypes than ``uint8`` are clipped to 0..255."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    params = [] if jpeg_quality is None else [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
    ok, buf = cv2.imencode(ext, image, params)
    if not ok:
        raise FaceswapError(f"cannot encode a {image.shape} image as {ext}")
    return buf.tobytes()


def write_image(path: str | os.PathLike, image: np.ndarray, jpeg_quality: int | None = None) -> None:
    """Write an RGB (or single-channel) ``uint8`` array; the format follows the
    extension (see :func:`encode_image`). A write that fails (a full disk)
    leaves no file behind. Not atomic, unlike :mod:`faceswap_parts.io.files`:
    extraction writes thousands of new files, where a temporary file and a
    rename each would buy nothing."""
    data = encode_image(image, Path(path).suffix or ".png", jpeg_quality)
    with errors_naming(path):
        try:
            # not ndarray.tofile: it ignores a failed flush at close, leaving 0-byte files on a full disk
            with open(path, "wb") as f:
                f.write(data)
        except OSError:
            with contextlib.suppress(OSError):  # a full disk leaves a cut-off file: remove it
                os.unlink(path)
            raise


def _label(text: str, height: int, width: int, scale: float) -> np.ndarray:
    """``text`` in dark grey, vertically centred on a white (height, width) tile."""
    tile = np.full((height, width, 3), 255, np.uint8)
    (_, text_h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.putText(tile, text, (4, (height + text_h) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (40, 40, 40), 1,
                cv2.LINE_AA)
    return tile


def labelled_grid(rows: dict[str, np.ndarray], gap: int = 2, labels: bool = True) -> np.ndarray:
    """Rows of (N,H,W,3) uint8 images (in the dict's order) stacked into one
    RGB image with white gaps, each row named on its left (``labels``)."""
    names = list(rows)
    height = rows[names[0]].shape[1]
    scale = max(height / 160, 0.3)  # readable from 64 px faces up
    label_width = 8 + max(cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] for name in names)
    lines = []
    for name in names:
        faces = rows[name]
        n, h, w, _ = faces.shape
        line = np.full((h, n * w + (n - 1) * gap, 3), 255, np.uint8)
        for i, face in enumerate(faces):
            line[:, i * (w + gap):i * (w + gap) + w] = face
        if labels:
            line = np.concatenate([_label(name, h, label_width, scale), line], axis=1)
        lines.append(line)
    width = max(line.shape[1] for line in lines)
    out = np.full((sum(line.shape[0] for line in lines) + gap * (len(lines) - 1), width, 3), 255, np.uint8)
    y = 0
    for line in lines:
        out[y:y + line.shape[0], :line.shape[1]] = line
        y += line.shape[0] + gap
    return out


def seamless_clone(pasted: np.ndarray, region: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``pasted`` Poisson-blended into ``region`` (same size) where ``alpha``
    is at least 0.5; ``pasted`` itself where that leaves too little to solve."""
    inside = (alpha >= 0.5).astype(np.uint8) * 255
    ys, xs = np.nonzero(inside)
    if len(ys) < 16:
        return pasted
    pad = 4  # OpenCV needs the mask's box strictly inside the destination
    src, dst, mask = (cv2.copyMakeBorder(a, pad, pad, pad, pad, border) for a, border in (
        (pasted, cv2.BORDER_REPLICATE), (region, cv2.BORDER_REPLICATE), (inside, cv2.BORDER_CONSTANT)))
    x0, x1, y0, y1 = xs.min() + pad, xs.max() + pad + 1, ys.min() + pad, ys.max() + pad + 1
    center = (x0 + (x1 - x0) // 2, y0 + (y1 - y0) // 2)  # puts the source box back where it came from
    cloned = cv2.seamlessClone(np.ascontiguousarray(src), np.ascontiguousarray(dst), mask, center,
                               cv2.NORMAL_CLONE)
    return cloned[pad:-pad, pad:-pad]
