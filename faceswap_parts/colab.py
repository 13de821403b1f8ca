"""Setup helpers for the notebooks: Colab detection, the workspace folder on
Google Drive (or a local one), input videos (sample clips, a path, an upload,
a Drive share link), copying datasets to fast local disk, syncing the training
checkpoint back to Drive, and showing results inline.

Everything here also works outside Colab, so the notebooks run headless in CI.
"""
from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from faceswap_parts.errors import FaceswapError

DRIVE_MOUNTPOINT = "/content/drive"
#: Colab's local disk (fast) for datasets copied off Drive during training.
COLAB_LOCAL_ROOT = "/content/faceswap_local"
#: The real sample clips beside the project root (tests and local demos only).
SAMPLE_VIDEOS = ("../shared/data/videos/person_a_3s.mp4", "../shared/data/videos/person_b_3s.mp4")


def in_colab() -> bool:
    """True when running inside a Google Colab runtime."""
    try:
        import google.colab  # noqa: F401
    except ImportError:
        return False
    return True


def fast_mode() -> bool:
    """True when ``FACESWAP_FAST`` is set (``1``, or a number of training
    iterations): tiny settings for CI and smoke tests."""
    value = os.environ.get("FACESWAP_FAST", "").strip().lower()
    return value in ("1", "true", "yes", "on") or (value.isdigit() and int(value) > 0)


def fast_iterations(default: int = 2) -> int:
    """Iterations a fast-mode training cell runs: ``FACESWAP_FAST=N`` with
    N > 1 asks for N (long enough to click Stop in a browser test), anything
    else for ``default``."""
    value = os.environ.get("FACESWAP_FAST", "").strip()
    return int(value) if value.isdigit() and int(value) > 1 else default


def fast_model() -> dict:
    """The architecture fast mode trains: the smallest and quickest there is."""
    return {"resolution": 64, "capacity": "lite", "self_attention": False}


@dataclass
class Workspace:
    """Where a notebook keeps its files.

    ``root`` is persistent (a folder on Google Drive in Colab); ``local`` is
    fast scratch disk for datasets during training (the same folder outside
    Colab).
    """

    root: Path
    local: Path
    on_drive: bool

    def path(self, *parts: str) -> Path:
        """A folder under ``root``, created if needed."""
        folder = self.root.joinpath(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def local_path(self, *parts: str) -> Path:
        """A folder under ``local``, created if needed."""
        folder = self.local.joinpath(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def mount_drive(mountpoint: str = DRIVE_MOUNTPOINT) -> Path:
    """Mount Google Drive (Colab only; asks the user for permission once) and
    return the ``MyDrive`` folder."""
    if not in_colab():
        raise FaceswapError("Google Drive can only be mounted inside Colab; use a local folder instead")
    from google.colab import drive

    drive.mount(mountpoint)
    my_drive = Path(mountpoint) / "MyDrive"
    if not my_drive.is_dir():
        raise FaceswapError(f"Google Drive did not mount at {mountpoint}: re-run this cell and allow access")
    return my_drive


def setup_workspace(name: str = "faceswap-parts", use_drive: bool = True, local_root: str | os.PathLike = "workspace",
                    quiet: bool = False) -> Workspace:
    """Create the notebook's workspace and say where it is.

    In Colab with ``use_drive`` the workspace is ``MyDrive/<name>`` on Google
    Drive (mounted here), so training state survives a disconnected runtime;
    otherwise it is ``<local_root>/<name>`` relative to the current folder.
    """
    if not name or "/" in name or name in (".", ".."):
        raise FaceswapError(f"workspace name must be a plain folder name, got {name!r}")
    if in_colab() and use_drive:
        root = mount_drive() / name
        local = Path(COLAB_LOCAL_ROOT) / name
        on_drive = True
    else:
        root = Path(local_root) / name
        local = root
        on_drive = False
    root.mkdir(parents=True, exist_ok=True)
    local.mkdir(parents=True, exist_ok=True)
    if not quiet:
        if on_drive:
            print(f"Workspace on Google Drive: {root} (training state is kept here)")
        elif in_colab():
            print(f"Workspace on the Colab runtime's disk: {root.resolve()} -- it is LOST when the runtime "
                  "disconnects; set use_drive=True to keep your work on Google Drive")
        else:
            print(f"Not running in Colab: using the local workspace folder {root.resolve()}")
    return Workspace(root=root, local=local, on_drive=on_drive)


def environment_report(device: str = "auto") -> dict:
    """Print package versions and the compute device; warn loudly without a GPU.

    Returns the facts printed (``versions``, ``device``, ``gpu``).
    """
    import cv2
    import numpy
    import torch

    import faceswap_parts
    from faceswap_parts.device import resolve_device

    versions = {"faceswap-parts": faceswap_parts.__version__, "python": sys.version.split()[0],
                "torch": torch.__version__, "numpy": numpy.__version__, "opencv": cv2.__version__}
    try:  # the panel works on 7.x (Colab's page) and 8.x; say which one this runtime has
        import ipywidgets

        versions["ipywidgets"] = ipywidgets.__version__
    except ImportError:
        versions["ipywidgets"] = "not installed"
    for name, value in versions.items():
        print(f"{name:>15}: {value}")
    dev = resolve_device(device)
    gpu = dev.type in ("cuda", "mps")
    if dev.type == "cuda":
        print(f"{'device':>15}: {dev} ({torch.cuda.get_device_name(dev)})")
    else:
        print(f"{'device':>15}: {dev}")
    if not gpu:
        print("\n" + "!" * 78 + "\n!!  NO GPU: training on the CPU is very slow (hours for a usable model).\n"
              "!!  In Colab: Runtime > Change runtime type > Hardware accelerator: GPU, then run all cells again.\n"
              + "!" * 78)
    return {"versions": versions, "device": str(dev), "gpu": gpu}


def show_errors_briefly() -> None:
    """In IPython, show :class:`FaceswapError` as one red line instead of a
    traceback. The cell still fails, so "Run all" stops at the problem."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is None:  # plain Python
        return

    def handler(shell, etype, value, tb, tb_offset=None):
        stb = [f"\033[1;31mERROR: {value}\033[0m"]
        try:  # an "error" output (ename, evalue) with this one line as its traceback
            shell._showtraceback(etype, value, stb)
        except Exception:  # noqa: BLE001 - never hide the message itself
            print(stb[0], file=sys.stderr)
        return stb

    ip.set_custom_exc((FaceswapError,), handler)


# -- input videos -------------------------------------------------------------

def check_video(path: str | os.PathLike):
    """Probe a video and return its :class:`~faceswap_parts.video.VideoInfo`;
    anything that is not a readable video raises a :class:`FaceswapError`
    that says what to do."""
    from faceswap_parts.video import probe

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
    partial = target.with_name(target.name + ".part")
    try:
        result = gdown.download(id=file_id, output=str(partial), quiet=True)
    except Exception as err:  # noqa: BLE001 - gdown raises many types (network, permission, HTML page)
        result = None
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    else:
        reason = "no file came back"
    if not result or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise FaceswapError(f"could not download Google Drive file {file_id} ({reason}); check the network and that "
                            "the file is shared as 'Anyone with the link', or upload the video instead")
    os.replace(partial, target)
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


def has_faces(folder: str | os.PathLike) -> bool:
    """True when ``folder`` is a face set (``aligned_faces/``) or a folder of images."""
    from faceswap_parts.faceset import ALIGNED_DIR
    from faceswap_parts.images import list_images

    folder = Path(folder)
    for candidate in (folder / ALIGNED_DIR, folder):
        if candidate.is_dir() and list_images(candidate):
            return True
    return False


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


# -- Drive <-> local disk -----------------------------------------------------

def _up_to_date(src: Path, dst: Path) -> bool:
    if not dst.exists():
        return False
    a, b = src.stat(), dst.stat()
    return a.st_size == b.st_size and int(a.st_mtime) <= int(b.st_mtime)


def copy_to_local(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Copy a file or folder (e.g. a face set on Drive) to local disk, skipping
    files that are already there and up to date. Returns ``dst``.

    Reading thousands of small images from Drive during training is slow;
    copying once is not.
    """
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise FaceswapError(f"not found: {src}; check the path (is Google Drive mounted?)")
    if src.resolve() == dst.resolve():
        return dst
    files = [src] if src.is_file() else [p for p in src.rglob("*") if p.is_file()]
    for file in files:
        target = dst if src.is_file() else dst / file.relative_to(src)
        if _up_to_date(file, target):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target)
    return dst


def _copy_atomic(src: Path, dst: Path) -> None:
    """Copy so that ``dst`` is never half-written (a disconnect mid-copy
    leaves the previous file intact)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    partial = dst.with_name(dst.name + ".part")
    try:
        shutil.copy2(src, partial)
        os.replace(partial, dst)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


class CheckpointSync:
    """Keep a training workdir on fast local disk and its checkpoint on Drive.

    ``restore()`` copies the checkpoint from Drive to the local workdir before
    training (so running all cells again resumes); ``push()`` copies it back
    after each save. Copies are atomic, so an interrupted sync never damages
    the checkpoint on Drive. When both folders are the same (outside Colab)
    both are no-ops.
    """

    #: Copied to Drive after each save; the checkpoint last, so the files
    #: beside it are never newer than it (the trainer trims the loss history
    #: to the checkpoint's iteration on resume).
    FILES = ("loss_history.csv", "loss_curve.png", "preview_latest.png", "checkpoint.pt")
    #: Brought back to local disk to resume.
    RESUME_FILES = ("loss_history.csv", "checkpoint.pt")
    CHECKPOINT = "checkpoint.pt"

    def __init__(self, local_workdir: str | os.PathLike, drive_workdir: str | os.PathLike):
        self.local = Path(local_workdir)
        self.drive = Path(drive_workdir)
        self.local.mkdir(parents=True, exist_ok=True)
        self.drive.mkdir(parents=True, exist_ok=True)

    @property
    def same_place(self) -> bool:
        return self.local.resolve() == self.drive.resolve()

    def restore(self) -> bool:
        """Bring Drive's checkpoint (and loss history) to local disk when it is
        newer; True if there is a checkpoint to resume."""
        src, dst = self.drive / self.CHECKPOINT, self.local / self.CHECKPOINT
        if not self.same_place and src.is_file() and (not dst.is_file() or src.stat().st_mtime > dst.stat().st_mtime):
            for name in self.RESUME_FILES:
                if (self.drive / name).is_file():
                    _copy_atomic(self.drive / name, self.local / name)
        return dst.is_file()

    def push(self) -> bool:
        """Copy the checkpoint and the files beside it to Drive; False when there is no checkpoint yet."""
        if not (self.local / self.CHECKPOINT).is_file():
            return False
        if not self.same_place:
            for name in self.FILES:
                if (self.local / name).is_file():
                    _copy_atomic(self.local / name, self.drive / name)
        return True


# -- showing results ------------------------------------------------------------

def preview_video(path: str | os.PathLike, max_side: int = 480, max_mb: float = 8.0) -> Path:
    """A browser-playable H.264 copy of ``path`` small enough to embed in a
    notebook: the file itself when it is small, else a downscaled re-encode
    written beside it as ``<name>.preview.mp4``."""
    from faceswap_parts.video import _ffmpeg

    path = Path(path)
    info = check_video(path)
    if path.stat().st_size <= max_mb * 1e6 and max(info.size) <= max_side * 2:
        return path
    out = path.with_name(path.stem + ".preview.mp4")
    scale = f"scale='if(gt(iw,ih),min({max_side},iw),-2)':'if(gt(iw,ih),-2,min({max_side},ih))'"
    cmd = [_ffmpeg(), "-y", "-loglevel", "error", "-i", str(path), "-vf", scale + ",pad=ceil(iw/2)*2:ceil(ih/2)*2",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "28", "-preset", "veryfast", "-c:a", "aac",
           "-b:a", "96k", "-movflags", "+faststart", str(out)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise FaceswapError(f"could not make a preview of {path}: {result.stderr.strip().splitlines()[-1:]}")
    return out


def video_html(path: str | os.PathLike, width: int = 480) -> str:
    """An HTML ``<video>`` tag with the MP4 embedded as base64."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f'<video width="{width}" controls loop playsinline>'
            f'<source src="data:video/mp4;base64,{data}" type="video/mp4"></video>')


def show_video(path: str | os.PathLike, width: int = 480, max_mb: float = 8.0):
    """Display a video inline (downscaled preview for big files); returns the
    ``IPython.display.HTML`` object."""
    from IPython.display import HTML, display

    preview = preview_video(path, max_side=width, max_mb=max_mb)
    html = HTML(video_html(preview, width))
    display(html)
    return html


def show_image(path: str | os.PathLike, width: int | None = None):
    """Display an image file inline."""
    from IPython.display import Image, display

    if not Path(path).is_file():
        raise FaceswapError(f"image not found: {path}")
    image = Image(filename=str(path), width=width)
    display(image)
    return image


def offer_download(path: str | os.PathLike) -> None:
    """Offer a file for download: the browser download in Colab, a link elsewhere."""
    path = Path(path)
    if not path.is_file():
        raise FaceswapError(f"nothing to download: {path} does not exist")
    if in_colab():
        from google.colab import files

        files.download(str(path))
        return
    from IPython.display import FileLink, display

    display(FileLink(os.path.relpath(path)))


def face_grid(folder: str | os.PathLike, n: int = 8, mask_part: str | None = "eyes", size: int = 128):
    """A row of up to ``n`` aligned faces from a face-set folder (evenly
    spread over the set), each above its ``binary_masks_<mask_part>`` mask
    drawn as a red overlay. Returns an RGB uint8 image."""
    import cv2
    import numpy as np

    from faceswap_parts.faceset import ALIGNED_DIR, mask_dir
    from faceswap_parts.images import list_images, read_image, read_mask

    folder = Path(folder)
    faces_dir = folder / ALIGNED_DIR
    files = list_images(faces_dir) if faces_dir.is_dir() else []
    if not files:
        raise FaceswapError(f"no aligned faces in {faces_dir}; run the extraction cell first")
    picks = [files[i] for i in np.linspace(0, len(files) - 1, min(n, len(files))).round().astype(int)]
    tiles = []
    for path in picks:
        face = cv2.resize(read_image(path), (size, size), interpolation=cv2.INTER_AREA)
        column = [face]
        mask_path = folder / mask_dir(mask_part) / path.name if mask_part else None
        if mask_path is not None and mask_path.is_file():
            mask = cv2.resize(read_mask(mask_path), (size, size)) > 127
            overlay = face.copy()
            overlay[mask] = (0.5 * overlay[mask] + [127, 0, 0]).astype(np.uint8)
            column.append(overlay)
        tiles.append(np.concatenate(column, axis=0))
    height = max(t.shape[0] for t in tiles)
    tiles = [np.pad(t, ((0, height - t.shape[0]), (0, 2), (0, 0)), constant_values=255) for t in tiles]
    return np.concatenate(tiles, axis=1)
