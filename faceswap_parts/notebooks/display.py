"""Showing results in a notebook: videos (embedded, downscaled when big),
images, face-set grids, downloads."""
from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

from faceswap_parts.errors import FaceswapError
from faceswap_parts.notebooks.inputs import check_video
from faceswap_parts.notebooks.workspace import in_colab


def preview_video(path: str | os.PathLike, max_side: int = 480, max_mb: float = 8.0) -> Path:
    """A browser-playable H.264 copy of ``path`` small enough to embed in a
    notebook: the file itself when it is small, else a downscaled re-encode
    written beside it as ``<name>.preview.mp4``."""
    from faceswap_parts.io.video import _ffmpeg

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

    from faceswap_parts.facesets.folder import ALIGNED_DIR, mask_dir
    from faceswap_parts.io.images import list_images, read_image, read_mask

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
