"""Work in background threads: reading ahead of a consumer, and writing
behind a producer. OpenCV, ffmpeg pipes and file writes release the GIL, so
these overlap with the torch work of the thread that feeds them."""
from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor


def prefetch(iterable: Iterable, depth: int = 2) -> Iterator:
    """Iterate ``iterable`` in a background thread, ``depth`` items ahead.

    Decoding video frames while the consumer runs the detector or the
    generator overlaps the two. An exception in the producer is re-raised in
    the consumer; leaving the loop early stops the producer.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for item in iterable:
                if not put(item):
                    return
            put(done)
        except BaseException as err:  # noqa: BLE001 - handed to the consumer
            put(err)

    thread = threading.Thread(target=work, daemon=True, name="faceswap-prefetch")
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


class BackgroundWriter:
    """Run writes (``submit(fn, *args)``) in ``workers`` threads, with at
    most ``max_pending`` queued (memory). With one worker the writes happen
    in submission order (video frames). A failed write is re-raised by the
    next ``submit`` or by ``close``; use it as a context manager or call
    ``close`` so every write is finished."""

    def __init__(self, workers: int = 1, max_pending: int = 64, name: str = "faceswap-writer"):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._pending: deque[Future] = deque()
        self._max = max_pending

    def submit(self, fn: Callable, *args) -> None:
        while self._pending and self._pending[0].done():
            self._pending.popleft().result()  # re-raises a failed write here
        self._pending.append(self._pool.submit(fn, *args))
        while len(self._pending) > self._max:
            self._pending.popleft().result()

    def close(self) -> None:
        """Wait for every write; re-raise the first that failed."""
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            for future in self._pending:
                future.cancel()
            self._pool.shutdown(wait=True)

    def __enter__(self) -> "BackgroundWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
