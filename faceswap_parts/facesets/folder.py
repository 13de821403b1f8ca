"""The face-set folder that ``extract`` writes and training reads.

Layout (interface 5)::

    DIR/faces.json                 what was extracted, one record per face
    DIR/aligned_faces/<name>.png   256x256 crops at coverage 1.0
    DIR/binary_masks_eyes/<name>.png   0/255 masks, same names and size
    DIR/binary_masks_<part>/<name>.png (written by ``masks``)
    DIR/raw_faces/<name>.jpg       unaligned square crops around the box

``<name>`` is ``<video stem>_<frame:06d>_<k>`` (``k`` numbers the faces kept
in that frame, largest first), so sets from several videos can be merged.

Safety: this module never deletes a file that ``faces.json`` does not list as
this tool's output. A non-empty folder is refused unless ``overwrite`` is
given, and even then files of unknown origin inside the tool's sub-folders
make it refuse rather than mix with (or delete) the user's data.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from faceswap_parts.errors import FaceswapError
from faceswap_parts.io.files import atomic_path

FACES_JSON = "faces.json"
ALIGNED_DIR = "aligned_faces"
RAW_DIR = "raw_faces"
MASK_DIR_PREFIX = "binary_masks_"
#: Written into faces.json so a later run can tell its own folders from the user's.
TOOL = "faceswap-parts"


def mask_dir(part: str) -> str:
    """Sub-folder name of a part's masks (``eyes`` -> ``binary_masks_eyes``)."""
    return f"{MASK_DIR_PREFIX}{part}"


def queue_part_masks(writer, folder: Path, stem: str, landmarks68, shape: tuple[int, int],
                     groups: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Queue on ``writer`` (a :class:`~faceswap_parts.io.background.BackgroundWriter`) the binary part masks
    of one face, drawn from its 68 landmarks at ``shape``: ``binary_masks_<name>/<stem>.png`` for each
    ``name: parts`` of ``groups``. Returns ``{name: path relative to folder}``, as ``faces.json`` lists them.
    Extraction (its eye masks) and the ``masks`` stage both write masks this way."""
    from faceswap_parts.faces.masks import parts_mask, to_uint8
    from faceswap_parts.io.images import write_image

    files = {}
    for name, parts in groups.items():
        files[name] = f"{mask_dir(name)}/{stem}.png"
        writer.submit(write_image, Path(folder) / files[name], to_uint8(parts_mask(landmarks68, shape, parts, binary=True)))
    return files


def face_name(stem: str, frame: int, k: int) -> str:
    """File stem for the ``k``-th face kept in ``frame`` of the video ``stem``."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_") or "video"
    return f"{stem}_{frame:06d}_{k}"


@dataclass(frozen=True)
class FaceFolder:
    """Where a face folder given by the user keeps its images and masks.

    Three layouts are accepted: an ``extract`` output (``DIR/aligned_faces/``
    with ``DIR/binary_masks_<part>/``), its ``aligned_faces`` folder itself
    (masks in the sibling folders), or a plain folder of face images (no masks).
    """

    given: Path
    images_dir: Path
    #: the folder holding ``binary_masks_<part>/`` (None for a plain folder of images)
    masks_root: Path | None

    def mask_folder(self, part: str) -> Path | None:
        """The folder of ``part``'s masks, or None when there is none."""
        folder = self.masks_root / mask_dir(part) if self.masks_root is not None else None
        return folder if folder is not None and folder.is_dir() else None

    def images(self) -> list[Path]:
        """The image files of the face folder, sorted by name."""
        from faceswap_parts.io.images import list_images

        return list_images(self.images_dir)


def face_folder(folder: str | os.PathLike, label: str = "") -> FaceFolder:
    """Resolve a user-given face folder (see :class:`FaceFolder`); a missing
    path or a file raises a one-line :class:`FaceswapError`."""
    folder = Path(folder).expanduser()
    what = f"face folder {label} " if label else "face folder "
    if not folder.exists():
        raise FaceswapError(f"{what}not found: {folder} does not exist (give an extract output or a folder of face images)")
    if not folder.is_dir():
        raise FaceswapError(f"{what}{folder} is not a folder")
    if (folder / ALIGNED_DIR).is_dir():
        return FaceFolder(folder, folder / ALIGNED_DIR, folder)
    if folder.name == ALIGNED_DIR:
        return FaceFolder(folder, folder, folder.parent)
    return FaceFolder(folder, folder, None)


def shared_images(a: FaceFolder, b: FaceFolder) -> int:
    """How many of ``a``'s images are also ``b``'s: the same file (under any
    path or hard link) or the same bytes. Only files of equal size are read."""
    def stats(folder: FaceFolder) -> dict[Path, os.stat_result]:
        return {p: p.stat() for p in folder.images()}

    in_a, in_b = stats(a), stats(b)
    same_file = {(st.st_dev, st.st_ino) for st in in_b.values()}
    by_size: dict[int, list[Path]] = {}
    for path, st in in_b.items():
        by_size.setdefault(st.st_size, []).append(path)
    digests: dict[Path, bytes] = {}

    def digest(path: Path) -> bytes:
        if path not in digests:
            digests[path] = hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
        return digests[path]

    count = 0
    for path, st in in_a.items():
        if (st.st_dev, st.st_ino) in same_file:
            count += 1
        elif any(digest(path) == digest(other) for other in by_size.get(st.st_size, ())):
            count += 1
    return count


def check_two_people(a_dir: str | os.PathLike, b_dir: str | os.PathLike) -> None:
    """Refuse face folders A and B that read the same images (one folder given
    twice, under any path or layout); warn when their images overlap in part."""
    import warnings

    from faceswap_parts.errors import FaceswapWarning

    a, b = face_folder(a_dir, "A"), face_folder(b_dir, "B")
    if a.images_dir.resolve() == b.images_dir.resolve():
        raise FaceswapError(f"--a {a_dir} and --b {b_dir} are the same faces ({a.images_dir.resolve()}); "
                            "give the faces of two people")
    shared = shared_images(a, b)
    if shared:
        warnings.warn(f"{shared} of A's {len(a.images())} face images are also among B's (same file or same "
                      f"content): A ({a_dir}) and B ({b_dir}) should be two different people", FaceswapWarning,
                      stacklevel=2)


def check_apart(workdir: str | os.PathLike, face_dirs) -> None:
    """Refuse a training workdir that is, or lies inside, one of ``face_dirs``
    (its previews would be read back as faces on the next start), or that
    holds one of them."""
    work = Path(workdir).expanduser().resolve()
    for given in face_dirs:
        if not Path(given).expanduser().is_dir():
            continue  # loading the faces says what is wrong with it, naming A or B
        folder = face_folder(given)
        for place in {folder.given.resolve(), folder.images_dir.resolve()}:
            if work == place or place in work.parents:
                raise FaceswapError(f"--workdir {workdir} is inside the face folder {given}: its previews would be "
                                    "read as faces; give a workdir outside the face folders")
            if work in place.parents:
                raise FaceswapError(f"the face folder {given} is inside --workdir {workdir}; keep face folders "
                                    "and workdirs apart")


def has_faces(folder: str | os.PathLike) -> bool:
    """True when ``folder`` is a face folder (any layout) holding images."""
    try:
        return bool(face_folder(folder).images())
    except FaceswapError:
        return False


def _is_own_dir(name: str) -> bool:
    return name in (ALIGNED_DIR, RAW_DIR) or name.startswith(MASK_DIR_PREFIX)


def read_faces_json(folder: str | os.PathLike) -> dict:
    """The parsed ``faces.json`` of a face-set folder; FaceswapError when absent or damaged."""
    path = Path(folder) / FACES_JSON
    if not path.is_file():
        raise FaceswapError(f"{path} not found: {folder} is not a folder written by 'faceswap-parts extract'")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FaceswapError(f"cannot read {path}: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("faces"), list):
        raise FaceswapError(f"{path} is not a faceswap-parts face list (no 'faces' entry)")
    return data


def write_faces_json(folder: str | os.PathLike, data: dict) -> Path:
    """Write ``faces.json`` atomically (a crash never leaves half a file)."""
    path = Path(folder) / FACES_JSON
    data = {"tool": TOOL, **data}
    faces = data.pop("faces", [])
    # One line per face: readable, diffable, and a fraction of the indented size.
    head = json.dumps(data, indent=1)[:-2]
    body = ",\n".join("  " + json.dumps(face) for face in faces)
    with atomic_path(path) as tmp:
        tmp.write_text(f'{head},\n "faces": [\n{body}\n ]\n}}\n', encoding="utf-8")
    return path


def rounded(array, digits: int = 2) -> list:
    """An array as nested lists of floats rounded to ``digits`` (how ``faces.json`` stores geometry)."""
    import numpy as np

    return np.round(np.asarray(array, dtype=np.float64), digits).tolist()


def own_files(folder: str | os.PathLike, data: dict) -> set[Path]:
    """Every file ``faces.json`` says this tool wrote in ``folder``: those it
    lists, and, in the tool's sub-folders, every file named after the video
    it records (``name_stem``, written before the first face): what an
    extraction killed or stopped by a full disk wrote before it could list it."""
    folder = Path(folder)
    files = {folder / FACES_JSON}
    stem = data.get("name_stem")
    if isinstance(stem, str) and stem:
        pattern = re.compile(re.escape(stem) + r"_\d{6}_\d+\.(png|jpg)")
        for sub in folder.iterdir():
            if sub.is_dir() and _is_own_dir(sub.name):
                files.update(p for p in sub.iterdir() if p.is_file() and pattern.fullmatch(p.name))
    for face in data.get("faces", []):
        for key, value in face.items():
            if key.endswith("file") and isinstance(value, str) and "/" in value:
                files.add(folder / value)
        for value in (face.get("masks") or {}).values():
            files.add(folder / value)
    return files


def _foreign_files(folder: Path, own: set[Path]) -> list[Path]:
    """Files inside the tool's sub-folders that faces.json does not list."""
    foreign = []
    for sub in folder.iterdir():
        if sub.is_dir() and _is_own_dir(sub.name):
            foreign.extend(p for p in sorted(sub.rglob("*")) if not p.is_dir() and p not in own)
    return foreign


def _holds_nothing(folder: Path) -> bool:
    """True for what a run that found no face leaves: an empty face list and empty sub-folders."""
    entries = list(folder.iterdir())
    if not (folder / FACES_JSON).is_file():
        return False
    try:
        if read_faces_json(folder)["faces"]:
            return False
    except FaceswapError:
        return False
    return all(p.name == FACES_JSON or (p.is_dir() and _is_own_dir(p.name) and not any(p.iterdir()))
               for p in entries)


def interrupted(folder: str | os.PathLike, video: str | os.PathLike) -> bool:
    """True when ``folder`` holds an extraction of ``video`` that did not finish
    (killed, or stopped by a full disk): running it again restarts it."""
    try:
        data = read_faces_json(folder)
    except FaceswapError:
        return False
    summary = data.get("summary") or {}
    return data.get("video") == os.fspath(Path(video).resolve()) and summary.get("complete") is False


def prepare_output(folder: str | os.PathLike, overwrite: bool = False, parts=("eyes",),
                   video: str | os.PathLike | None = None) -> Path:
    """Make ``folder`` ready for a new extraction and return it.

    A missing or empty folder (or one left by a run that found no face) is
    used as is. A non-empty one is refused without ``overwrite``, unless it
    holds an :func:`interrupted` extraction of the same ``video``; with it,
    the previous extraction's files (:func:`own_files`) are deleted and
    everything else is left alone, unless the tool's sub-folders hold files
    it did not write, which is refused.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise FaceswapError(f"output path {folder} is a file; give a folder")
    if folder.is_dir() and any(folder.iterdir()) and not _holds_nothing(folder):
        if not overwrite and not (video is not None and interrupted(folder, video)):
            raise FaceswapError(f"output folder {folder} is not empty; choose a new folder, or pass --overwrite "
                                "to replace a previous extraction there (other files are never deleted)")
        own: set[Path] = set()
        if (folder / FACES_JSON).exists():
            own = own_files(folder, read_faces_json(folder))
        foreign = _foreign_files(folder, own)
        if foreign:
            example = foreign[0].relative_to(folder)
            raise FaceswapError(f"{folder} holds {len(foreign)} file(s) that faceswap-parts did not write "
                                f"(e.g. {example}); move them out or choose another output folder")
        for path in sorted(own):
            if path.is_file():
                path.unlink()
    for sub in (RAW_DIR, ALIGNED_DIR, *(mask_dir(p) for p in parts)):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return folder
