"""Pairing each swapped frame with the original frame nearest in time, so
videos of different length or frame rate can still be compared."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from faceswap_parts.errors import FaceswapError
from faceswap_parts.io.video import VideoReader


@dataclass
class FramePair:
    """A sampled swapped frame and the original frame nearest to it in time."""

    swapped_index: int
    original_index: int
    time: float
    original: np.ndarray
    swapped: np.ndarray


def paired_frames(original: str, swapped: str, every: int = 1, max_frames: int | None = None,
                  start: float = 0.0) -> Iterator[FramePair]:
    """Yield :class:`FramePair` for every ``every``-th swapped frame (at most
    ``max_frames`` pairs).

    ``start``: the second of the original where the swapped video begins (the
    ``--start`` a segment was converted with). ``FramePair.time`` and
    ``original_index`` are then those of the whole original video. Stops
    where the original ends; raises :class:`FaceswapError` when the two
    videos do not overlap at all."""
    if every < 1:
        raise FaceswapError(f"--every must be >= 1, got {every}")
    if max_frames is not None and max_frames < 1:
        raise FaceswapError(f"--max-frames must be >= 1, got {max_frames}")
    swapped_reader = VideoReader(swapped, max_frames=None if max_frames is None else (max_frames - 1) * every + 1)
    original_reader = VideoReader(original, start=start)
    half_frame = 0.5 / original_reader.fps
    originals = iter(original_reader)
    prev = next(originals, None)
    nxt = next(originals, None)
    yielded = 0
    for index, time, frame in swapped_reader:
        if index % every:
            continue
        time += original_reader.start
        # advance while the next original frame is at least as close in time
        while nxt is not None and abs(nxt[1] - time) <= abs(prev[1] - time):
            prev, nxt = nxt, next(originals, None)
        if prev is None or time > prev[1] + half_frame + 1e-6:
            break  # the original has ended
        yield FramePair(index, original_reader.start_index + prev[0], time, prev[2], frame)
        yielded += 1
    if not yielded:
        raise FaceswapError(f"{swapped} and {original} do not overlap in time: nothing to compare")
