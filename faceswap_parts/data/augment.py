"""faceswap-GAN v2.2's augmentations on 256 px aligned faces (float32 arrays).

Every function takes a ``numpy.random.Generator`` so that a batch is a pure
function of its seed (exact resume, worker threads in any order).
"""
from __future__ import annotations

import cv2
import numpy as np

from faceswap_parts.alignment import similarity_matrix


def random_transform(image: np.ndarray, rng: np.random.Generator, rotation_range: float = 10.0,
                     zoom_range: float = 0.1, shift_range: float = 0.05, flip_prob: float = 0.5) -> np.ndarray:
    """Random rotation (degrees), zoom, shift (fraction of the side) and horizontal flip."""
    h, w = image.shape[:2]
    angle = rng.uniform(-rotation_range, rotation_range)
    scale = rng.uniform(1 - zoom_range, 1 + zoom_range)
    tx, ty = rng.uniform(-shift_range, shift_range, size=2) * (w, h)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    matrix[:, 2] += (tx, ty)
    out = cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < flip_prob:
        out = out[:, ::-1]
    return out.reshape(image.shape)


def color_match(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Shift and scale each colour channel of ``image`` to the mean and standard
    deviation of ``reference`` (both RGB, 0..255)."""
    mean_i, std_i = image.mean(axis=(0, 1)), image.std(axis=(0, 1))
    mean_r, std_r = reference.mean(axis=(0, 1)), reference.std(axis=(0, 1))
    out = (image - mean_i) * (std_r / np.maximum(std_i, 1e-3)) + mean_r
    return np.clip(out, 0, 255).astype(np.float32)


def random_warp(image: np.ndarray, rng: np.random.Generator, resolution: int,
                coverage: float) -> tuple[np.ndarray, np.ndarray]:
    """faceswap-GAN's ``random_warp_rev``: (distorted input, similarity-aligned target).

    A 5x5 grid over the central ``coverage`` (randomly 0-20 % wider, as the
    original's 80..99 px of 256) is jittered; the input is the image remapped
    through the smoothly interpolated jittered grid, the target the image
    warped by the least-squares similarity from the jittered grid to the
    output square, so input and target show the same face region.
    """
    size = image.shape[0]
    half = size / 2 * coverage * rng.uniform(1.0, 1.2)
    jitter = size / 256 * coverage / 0.625 * rng.uniform(5.0, 6.2)  # the original's 5..6.2 px at 256 px
    line = np.linspace(size / 2 - half, size / 2 + half, 5)
    mapx = np.broadcast_to(line, (5, 5)) + rng.normal(scale=jitter, size=(5, 5))
    mapy = np.broadcast_to(line, (5, 5)).T + rng.normal(scale=jitter, size=(5, 5))
    # Bilinear upsampling of the 5x5 grid, trimmed to its inner part as the original does.
    big = resolution * 5 // 4
    trim = slice(big // 10, big // 10 + resolution)
    interp_x = cv2.resize(mapx, (big, big))[trim, trim].astype(np.float32)
    interp_y = cv2.resize(mapy, (big, big))[trim, trim].astype(np.float32)
    warped = cv2.remap(image, interp_x, interp_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    src = np.stack([mapx.ravel(), mapy.ravel()], axis=-1)
    grid = np.linspace(0, resolution, 5)
    dst = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2)
    matrix = similarity_matrix(src, dst)
    target = cv2.warpAffine(image, matrix, (resolution, resolution), borderMode=cv2.BORDER_REPLICATE)
    return warped.reshape(resolution, resolution, -1), target.reshape(resolution, resolution, -1)


def motion_blur(images: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The same random linear motion blur (5..11 px, any direction) on each image."""
    size = int(rng.choice([5, 7, 9, 11]))
    kernel = np.zeros((size, size), np.float32)
    kernel[size // 2, :] = 1.0
    rotation = cv2.getRotationMatrix2D(((size - 1) / 2, (size - 1) / 2), rng.uniform(-180, 180), 1.0)
    kernel = np.clip(cv2.warpAffine(kernel, rotation, (size, size)), 0, 1)
    kernel /= kernel.sum()
    return [cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REPLICATE).reshape(image.shape)
            for image in images]
