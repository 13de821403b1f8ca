"""faceswap-GAN v2.2's augmentations on 256 px aligned faces (float32 arrays).

Every function takes a ``numpy.random.Generator`` so that a batch is a pure
function of its seed (exact resume, worker threads in any order).
"""
from __future__ import annotations

import cv2
import numpy as np

from faceswap_parts.faces.alignment import similarity_matrix


def draw_transform(rng: np.random.Generator, width: int, height: int, rotation_range: float = 10.0,
                   zoom_range: float = 0.1, shift_range: float = 0.05,
                   flip_prob: float = 0.5) -> tuple[np.ndarray, bool]:
    """The random rotation (degrees), zoom and shift (fraction of the side) as
    a 2x3 matrix of image pixels, and whether to flip horizontally."""
    angle = rng.uniform(-rotation_range, rotation_range)
    scale = rng.uniform(1 - zoom_range, 1 + zoom_range)
    tx, ty = rng.uniform(-shift_range, shift_range, size=2) * (width, height)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, scale)
    matrix[:, 2] += (tx, ty)
    return matrix, bool(rng.random() < flip_prob)


def apply_transform(image: np.ndarray, matrix: np.ndarray, flip: bool) -> np.ndarray:
    h, w = image.shape[:2]
    out = cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if flip:
        out = out[:, ::-1]
    return out.reshape(image.shape)


def random_transform(image: np.ndarray, rng: np.random.Generator, rotation_range: float = 10.0,
                     zoom_range: float = 0.1, shift_range: float = 0.05, flip_prob: float = 0.5) -> np.ndarray:
    """Random rotation (degrees), zoom, shift (fraction of the side) and horizontal flip."""
    h, w = image.shape[:2]
    return apply_transform(image, *draw_transform(rng, w, h, rotation_range, zoom_range, shift_range, flip_prob))


def color_match(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Shift and scale each colour channel of ``image`` to the mean and standard
    deviation of ``reference`` (both RGB, 0..255)."""
    mean_i, std_i = image.mean(axis=(0, 1)), image.std(axis=(0, 1))
    mean_r, std_r = reference.mean(axis=(0, 1)), reference.std(axis=(0, 1))
    out = (image - mean_i) * (std_r / np.maximum(std_i, 1e-3)) + mean_r
    return np.clip(out, 0, 255).astype(np.float32)


def draw_warp(rng: np.random.Generator, size: int, resolution: int, coverage: float) -> tuple[np.ndarray, np.ndarray]:
    """faceswap-GAN's ``random_warp_rev`` draws for a ``size`` px image: the
    jittered 5x5 grid (2,5,5) of source x and y coordinates, and the 2x3
    least-squares similarity from that grid to the ``resolution`` px square.

    The grid covers the central ``coverage`` (randomly 0-20 % wider, as the
    original's 80..99 px of 256), jittered by the original's 5..6.2 px at 256 px.
    """
    half = size / 2 * coverage * rng.uniform(1.0, 1.2)
    jitter = size / 256 * coverage / 0.625 * rng.uniform(5.0, 6.2)
    line = np.linspace(size / 2 - half, size / 2 + half, 5)
    mapx = np.broadcast_to(line, (5, 5)) + rng.normal(scale=jitter, size=(5, 5))
    mapy = np.broadcast_to(line, (5, 5)).T + rng.normal(scale=jitter, size=(5, 5))
    src = np.stack([mapx.ravel(), mapy.ravel()], axis=-1)
    grid = np.linspace(0, resolution, 5)
    dst = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2)
    return np.stack([mapx, mapy]), similarity_matrix(src, dst)


def warp_crop(resolution: int) -> tuple[int, slice]:
    """Size the 5x5 grid is upsampled to, and the inner part kept (as the original)."""
    big = resolution * 5 // 4
    return big, slice(big // 10, big // 10 + resolution)


def apply_warp(image: np.ndarray, grid: np.ndarray, target_matrix: np.ndarray,
               resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """(distorted input, similarity-aligned target): the input is the image
    remapped through the bilinearly upsampled jittered grid, the target the
    image warped by the similarity, so both show the same face region."""
    big, trim = warp_crop(resolution)
    interp_x = cv2.resize(grid[0], (big, big))[trim, trim].astype(np.float32)
    interp_y = cv2.resize(grid[1], (big, big))[trim, trim].astype(np.float32)
    warped = cv2.remap(image, interp_x, interp_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    target = cv2.warpAffine(image, target_matrix, (resolution, resolution), borderMode=cv2.BORDER_REPLICATE)
    return warped.reshape(resolution, resolution, -1), target.reshape(resolution, resolution, -1)


def random_warp(image: np.ndarray, rng: np.random.Generator, resolution: int,
                coverage: float) -> tuple[np.ndarray, np.ndarray]:
    """faceswap-GAN's ``random_warp_rev``: (distorted input, similarity-aligned
    target); see :func:`draw_warp` and :func:`apply_warp`."""
    return apply_warp(image, *draw_warp(rng, image.shape[0], resolution, coverage), resolution)


#: Side of the largest motion-blur kernel.
MAX_BLUR = 11


def draw_blur(rng: np.random.Generator) -> np.ndarray:
    """A random linear motion-blur kernel (5..11 px, any direction), summing to 1."""
    size = int(rng.choice([5, 7, 9, MAX_BLUR]))
    kernel = np.zeros((size, size), np.float32)
    kernel[size // 2, :] = 1.0
    rotation = cv2.getRotationMatrix2D(((size - 1) / 2, (size - 1) / 2), rng.uniform(-180, 180), 1.0)
    kernel = np.clip(cv2.warpAffine(kernel, rotation, (size, size)), 0, 1)
    return kernel / kernel.sum()


def apply_blur(images: list[np.ndarray], kernel: np.ndarray) -> list[np.ndarray]:
    return [cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REPLICATE).reshape(image.shape)
            for image in images]


def motion_blur(images: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The same random linear motion blur (5..11 px, any direction) on each image."""
    return apply_blur(images, draw_blur(rng))
