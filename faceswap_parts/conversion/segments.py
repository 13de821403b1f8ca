"""Converting a video as consecutive segments at once: where the segments start,
and running them in threads with a share of torch's CPU threads each.

On a CPU, two single-threaded pipelines keep two cores busier than one
pipeline whose detector and generator each use both (docs/conversion.md,
"Speed").
"""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Callable, TypeVar

from faceswap_parts.io.files import process_alive

#: frames each segment after the first tracks before its first frame, so its smoothing is warmed up at the join
SEGMENT_WARMUP_FRAMES = 30
#: the automatic ``workers`` splits a video only when every segment gets at least this many frames
MIN_SEGMENT_FRAMES = 150
#: a segment's extra work, in converted frames: decoding a frame before its start (to keep frame
#: numbers exact; ffmpeg's seeking lands a frame off on the test videos) and tracking a
#: warm-up frame (measured: docs/conversion.md, "Speed")
SKIPPED_FRAME_COST, WARMUP_FRAME_COST = 1 / 25, 1 / 3

T = TypeVar("T")


def segment_starts(frames: int, workers: int) -> list[int]:
    """First frame of each of ``workers`` consecutive segments of ``frames``
    frames, later segments shorter by their extra work (skipped and warm-up
    frames, see :data:`SKIPPED_FRAME_COST`) so that all segments end together."""
    def starts_for(work: float) -> list[float]:  # where the segments start when each does ``work``
        starts = [0.0]
        for k in range(1, workers + 1):
            extra = 0.0 if k == 1 else SKIPPED_FRAME_COST * starts[-1] + WARMUP_FRAME_COST * SEGMENT_WARMUP_FRAMES
            starts.append(starts[-1] + max(work - extra, 1.0))
        return starts

    low, high = 0.0, float(frames)
    for _ in range(40):  # the end of the last segment grows with the work per segment
        mid = (low + high) / 2
        low, high = (mid, high) if starts_for(mid)[-1] < frames else (low, mid)
    return [min(round(start), frames) for start in starts_for(high)[:-1]]


def run_segments(work: Callable[[int, Callable[[int], None], threading.Event], T], workers: int,
              report: Callable[[int], None]) -> list[T]:
    """``[work(k, count, stop) for k in range(workers)]``, run at once in
    threads that share torch's CPU threads equally.

    ``work`` calls ``count(frames)`` as it goes and should return soon after
    ``stop`` is set; ``report(frames)`` runs in the calling thread with the
    frames counted since its last call. The first error of a segment (or
    Ctrl-C, or an error in ``report``) stops the others and is raised here.
    """
    import torch

    results: list = [None] * workers
    errors: list[BaseException] = []
    stop, lock, counted = threading.Event(), threading.Lock(), [0]

    def count(frames: int) -> None:
        with lock:
            counted[0] += frames

    def run(k: int) -> None:
        try:
            results[k] = work(k, count, stop)
        except BaseException as err:  # noqa: BLE001 - raised in the calling thread
            errors.append(err)
            stop.set()

    threads = [threading.Thread(target=run, args=(k,), daemon=True, name=f"faceswap-segment-{k}")
               for k in range(workers)]
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(max(1, torch_threads // workers))
    shown = 0
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.2)
                with lock:
                    new = counted[0] - shown
                if new:
                    shown += new
                    report(new)
    except BaseException:
        stop.set()  # the segments finish their batch, then return
        for thread in threads:
            thread.join()
        raise
    finally:
        torch.set_num_threads(torch_threads)
    if errors:
        raise errors[0]
    if counted[0] > shown:
        report(counted[0] - shown)
    return results


#: temporary folders of a conversion's segments: ``<prefix><pid>-<random>`` in the temp dir
SEGMENT_FOLDER_PREFIX = "faceswap-parts-convert-"


def remove_stale_segment_folders(root: str | os.PathLike | None = None) -> list[Path]:
    """Delete segment folders whose conversion process no longer runs (a kill -9
    leaves them, with whole video segments inside); returns what was removed."""
    import shutil
    import tempfile

    removed = []
    for folder in Path(root or tempfile.gettempdir()).glob(f"{SEGMENT_FOLDER_PREFIX}*-*"):
        match = re.fullmatch(rf"{SEGMENT_FOLDER_PREFIX}(\d+)-.+", folder.name)
        if not match or not folder.is_dir() or process_alive(int(match.group(1))):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed
