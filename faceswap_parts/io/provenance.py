"""The tag every converted video and image carries: it says that the file is
synthetic, and which tool, version and model made it.

Written where each format keeps text, so that common tools show it:

* MP4 / MOV / MKV: the container's ``comment`` and ``description`` tags
  (ffmpeg's ``-metadata``; ``ffprobe``, VLC and most players list them),
  plus ``synthetic_media`` with the record as JSON;
* PNG: ``tEXt`` chunks ``Description`` and ``synthetic_media`` (Pillow);
* JPEG and WebP: EXIF ``ImageDescription``, ``Software`` and ``UserComment``.

:func:`read_tag` reads any of them back (``faceswap-parts inspect``). A
metadata tag is easy to strip; it marks honest output, it cannot prove that
a file without one is real.
"""
from __future__ import annotations

import datetime
import io
import json
import os
import subprocess
from pathlib import Path

from faceswap_parts.errors import FaceswapError

#: The name of the JSON record in every format; :func:`read_tag` looks for it.
KEY = "synthetic_media"
#: IPTC's digital source type for media made by a trained model (what C2PA and the EU AI Act's marking use).
SOURCE_TYPE = "trainedAlgorithmicMedia"
#: The same term as a URI in IPTC's vocabulary, as C2PA manifests spell it.
SOURCE_TYPE_URI = f"http://cv.iptc.org/newscodes/digitalsourcetype/{SOURCE_TYPE}"
#: EXIF tags: ImageDescription, Software, and UserComment in the Exif IFD.
_EXIF_DESCRIPTION, _EXIF_SOFTWARE, _EXIF_IFD, _EXIF_USER_COMMENT = 0x010E, 0x0131, 0x8769, 0x9286
#: Image formats whose files carry the tag; others (BMP, TIFF) are refused for converted output.
TAGGED_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def make_record(model=None, direction: str | None = None, label: str = "") -> dict:
    """The tag's record: synthetic, the tool and its version, when, and what
    is known of the model (its file, iteration and architecture)."""
    from faceswap_parts import __version__

    record = {"synthetic": True, "digital_source_type": SOURCE_TYPE, "tool": "faceswap-parts",
              "version": __version__,
              "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    source = getattr(model, "source", None) or {}
    config = getattr(model, "config", None)
    if source.get("file"):
        record["model"] = os.path.basename(os.path.dirname(source["file"])) or source["file"]
    if source.get("iteration") is not None:
        record["model_iteration"] = int(source["iteration"])
    if config is not None:
        record["model_architecture"] = f"{config.resolution} px {config.capacity}"
    if direction:
        record["direction"] = direction
    if label:
        record["visible_label"] = label
    return record


def describe(record: dict) -> str:
    """The record as one sentence, for the tags people read."""
    model = record.get("model")
    made = f" with model {model}" if model else ""
    if record.get("model_iteration") is not None:
        made += f" (iteration {record['model_iteration']})"
    return (f"Synthetic media: faces replaced by {record.get('tool', 'an unknown tool')} "
            f"{record.get('version', '')}{made}. AI-generated ({record.get('digital_source_type', SOURCE_TYPE)}).")


def video_metadata_args(record: dict | None) -> list[str]:
    """ffmpeg output arguments that write the tag into the container (none for ``None``)."""
    if not record:
        return []
    text = describe(record)
    args = []
    for key, value in (("comment", text), ("description", text), (KEY, json.dumps(record, sort_keys=True))):
        args += ["-metadata", f"{key}={value}"]
    return args


def tagged_image_bytes(image, suffix: str, record: dict, jpeg_quality: int | None = None) -> bytes:
    """An RGB ``uint8`` image encoded as ``suffix`` with the tag inside."""
    from PIL import Image, PngImagePlugin

    suffix = suffix.lower()
    if suffix not in TAGGED_IMAGE_SUFFIXES:
        raise FaceswapError(f"{suffix} files cannot carry the synthetic-media tag that converted images get; "
                            f"write one of {', '.join(TAGGED_IMAGE_SUFFIXES)}")
    picture, out, text = Image.fromarray(image), io.BytesIO(), describe(record)
    if suffix == ".png":
        info = PngImagePlugin.PngInfo()
        info.add_text("Description", text)
        info.add_text("Software", f"{record['tool']} {record['version']}")
        info.add_text(KEY, json.dumps(record, sort_keys=True))
        picture.save(out, format="PNG", pnginfo=info)
    else:
        exif = Image.Exif()
        exif[_EXIF_DESCRIPTION] = text
        exif[_EXIF_SOFTWARE] = f"{record['tool']} {record['version']}"
        # UserComment starts with its character code: 8 bytes naming the encoding
        exif.get_ifd(_EXIF_IFD)[_EXIF_USER_COMMENT] = b"UNICODE\0" + json.dumps(record, sort_keys=True).encode("utf-16-be")
        options = {"quality": jpeg_quality or 95} if suffix in (".jpg", ".jpeg") else {"quality": jpeg_quality or 90}
        picture.save(out, format="JPEG" if suffix in (".jpg", ".jpeg") else "WEBP", exif=exif, **options)
    return out.getvalue()


def _video_tags(path: str) -> dict:
    """The container's global tags, read with ffmpeg's ``ffmetadata`` muxer."""
    from faceswap_parts.io.video import _ffmpeg

    done = subprocess.run([_ffmpeg(), "-v", "error", "-i", path, "-f", "ffmetadata", "-"], capture_output=True)
    if done.returncode != 0:
        raise FaceswapError(f"cannot read the tags of {path}: "
                            f"{(done.stderr.decode(errors='replace').strip().splitlines() or ['ffmpeg failed'])[-1]}")
    tags, lines = {}, done.stdout.decode("utf-8", errors="replace").splitlines()
    for line in lines[1:]:  # after ";FFMETADATA1"; a stream or chapter section ends the global tags
        if line.startswith("["):
            break
        key, sep, value = line.partition("=")
        if sep:  # ffmetadata escapes =;#\ and newlines with a backslash
            tags[key.lower()] = value.replace("\\=", "=").replace("\\;", ";").replace("\\#", "#").replace("\\\\", "\\")
    return tags


def _image_tags(path: str) -> dict:
    from PIL import Image

    with Image.open(path) as picture:
        tags = {k.lower(): v for k, v in getattr(picture, "text", {}).items()}
        exif = picture.getexif()
        if exif.get(_EXIF_DESCRIPTION):
            tags["description"] = exif[_EXIF_DESCRIPTION]
        comment = exif.get_ifd(_EXIF_IFD).get(_EXIF_USER_COMMENT)
        if isinstance(comment, bytes) and comment.startswith(b"UNICODE\0"):
            body = comment[8:]
            for encoding in ("utf-16-be", "utf-16-le"):  # readers disagree on the byte order
                text = body.decode(encoding, errors="replace")
                if text.startswith("{"):
                    tags[KEY] = text
                    break
        elif isinstance(comment, str) and comment.lstrip().startswith("{"):
            tags[KEY] = comment
    return tags


def read_tag(path: str | os.PathLike) -> dict | None:
    """The tag's record in a converted video or image, or ``None`` when the
    file carries none; an unreadable file raises :class:`FaceswapError`."""
    from faceswap_parts.io.images import is_image_file

    path = os.fspath(path)
    if not Path(path).is_file():
        raise FaceswapError(f"{path} does not exist or is not a file")
    try:
        tags = _image_tags(path) if is_image_file(path) else _video_tags(path)
    except OSError as err:
        raise FaceswapError(f"cannot read {path}: {err}") from None
    raw = tags.get(KEY)
    if raw:
        try:
            record = json.loads(raw)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            return record
    text = tags.get("description") or tags.get("comment") or ""
    return {"synthetic": True, "description": text} if text.startswith("Synthetic media:") else None
