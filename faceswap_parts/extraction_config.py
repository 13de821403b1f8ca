"""The settings of an extraction (:class:`ExtractConfig`, the options of ``faceswap-parts extract``), in
a light module so that the CLI reads them without loading the extraction's libraries."""
from __future__ import annotations

from dataclasses import dataclass

from faceswap_parts.options import DETECT_EVERY, LANDMARK_BACKENDS, MIN_FACE
from faceswap_parts.settings import check_settings, setting


@dataclass
class ExtractConfig:
    """Settings of an extraction (the options of ``faceswap-parts extract``).

    Attributes:
        every: process every N-th frame.
        landmarks: 68-point backend for the eye masks (``auto``, ``fan``,
            ``dlib``, ``mtcnn``).
        min_face: skip faces whose box's shorter side is below this many pixels.
        detect_every: run the detector on every K-th processed frame and
            follow the faces with optical flow in between (1 = detect on
            every frame; see the module docstring).
        start, end: extract only the segment from ``start`` to ``end`` seconds
            (``None``: from the beginning, to the end). Frame numbers and
            times in ``faces.json`` and the file names stay those of the
            whole video, so segments extracted into different folders never
            share a name.
        max_frames: stop after reading this many video frames (of the segment).
        all_faces: keep every face of a frame, not only the largest.
        min_sharpness: skip faces whose :func:`sharpness` is below this (0 = keep all).
        size: side of the aligned crops and masks in pixels.
        overwrite: replace a previous extraction in ``out`` (only its own files).
        device: torch device for the detector (and the ``fan`` backend).
        batch_size: frames per detector call (a batch of frames read holds
            ``batch_size * detect_every`` frames).
        progress: show a ``tqdm`` progress bar.
    """

    every: int = setting(1, low=1, metavar="N", help="process every N-th frame")
    landmarks: str = setting("auto", choices=LANDMARK_BACKENDS,
                             help="68-point landmark backend for the eye masks (auto: fan > dlib > mtcnn)")
    min_face: int = setting(MIN_FACE, low=1, metavar="PX", help="skip faces whose box is smaller than this")
    detect_every: int = setting(DETECT_EVERY, low=1, metavar="K",
                                help="run the detector on every K-th processed frame, follow the faces with optical "
                                     "flow in between (1 = detect on every frame)")
    start: float | None = setting(None, kind=float, metavar="S", help="start at S seconds (default: 0)")
    end: float | None = setting(None, kind=float, metavar="S", help="stop at S seconds (default: the end)")
    max_frames: int | None = setting(None, kind=int, low=1, metavar="N", help="stop after N video frames")
    all_faces: bool = setting(False, help="keep every face of a frame, not only the largest")
    min_sharpness: float = setting(0.0, low=0, metavar="X", help="skip blurry faces: variance of the Laplacian "
                                   "below X (0 = keep all; blurry ~20, sharp 100+)")
    size: int = setting(256, low=32, metavar="PX", help="aligned face size")
    overwrite: bool = setting(False, help="replace a previous extraction in DIR (only files its faces.json lists)")
    device: str = setting("auto", help="torch device: auto, cpu, cuda")
    batch_size: int = setting(16, low=1, metavar="N", help="frames per detector call")
    progress: bool = setting(True, cli=False)

    def __post_init__(self):
        check_settings(self)
