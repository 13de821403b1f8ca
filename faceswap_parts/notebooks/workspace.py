"""Where a notebook runs and keeps its files: Colab detection, the workspace
on Google Drive (or a local folder), the environment report, and one-line
errors in cells."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from faceswap_parts.errors import FaceswapError

DRIVE_MOUNTPOINT = "/content/drive"
#: Colab's local disk (fast) for datasets copied off Drive during training.
COLAB_LOCAL_ROOT = "/content/faceswap_local"


def in_colab() -> bool:
    """True when running inside a Google Colab runtime."""
    try:
        import google.colab  # noqa: F401
    except ImportError:
        return False
    return True


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
