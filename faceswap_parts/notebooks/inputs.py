"""The notebooks' input videos and face sets: sample clips, a path, a
browser upload or a Google Drive share link, each checked before use."""
from __future__ import annotations

import os
import re
from pathlib import Path

from faceswap_parts.errors import FaceswapError
from faceswap_parts.facesets.folder import has_faces
from faceswap_parts.io.files import atomic_path
from faceswap_parts.notebooks.workspace import Workspace, in_colab

#: The real sample clips beside the project root (tests and local demos only).
SAMPLE_VIDEOS = ("../shared/data/videos/person_a_3s.mp4", "../shared/data/videos/person_b_3s.mp4")


def check_video(path: str | os.PathLike):
    """Probe a video and return its :class:`~faceswap_parts.io.video.VideoInfo`;
    anything that is not a readable video raises a :class:`FaceswapError`
    that says what to do."""
    from faceswap_parts.io.video import probe

    path = Path(path)
    try:
        return probe(path)
    except FaceswapError as err:
        raise FaceswapError(f"{err} -- choose a video file (e.g. .mp4) with a face in it") from None


_DRIVE_ID = re.compile(r"^[\w-]{25,}$")
_DRIVE_LINK = re.compile(r"(?:drive|docs)\.google\.com/.*?(?:/d/|[?&]id=)([\w-]{25,})")


def drive_file_id(source: str) -> str | None:
    """The file ID in a Google Drive share link (or a bare ID); ``None`` otherwise."""
    source = source.strip()
    match = _DRIVE_LINK.search(source)
    if match:
        return match.group(1)
    if _DRIVE_ID.match(source) and not os.path.exists(source):
        return source
    return None


def download_from_drive_link(source: str, dest_dir: str | os.PathLike, name: str) -> Path:
    """Fetch a publicly shared Google Drive file with ``gdown``; a failure
    (no network, private file, wrong link) raises a :class:`FaceswapError`."""
    file_id = drive_file_id(source)
    if file_id is None:
        raise FaceswapError(f"not a Google Drive share link or file ID: {source!r}")
    import gdown

    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / name
    with atomic_path(target) as partial:  # a failed download leaves nothing under the video's name
        try:
            result = gdown.download(id=file_id, output=str(partial), quiet=True)
            reason = "no file came back"
        except Exception as err:  # noqa: BLE001 - gdown raises many types (network, permission, HTML page)
            result = None
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if not result or not partial.is_file():
            raise FaceswapError(f"could not download Google Drive file {file_id} ({reason}); check the network and "
                                "that the file is shared as 'Anyone with the link', or upload the video instead")
    return target


def sample_videos(workspace: Workspace | None = None) -> tuple[Path, Path]:
    """The default input pair: the real 3 s sample clips at
    ``$FACESWAP_SHARED_DATA/videos`` or ``../shared/data/videos`` when present, else the demo's synthetic clips
    (made in ``<workspace>/inputs/synthetic``)."""
    # Notebooks run with their own folder as the working directory: colab/ is one level deeper.
    pairs = [tuple(Path(p) for p in SAMPLE_VIDEOS), tuple(Path("..") / p for p in SAMPLE_VIDEOS)]
    if os.environ.get("FACESWAP_SHARED_DATA"):  # the same override the test suite honours
        pairs.insert(0, tuple(Path(os.environ["FACESWAP_SHARED_DATA"]) / "videos" / Path(p).name
                              for p in SAMPLE_VIDEOS))
    for a, b in pairs:
        if a.is_file() and b.is_file():
            return a, b
    from faceswap_parts.demo import make_demo_clips

    folder = (workspace.root if workspace else Path("workspace")) / "inputs" / "synthetic"
    return make_demo_clips(folder)


def upload_video(dest_dir: str | os.PathLike, name: str) -> Path:
    """Ask for a file through the browser (Colab only) and save it as ``dest_dir/name``."""
    if not in_colab():
        raise FaceswapError("browser upload works only in Colab; give a file path instead")
    from google.colab import files

    uploaded = files.upload()
    if not uploaded:
        raise FaceswapError("no file was uploaded; run the cell again and pick a video")
    filename, data = next(iter(uploaded.items()))
    suffix = Path(filename).suffix.lower() or ".mp4"
    target = Path(dest_dir) / (Path(name).stem + suffix)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def get_video(source: str, dest_dir: str | os.PathLike, name: str, default: str | os.PathLike | None = None) -> Path:
    """Resolve one input video and check that it is readable.

    ``source`` is one of: ``""`` (use ``default``), ``"upload"`` (browser
    upload, Colab only), a file path (e.g. on the mounted Drive), or a Google
    Drive share link / file ID (downloaded with gdown into ``dest_dir``).
    Returns the video's path; prints what it used.
    """
    source = (source or "").strip()
    if not source:
        if default is None:
            raise FaceswapError(f"no video given for {name}: set a path, 'upload' or a Google Drive link")
        path = Path(default)
    elif source.lower() == "upload":
        path = upload_video(dest_dir, name)
    elif os.path.exists(source):
        path = Path(source)
    elif drive_file_id(source):
        path = download_from_drive_link(source, dest_dir, name)
    else:
        hint = (" (is Google Drive mounted? paths look like /content/drive/MyDrive/folder/video.mp4)"
                if "drive" in source.lower() else "")
        raise FaceswapError(f"video not found: {source}{hint}; give an existing path, 'upload' or a Drive share link")
    info = check_video(path)
    print(f"{name}: {path} ({info.size[0]}x{info.size[1]}, {info.fps:.3g} fps, {info.duration:.1f} s)")
    return path


def face_sets(workspace: Workspace, faces_a: str = "", faces_b: str = "",
              max_frames: int | None = None) -> dict[str, Path]:
    """The two face-set folders for training: the given ones (checked), or
    ``faces/person_a`` and ``faces/person_b`` in the workspace, extracted from
    the sample clips when they hold no faces yet."""
    result, samples = {}, None
    for i, (label, given) in enumerate((("person_a", faces_a), ("person_b", faces_b))):
        if given:
            folder = Path(given)
            if not folder.is_dir():
                raise FaceswapError(f"face folder not found: {given} (is Google Drive mounted? is the path right?)")
            if not has_faces(folder):
                raise FaceswapError(f"no face images in {given}: give a folder written by the extraction notebook")
        else:
            folder = workspace.path("faces", label)
            if not has_faces(folder):
                from faceswap_parts.extraction import extract_video

                samples = samples or sample_videos(workspace)
                print(f"{label}: no face set given, extracting the sample clip {samples[i]}")
                extract_video(samples[i], folder, max_frames=max_frames, overwrite=True, progress=False)
        print(f"{label}: faces from {folder}")
        result[label] = folder
    return result
