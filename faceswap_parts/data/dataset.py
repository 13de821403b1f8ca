"""Augmented training batches of one identity, prepared ahead in worker threads.

Batch ``k`` is a pure function of ``(seed, identity, k)``: resuming at
iteration ``k`` replays exactly the batches an uninterrupted run would have
seen, whatever the number of workers.
"""
from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
import threading
from dataclasses import dataclass
from typing import Iterator

import cv2
import numpy as np

from faceswap_parts.config import TrainConfig
from faceswap_parts.data import augment
from faceswap_parts.data.faceset import FaceSet


@dataclass
class FaceBatch:
    """``warped`` and ``target`` (N,3,R,R) float32 in [-1, 1]; ``eyes`` (N,1,R,R) in [0, 1]."""

    warped: np.ndarray
    target: np.ndarray
    eyes: np.ndarray


def center_crop(images: np.ndarray, resolution: int, coverage: float) -> np.ndarray:
    """The central ``coverage`` fraction of (N,S,S,C) aligned faces resized to
    ``resolution``: what the model sees at conversion."""
    size = images.shape[1]
    side = max(1, round(size * coverage))
    start = (size - side) // 2
    crops = images[:, start:start + side, start:start + side]
    interp = cv2.INTER_AREA if side > resolution else cv2.INTER_CUBIC
    return np.stack([cv2.resize(c, (resolution, resolution), interpolation=interp).reshape(resolution, resolution, -1)
                     for c in crops])


def to_model_range(images: np.ndarray) -> np.ndarray:
    """(N,H,W,3) 0..255 to (N,3,H,W) float32 in [-1, 1]."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 127.5 - 1.0


class BatchSource:
    """Augmented batches of ``faceset`` for identity number ``identity`` (0 = A, 1 = B).

    ``color_pool`` lists the face sets whose colours ``color_match`` may borrow
    (faceswap-GAN matches against faces of both identities).
    """

    def __init__(self, faceset: FaceSet, config: TrainConfig, identity: int,
                 color_pool: list[FaceSet] | None = None):
        self.faceset = faceset
        self.config = config
        self.identity = identity
        self.color_pool = color_pool or [faceset]
        self.batch_size = config.batch_size
        self._orders: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def _order(self, epoch: int) -> np.ndarray:
        with self._lock:  # worker threads share the cache
            if epoch not in self._orders:
                if len(self._orders) > 4:  # batches in flight span at most two epochs
                    self._orders.pop(min(self._orders))
                rng = np.random.default_rng([self.config.seed, self.identity, 7, epoch])
                self._orders[epoch] = rng.permutation(len(self.faceset))
            return self._orders[epoch]

    def indices(self, k: int) -> np.ndarray:
        """Face indices of batch ``k``: consecutive slices of per-epoch shuffles."""
        n = len(self.faceset)
        positions = np.arange(k * self.batch_size, (k + 1) * self.batch_size)
        return np.array([self._order(int(p // n))[p % n] for p in positions])

    def _sample(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cfg = self.config
        rgb = self.faceset.images[index].astype(np.float32)
        if rng.random() < cfg.color_match_prob:
            pool = self.color_pool[rng.integers(len(self.color_pool))]
            rgb = augment.color_match(rgb, pool.images[rng.integers(len(pool))].astype(np.float32))
        image = np.concatenate([rgb, self.faceset.eye_masks[index, ..., None].astype(np.float32)], axis=-1)
        image = augment.random_transform(image, rng, cfg.rotation_range, cfg.zoom_range, cfg.shift_range,
                                         cfg.flip_prob)
        warped, target = augment.random_warp(image, rng, cfg.model.resolution, cfg.model.coverage)
        warped, target, eyes = warped[..., :3], target[..., :3], target[..., 3]
        if rng.random() < cfg.motion_blur_prob:
            warped, target = augment.motion_blur([warped, target], rng)
        return warped, target, eyes

    def batch(self, k: int) -> FaceBatch:
        """Batch number ``k`` (deterministic)."""
        rng = np.random.default_rng([self.config.seed, self.identity, k])
        warped, target, eyes = zip(*(self._sample(i, rng) for i in self.indices(k)))
        eyes = (np.stack(eyes)[:, None] / 255.0).astype(np.float32)
        return FaceBatch(to_model_range(np.stack(warped)), to_model_range(np.stack(target)), eyes)

    def iterate(self, start: int = 0) -> Iterator[FaceBatch]:
        """Batches ``start, start+1, ...``, prepared ``workers`` ahead in threads
        (``workers=0``: in the caller's thread)."""
        workers = self.config.workers
        if workers == 0:
            k = start
            while True:
                yield self.batch(k)
                k += 1
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="faceswap-data") as pool:
            pending = deque(pool.submit(self.batch, k) for k in range(start, start + workers + 1))
            k = start + workers + 1
            try:
                while True:
                    batch = pending.popleft().result()
                    pending.append(pool.submit(self.batch, k))
                    k += 1
                    yield batch
            finally:
                for future in pending:
                    future.cancel()
