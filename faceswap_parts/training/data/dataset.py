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
import torch

from faceswap_parts.config import TrainConfig
from faceswap_parts.training.data import augment
from faceswap_parts.facesets.loading import FaceSet
from faceswap_parts.options import LOSS_PARTS


@dataclass
class FaceBatch:
    """``warped`` and ``target`` (N,3,R,R) float32 in [-1, 1]; ``eyes`` (N,1,R,R) in [0, 1];
    ``parts`` (N,K,R,R) in [0, 1], the masks of the source's ``loss_parts`` (K may be 0).
    numpy arrays from the CPU path, tensors on the training device from :mod:`~faceswap_parts.training.data.augment_torch`."""

    warped: np.ndarray | torch.Tensor
    target: np.ndarray | torch.Tensor
    eyes: np.ndarray | torch.Tensor
    parts: np.ndarray | torch.Tensor


@dataclass
class SampleDraws:
    """One sample's random draws: which face, and every augmentation parameter.
    The CPU path and the batched tensor path apply the same draws."""

    index: int
    color_ref: tuple[int, int] | None  # (face set of the pool, face) whose colours to take, or None
    transform: np.ndarray  # 2x3 rotation/zoom/shift of the 256 px face
    flip: bool
    grid: np.ndarray  # (2,5,5) jittered warp grid
    target_matrix: np.ndarray  # 2x3 similarity of the target crop
    blur: np.ndarray | None  # motion-blur kernel, or None
    lookalike: int | None = None  # rank of the look-alike whose parts replace this face's, or None


@dataclass
class RawBatch:
    """A batch before augmentation, as host tensors (pinned for an asynchronous
    copy when training on CUDA) plus its draws as arrays: what the GPU path
    uploads. ``images`` (N,S,S,3) and ``masks`` (N,S,S,1+K: eyes, then the loss parts) uint8; ``ref_stats``
    (N,2,3) the colour reference's channel means and standard deviations."""

    images: torch.Tensor
    masks: torch.Tensor
    has_ref: torch.Tensor
    ref_stats: torch.Tensor
    transform_inv: torch.Tensor
    flip: torch.Tensor
    grid: torch.Tensor
    target_inv: torch.Tensor
    blur: torch.Tensor  # (N,MAX_BLUR,MAX_BLUR), a centred delta where a sample is not blurred

    def to(self, device: torch.device) -> "RawBatch":
        return RawBatch(**{k: v.to(device, non_blocking=True) for k, v in vars(self).items()})


def to_model_range(images: np.ndarray) -> np.ndarray:
    """(N,H,W,3) 0..255 to (N,3,H,W) float32 in [-1, 1]."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 127.5 - 1.0


class BatchSource:
    """Augmented batches of ``faceset`` for identity number ``identity`` (0 = A, 1 = B).

    ``color_pool`` lists the face sets whose colours ``color_match`` may borrow
    (faceswap-GAN matches against faces of both identities). ``shard`` =
    ``(rank, processes)``: with several training processes each takes its
    share of every global batch, the same faces and draws a single process
    would use, so the global batch does not depend on the process count.
    ``pin_memory``: :meth:`raw_batch` returns page-locked tensors (CUDA only).
    ``lookalike``: the identity's look-alike swapper for parts augmentation (None: off).
    """

    def __init__(self, faceset: FaceSet, config: TrainConfig, identity: int,
                 color_pool: list[FaceSet] | None = None, shard: tuple[int, int] = (0, 1),
                 pin_memory: bool = False, lookalike=None):
        self.faceset = faceset
        self.config = config
        self.identity = identity
        self.color_pool = color_pool or [faceset]
        self.batch_size = config.batch_size
        rank, processes = shard
        if processes < 1 or not 0 <= rank < processes or self.batch_size % processes:
            raise ValueError(f"cannot split batches of {self.batch_size} over {processes} processes (rank {rank})")
        self.local = slice(rank * self.batch_size // processes, (rank + 1) * self.batch_size // processes)
        self.pin_memory = pin_memory
        #: Look-alike parts augmentation's swapper for this identity, or None
        #: (:class:`~faceswap_parts.training.data.lookalike.LookalikeSwapper`).
        self.lookalike = lookalike
        #: Parts whose masks the batches carry: those with a loss weight and masks in this face set.
        self.loss_parts = tuple(p for p in LOSS_PARTS if getattr(config, f"w_{p}", 0) > 0 and p in faceset.part_masks)
        self._orders: dict[int, np.ndarray] = {}
        self._ref_stats: list[np.ndarray | None] = [None] * len(self.color_pool)
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
        """Face indices of global batch ``k``: consecutive slices of per-epoch shuffles."""
        n = len(self.faceset)
        positions = np.arange(k * self.batch_size, (k + 1) * self.batch_size)
        return np.array([self._order(int(p // n))[p % n] for p in positions])

    def draws(self, k: int) -> list[SampleDraws]:
        """Every sample's draws for global batch ``k`` (deterministic)."""
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, self.identity, k])
        size = self.faceset.images.shape[1]
        out = []
        for index in self.indices(k):
            color_ref = None
            if rng.random() < cfg.color_match_prob:
                pool = int(rng.integers(len(self.color_pool)))
                color_ref = (pool, int(rng.integers(len(self.color_pool[pool]))))
            transform, flip = augment.draw_transform(rng, size, size, cfg.rotation_range, cfg.zoom_range,
                                                     cfg.shift_range, cfg.flip_prob)
            grid, target_matrix = augment.draw_warp(rng, size, cfg.model.resolution, cfg.model.coverage)
            blur = augment.draw_blur(rng) if rng.random() < cfg.motion_blur_prob else None
            lookalike = None
            if self.lookalike is not None and cfg.parts_prob > 0 and rng.random() < cfg.parts_prob:  # no draw when off
                lookalike = int(rng.integers(self.lookalike.k))
            out.append(SampleDraws(int(index), color_ref, transform, flip, grid, target_matrix, blur, lookalike))
        return out

    def _sample(self, d: SampleDraws) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rgb = self._face(d).astype(np.float32)
        if d.color_ref is not None:
            pool, face = d.color_ref
            rgb = augment.color_match(rgb, self.color_pool[pool].images[face].astype(np.float32))
        masks = self._masks(np.array([d.index]))[0].astype(np.float32)
        # RGB and eye mask warped together as four channels (OpenCV's fast path, and the same pixels
        # whether or not part masks come along); part masks on their own, target side only.
        image = augment.apply_transform(np.concatenate([rgb, masks[..., :1]], axis=-1), d.transform, d.flip)
        resolution = self.config.model.resolution
        warped, target = augment.apply_warp(image, d.grid, d.target_matrix, resolution)
        warped, target, masks_out = warped[..., :3], target[..., :3], [target[..., 3:]]
        if masks.shape[-1] > 1:
            parts = augment.apply_transform(masks[..., 1:], d.transform, d.flip)
            parts = cv2.warpAffine(parts, d.target_matrix, (resolution, resolution), borderMode=cv2.BORDER_REPLICATE)
            masks_out.append(parts.reshape(resolution, resolution, -1))
        masks = np.concatenate(masks_out, axis=-1)
        if d.blur is not None:
            warped, target = augment.apply_blur([warped, target], d.blur)
        return warped, target, masks

    def _face(self, d: SampleDraws) -> np.ndarray:
        """The sample's face: its own, or with a look-alike's parts."""
        if d.lookalike is None:
            return self.faceset.images[d.index]
        return self.lookalike.image(d.index, d.lookalike)

    def _masks(self, index: np.ndarray) -> np.ndarray:
        """(n,S,S,1+K) uint8: the eye mask, then the loss parts' masks."""
        return np.stack([self.faceset.eye_masks[index], *(self.faceset.part_masks[p][index] for p in self.loss_parts)],
                        axis=-1)

    def batch(self, k: int) -> FaceBatch:
        """This process's share of batch ``k``, augmented on the CPU (deterministic)."""
        warped, target, masks = zip(*(self._sample(d) for d in self.draws(k)[self.local]))
        masks = (np.stack(masks).transpose(0, 3, 1, 2) / 255.0).astype(np.float32)
        return FaceBatch(to_model_range(np.stack(warped)), to_model_range(np.stack(target)),
                         np.ascontiguousarray(masks[:, :1]), np.ascontiguousarray(masks[:, 1:]))

    def _stats(self, pool: int) -> np.ndarray:
        """(N,2,3) channel means and standard deviations of a pool face set, computed once."""
        with self._lock:
            if self._ref_stats[pool] is None:
                # one face at a time: a float copy of the whole set would take 12 bytes a pixel
                self._ref_stats[pool] = np.array(
                    [[(im := face.astype(np.float32)).mean(axis=(0, 1)), im.std(axis=(0, 1))]
                     for face in self.color_pool[pool].images], np.float32).reshape(-1, 2, 3)
            return self._ref_stats[pool]

    def raw_batch(self, k: int) -> RawBatch:
        """This process's share of batch ``k`` before augmentation, with the
        same draws as :meth:`batch`, for :func:`~faceswap_parts.training.data.augment_torch.augment_batch`."""
        draws = self.draws(k)[self.local]
        index = np.array([d.index for d in draws])
        delta = np.zeros((augment.MAX_BLUR, augment.MAX_BLUR), np.float32)
        delta[augment.MAX_BLUR // 2, augment.MAX_BLUR // 2] = 1.0

        def blur_kernel(kernel):
            if kernel is None:
                return delta
            pad = (augment.MAX_BLUR - kernel.shape[0]) // 2
            return np.pad(kernel, pad)

        ref_stats = np.zeros((len(draws), 2, 3), np.float32)
        for i, d in enumerate(draws):
            if d.color_ref is not None:
                ref_stats[i] = self._stats(d.color_ref[0])[d.color_ref[1]]
        arrays = {
            "images": np.stack([self._face(d) for d in draws]) if any(d.lookalike is not None for d in draws)
            else self.faceset.images[index],
            "masks": self._masks(index),
            "has_ref": np.array([d.color_ref is not None for d in draws]), "ref_stats": ref_stats,
            "transform_inv": np.stack([cv2.invertAffineTransform(d.transform) for d in draws]).astype(np.float32),
            "flip": np.array([d.flip for d in draws]),
            "grid": np.stack([d.grid for d in draws]).astype(np.float32),
            "target_inv": np.stack([cv2.invertAffineTransform(d.target_matrix) for d in draws]).astype(np.float32),
            "blur": np.stack([blur_kernel(d.blur) for d in draws]).astype(np.float32),
        }
        tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
        if self.pin_memory:
            tensors = {k: v.pin_memory() for k, v in tensors.items()}
        return RawBatch(**tensors)

    def _pinned_batch(self, k: int) -> FaceBatch:
        batch = self.batch(k)
        return FaceBatch(*(torch.from_numpy(a).pin_memory() for a in (batch.warped, batch.target, batch.eyes,
                                                                       batch.parts)))

    def iterate(self, start: int = 0, raw: bool = False) -> Iterator[FaceBatch | RawBatch]:
        """Batches ``start, start+1, ...`` (augmented, or :class:`RawBatch` with
        ``raw``), prepared ``workers`` ahead in threads (``workers=0``: in the
        caller's thread)."""
        make = self.raw_batch if raw else self.batch
        if self.pin_memory and not raw:
            make = self._pinned_batch
        workers = self.config.workers
        if workers == 0:
            k = start
            while True:
                yield make(k)
                k += 1
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="faceswap-data") as pool:
            pending = deque(pool.submit(make, k) for k in range(start, start + workers + 1))
            k = start + workers + 1
            try:
                while True:
                    batch = pending.popleft().result()
                    pending.append(pool.submit(make, k))
                    k += 1
                    yield batch
            finally:
                for future in pending:
                    future.cancel()
