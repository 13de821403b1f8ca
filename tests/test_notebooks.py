"""The notebook suite: valid, output-free, generated, thin; and executed
headless in fast mode (``FACESWAP_FAST=1``) on the sample clips, checking
what each notebook produced."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import make_notebooks  # noqa: E402

NOTEBOOKS = list(make_notebooks.NOTEBOOKS)


def _code(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_valid_output_free_and_portable(name):
    path = ROOT / name
    assert path.is_file(), f"{name} missing: run python tools/make_notebooks.py"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name} has committed outputs"
    text = path.read_text(encoding="utf-8")
    # No machine's absolute paths (Colab's standard /content/drive mountpoint is fine).
    assert not re.search(r"(/work/|/home/|/Users/|/tmp/|/root/|[A-Z]:\\\\)", text), name
    code = "\n".join(_code(nb))
    # Thin: the package does the work, not the notebook.
    for forbidden in ("import torch", "nn.Module", "import cv2", "cv2.", "imageio", "torch."):
        assert forbidden not in code, f"{name} contains {forbidden!r}"
    # The install logic lives in the package (tested there); the cell only installs the package itself.
    assert "install_runtime()" in code and not re.search(r"^\s*def ", code, re.M)
    assert not re.search(r"ipywidgets[<>=]|--upgrade|\s-U\s", code)  # never replaces Colab's ipywidgets 7.7
    assert "nb.setup_workspace(" in code and "nb.environment_report()" in code
    assert "#@param" in code


def test_notebooks_are_generated_and_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "make_notebooks.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_colab_badges_need_a_real_repository():
    # Links are derived from --repo (or the README's record, or the git remote), never made up.
    assert make_notebooks.colab_url("me/faceswap-parts", "colab/faceswap_train.ipynb") == \
        "https://colab.research.google.com/github/me/faceswap-parts/blob/main/colab/faceswap_train.ipynb"
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "make_notebooks.py"), "--badges",
                             "--repo", "me/faceswap-parts"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.count("colab-badge.svg") == len(NOTEBOOKS)
    nb = make_notebooks.build("colab/faceswap_train.ipynb", "me/faceswap-parts")
    assert 'PACKAGE_SOURCE = "git+https://github.com/me/faceswap-parts"' in nb.cells[1].source
    assert "colab.research.google.com/github/me/faceswap-parts/blob/main/colab/faceswap_train.ipynb" in nb.cells[0].source
    bad = subprocess.run([sys.executable, str(ROOT / "tools" / "make_notebooks.py"), "--badges", "--repo", "not a repo"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "expected OWNER/NAME" in bad.stderr


def _package_sources(root: Path) -> set[str]:
    found = set()
    for name in NOTEBOOKS:
        source = nbformat.read(root / name, as_version=4).cells[1].source
        found.add(re.search(r'^PACKAGE_SOURCE = "([^"]*)"', source, re.M).group(1))
    return found


def test_readme_badges_and_notebook_install_sources_agree():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    repo = make_notebooks.readme_repo(readme)
    sources = _package_sources(ROOT)
    assert len(sources) == 1
    if repo is None:  # no repository set: no badges, and the install cell asks for the address
        assert sources == {""} and "colab-badge.svg" not in readme
    else:
        assert sources == {f"git+https://github.com/{repo}"}
        for name in NOTEBOOKS:
            assert make_notebooks.colab_url(repo, name) in readme


def test_repo_option_writes_the_notebooks_and_the_readme(tmp_path):
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    for name in NOTEBOOKS:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    tool = [sys.executable, str(ROOT / "tools" / "make_notebooks.py"), "--root", str(tmp_path)]
    subprocess.run([*tool, "--repo", "someone/faceswap-parts"], check=True, capture_output=True)
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert make_notebooks.readme_repo(readme) == "someone/faceswap-parts"
    assert readme.count("colab-badge.svg") == len(NOTEBOOKS)
    assert _package_sources(tmp_path) == {"git+https://github.com/someone/faceswap-parts"}
    # The README records the repository: a later run without --repo keeps it, and --check agrees.
    subprocess.run(tool, check=True, capture_output=True)
    assert _package_sources(tmp_path) == {"git+https://github.com/someone/faceswap-parts"}
    assert subprocess.run([*tool, "--check"], capture_output=True).returncode == 0
    # A README edited by hand out of step with the notebooks fails the check.
    (tmp_path / "README.md").write_text(readme.replace("someone/faceswap-parts", "other/x"), encoding="utf-8")
    check = subprocess.run([*tool, "--check"], capture_output=True, text=True)
    assert check.returncode == 1 and "out of date" in check.stderr


# ----------------------------------------------------------------------------- execution

def set_params(nb, **params) -> None:
    """Change ``NAME = value  #@param`` form fields, like a user would."""
    for name, value in params.items():
        pattern = re.compile(rf"^{name} = .*?(\s+#@param.*)$", re.M)
        hits = 0
        for cell in nb.cells:
            if cell.cell_type == "code" and pattern.search(cell.source):
                cell.source = pattern.sub(lambda m: f"{name} = {value!r}{m.group(1)}", cell.source)
                hits += 1
        assert hits, f"no form field {name}"


def execute(name: str, cwd: Path, **params):
    """Run a notebook top to bottom in ``cwd`` in fast mode; returns the executed notebook.

    Raises ``nbclient.exceptions.CellExecutionError`` when a cell fails."""
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / name, as_version=4)
    set_params(nb, **params)
    env_before = dict(os.environ)
    os.environ.update(FACESWAP_FAST="1", OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"))
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    return nb


def outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") or out.get("evalue", "") or str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def notebook_dir(tmp_path_factory, monkeypatch_module):
    """One workspace shared by the notebooks, as a user running them in order
    would have. Inputs: the real sample clips when present, else the demo's
    synthetic clips (what the notebooks fall back to)."""
    if (SHARED_DATA / "videos").is_dir():
        monkeypatch_module.setenv("FACESWAP_SHARED_DATA", str(SHARED_DATA))
    else:
        monkeypatch_module.delenv("FACESWAP_SHARED_DATA", raising=False)
    return tmp_path_factory.mktemp("notebooks")


def expected_frame_size() -> tuple[int, int]:
    return (512, 512) if (SHARED_DATA / "videos").is_dir() else (256, 256)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def _checkpoint_iteration(path: Path) -> int:
    import torch

    return int(torch.load(path, map_location="cpu", weights_only=True)["iteration"])


def test_demo_notebook_runs_the_whole_pipeline(notebook_dir):
    from faceswap_parts.io.video import probe

    nb = execute("faceswap-demo.ipynb", notebook_dir)
    ws = notebook_dir / "workspace" / "faceswap-demo"
    for label in ("person_a", "person_b"):
        faces = sorted((ws / "faces" / label / "aligned_faces").glob("*.png"))
        masks = sorted((ws / "faces" / label / "binary_masks_eyes").glob("*.png"))
        assert len(faces) >= 8 and [p.name for p in masks] == [p.name for p in faces]
    assert _checkpoint_iteration(ws / "runs" / "run" / "checkpoint.pt") == 2
    assert (ws / "runs" / "run" / "preview_latest.png").is_file()
    info = probe(ws / "outputs" / "swapped.mp4")
    assert info.frame_count >= 10 and info.size == expected_frame_size()
    text = outputs_text(nb)
    assert "NO GPU" in text and "Running under Jupyter: the workspace is the local folder" in text
    # The video is embedded as H.264 in the page, not linked to a local file.
    assert any("data:video/mp4;base64," in str(o.get("data", {}).get("text/html", ""))
               for c in nb.cells for o in c.get("outputs", []))


@pytest.mark.slow
def test_pipeline_notebooks_in_order_and_training_resumes(notebook_dir):
    from faceswap_parts.io.video import probe

    ws = notebook_dir / "workspace" / "faceswap-parts"
    execute("video_face_detection_alignment.ipynb", notebook_dir)
    for label in ("person_a", "person_b"):
        assert (ws / "faces" / label / "faces.json").is_file()
        assert len(list((ws / "faces" / label / "aligned_faces").glob("*.png"))) >= 8

    execute("prep_binary_masks.ipynb", notebook_dir)
    for label in ("person_a", "person_b"):
        names = sorted(p.name for p in (ws / "faces" / label / "aligned_faces").glob("*.png"))
        for part in ("eyes", "eyebrows", "nose", "mouth", "face"):
            assert sorted(p.name for p in (ws / "faces" / label / f"binary_masks_{part}").glob("*.png")) == names

    execute("colab/faceswap_train.ipynb", notebook_dir)
    checkpoint = ws / "runs" / "run" / "checkpoint.pt"
    assert _checkpoint_iteration(checkpoint) == 2
    nb = execute("colab/faceswap_train.ipynb", notebook_dir)  # reopen and run all again: resumes
    assert _checkpoint_iteration(checkpoint) == 4
    assert "resuming the checkpoint" in outputs_text(nb) and "starting at iteration 2" in outputs_text(nb)

    execute("colab/faceswap_video_conversion.ipynb", notebook_dir, OUTPUT_TYPE="side-by-side",
            SMOOTHING="moving-average", COLOR_CORRECTION="hist_match")
    info = probe(ws / "outputs" / "swapped.mp4")
    width, height = expected_frame_size()
    assert info.size == (2 * width, height) and info.frame_count >= 10


@pytest.mark.slow
def test_bad_inputs_show_one_line_and_keep_the_training_state(notebook_dir, tmp_path):
    from nbclient.exceptions import CellExecutionError

    import numpy as np

    from faceswap_parts.io.video import write_video

    ws = notebook_dir / "workspace" / "faceswap-parts"
    checkpoint = ws / "runs" / "run" / "checkpoint.pt"
    before = checkpoint.read_bytes() if checkpoint.is_file() else None
    with pytest.raises(CellExecutionError) as err:
        execute("colab/faceswap_video_conversion.ipynb", notebook_dir, VIDEO="/content/drive/MyDrive/nope.mp4")
    assert err.value.ename == "FaceswapError" and "is Google Drive mounted" in err.value.evalue
    no_face = write_video(tmp_path / "wall.mp4", [np.full((120, 160, 3), 90, np.uint8)] * 6, fps=6)
    with pytest.raises(CellExecutionError) as err:
        execute("video_face_detection_alignment.ipynb", tmp_path, VIDEO_A=str(no_face))
    assert err.value.ename == "FaceswapError" and "no face found" in err.value.evalue
    assert (checkpoint.read_bytes() if checkpoint.is_file() else None) == before
