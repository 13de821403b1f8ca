"""Where a notebook runs and keeps its files: the runtime (hosted Colab, a
Colab page on a local runtime, Kaggle, Jupyter), the workspace on Google
Drive, in Kaggle's working folder or in a local folder, the environment
report, and one-line errors in cells."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from faceswap_parts.errors import FaceswapError
from faceswap_parts.options import RUNTIMES

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


def kaggle_input_root() -> Path:
    """Kaggle's read-only folder of attached datasets (``$FACESWAP_KAGGLE_INPUT`` to point elsewhere)."""
    return Path(os.environ.get("FACESWAP_KAGGLE_INPUT", "/kaggle/input"))


def kaggle_working_root() -> Path:
    """Kaggle's working folder, the one that persists (``$FACESWAP_KAGGLE_WORKING`` to point elsewhere)."""
    return Path(os.environ.get("FACESWAP_KAGGLE_WORKING", "/kaggle/working"))


def detect_runtime() -> str:
    """``colab`` (Google's hosted runtime: the ``google.colab`` module), ``kaggle``
    (its kernel variable, or both its folders), else ``jupyter``. A Colab page
    connected to a local runtime has no ``google.colab`` module: it reads as
    ``jupyter``, and the notebooks' ``RUNTIME`` field can name it ``colab-local``."""
    if in_colab():
        return "colab"
    if os.environ.get("KAGGLE_KERNEL_RUN_TYPE") or (kaggle_input_root().is_dir() and kaggle_working_root().is_dir()):
        return "kaggle"
    return "jupyter"


def resolve_runtime(runtime: str = "auto") -> str:
    """``runtime`` checked against :data:`~faceswap_parts.options.RUNTIMES`, ``auto`` detected."""
    if runtime not in RUNTIMES:
        raise FaceswapError(f"RUNTIME must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    if runtime == "auto":
        return detect_runtime()
    if runtime == "colab" and not in_colab():
        raise FaceswapError("RUNTIME is colab, but this is not Google's hosted Colab runtime (no google.colab "
                            "module); choose auto, or colab-local for a Colab page on your own runtime")
    return runtime


@dataclass
class Workspace:
    """Where a notebook keeps its files.

    ``root`` is persistent (a folder on Google Drive in Colab, under Kaggle's
    working folder on Kaggle); ``local`` is fast scratch disk for datasets
    during training (the same folder outside Colab). ``inputs`` is a read-only
    folder of the user's files where the runtime has one (Kaggle's datasets),
    else ``None``; ``runtime`` is what :func:`resolve_runtime` said.
    """

    root: Path
    local: Path
    on_drive: bool
    runtime: str = "jupyter"
    inputs: Path | None = None

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
                    quiet: bool = False, runtime: str = "auto") -> Workspace:
    """Create the notebook's workspace and say where it is and what persists.

    ``runtime`` (:data:`~faceswap_parts.options.RUNTIMES`, ``auto`` detected):

    * ``colab``: with ``use_drive`` the workspace is ``MyDrive/<name>`` on
      Google Drive (mounted here), so training state survives a disconnected
      runtime; without, the runtime's disk (lost when it disconnects);
    * ``kaggle``: ``<working>/<name>`` under Kaggle's working folder, the one
      that persists; the read-only datasets folder is ``inputs``;
    * ``colab-local`` and ``jupyter``: ``<local_root>/<name>`` relative to the
      current folder, on the user's own disk.
    """
    if not name or "/" in name or name in (".", ".."):
        raise FaceswapError(f"workspace name must be a plain folder name, got {name!r}")
    runtime = resolve_runtime(runtime)
    inputs = None
    if runtime == "colab" and use_drive:
        root, local, on_drive = mount_drive() / name, Path(COLAB_LOCAL_ROOT) / name, True
    elif runtime == "kaggle":
        root, on_drive = kaggle_working_root() / name, False
        local = root
        inputs = kaggle_input_root() if kaggle_input_root().is_dir() else None
    else:
        root, on_drive = Path(local_root) / name, False
        local = root
    root.mkdir(parents=True, exist_ok=True)
    local.mkdir(parents=True, exist_ok=True)
    if not quiet:
        print(_where(runtime, root, on_drive, inputs))
        if runtime == "colab-local":
            _check_widgets_for_the_colab_page()
    return Workspace(root=root, local=local, on_drive=on_drive, runtime=runtime, inputs=inputs)


def _where(runtime: str, root: Path, on_drive: bool, inputs: Path | None) -> str:
    if on_drive:
        return f"Workspace on Google Drive: {root} (training state is kept here)"
    if runtime == "colab":
        return (f"Workspace on the Colab runtime's disk: {root.resolve()} -- it is LOST when the runtime "
                "disconnects; set USE_DRIVE to keep your work on Google Drive")
    if runtime == "kaggle":
        found = f"; your datasets (read-only) are under {inputs}" if inputs else ""
        return (f"Kaggle: workspace {root.resolve()} in the working folder, which persists when the notebook's "
                f"Persistence setting keeps files (or as a saved version's output){found}")
    where = "the Colab page on your local runtime" if runtime == "colab-local" else "Jupyter"
    return f"Running under {where}: the workspace is the local folder {root.resolve()} (on your own disk)"


def _check_widgets_for_the_colab_page() -> None:
    """Colab's page renders ipywidgets 7 reliably, not 8: say so where a local runtime has 8."""
    try:
        import ipywidgets
    except ImportError:
        return
    if int(ipywidgets.__version__.split(".")[0]) >= 8:
        print(f"note: this runtime has ipywidgets {ipywidgets.__version__}; Colab's page renders 7.x reliably: "
              "if the training panel does not show, run  pip install 'ipywidgets>=7.6,<8'  and restart the kernel")


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
