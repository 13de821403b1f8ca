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
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert captured.err == f"faceswap-parts extract: error: video not found: {tmp_path / 'missing.mp4'}\n"
    assert not (tmp_path / "o").exists()  # refused before anything was written
    with pytest.raises(SystemExit) as exit_:
        main(["extract"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == ("faceswap-parts extract: error: the following arguments are required: video, "
                                       "--out (see faceswap-parts extract --help)\n")


def test_resolve_device():
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available() else "cpu")
    assert resolve_device("auto") == torch.device(expected)
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(FaceswapError, match="no CUDA GPU"):
            resolve_device("cuda")
    with pytest.raises(FaceswapError, match="unknown device"):
        resolve_device("tpu9")


def test_ci_runs_the_readme_setup_and_test_commands():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    first_block = re.search(r"```bash\n(.*?)```", (root / "README.md").read_text(), re.S).group(1).splitlines()
    setup, test_command, demo = first_block[:3]
    ci_lines = (root / ".ci" / "run").read_text().splitlines()
    assert setup in ci_lines and test_command in ci_lines
    assert ci_lines.index(setup) < ci_lines.index(test_command)
    assert demo.startswith("faceswap-parts demo")


def test_package_warnings_print_as_one_line(monkeypatch, capsys):
    import sys
    import warnings

    from faceswap_parts.commands import masks
    from faceswap_parts.errors import FaceswapWarning

    def run(args):
        warnings.warn("training without perceptual loss: no weights here", FaceswapWarning)
        warnings.warn("a library's own warning", UserWarning)
        return 0

    monkeypatch.setattr(masks, "run", run)
    # pytest records warnings; print them the way Python does outside tests
    monkeypatch.setattr(warnings, "showwarning", lambda message, category, filename, lineno, file=None, line=None:
                        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line)))
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["masks", "faces"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("faceswap-parts masks: warning: training without perceptual loss: no weights here\n")
    assert "UserWarning: a library's own warning" in err  # other warnings keep their usual form
    assert warnings.formatwarning.__name__ == "formatwarning"  # restored after the command
