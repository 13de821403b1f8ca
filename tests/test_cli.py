"""CLI entry points and device selection."""
import subprocess
import sys

import pytest
import torch

from faceswap_parts.cli import COMMANDS, main
from faceswap_parts.device import resolve_device
from faceswap_parts.errors import FaceswapError


def test_module_entry_point_lists_all_commands():
    out = subprocess.run([sys.executable, "-m", "faceswap_parts", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for name in COMMANDS:
        assert name in out.stdout


def test_errors_are_one_line(capsys, tmp_path):
    code = main(["extract", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "\n" not in err and "not found" in err


def test_resolve_device():
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(FaceswapError, match="no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(FaceswapError, match="unknown device"):
        resolve_device("tpu9")
