"""The package's dependency rule (README, "Layout"): each layer imports only from itself and
layers below it; extraction, masking, training, conversion and evaluation stand
side by side and never import each other; notebooks, the CLI and the demo sit on top."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "faceswap_parts"

#: Top-level module or package of faceswap_parts -> layer (lower imports nothing higher).
LAYERS = {
    "options": 0, "errors": 0, "settings": 0,
    "config": 1, "extraction_config": 1, "io": 1, "device": 1,
    "faces": 2,
    "facesets": 3, "recognition": 3,
    "models": 4,
    "extraction": 5, "masking": 5, "training": 5, "conversion": 5, "evaluation": 5,
    "notebooks": 6, "commands": 6, "cli": 6, "demo": 6, "runtime_install": 6, "__main__": 6,
}


def _room(module: str) -> str:
    """``faceswap_parts.faces.detection.boxes`` -> ``faces``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> set[str]:
    """Every faceswap_parts module ``path`` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("faceswap_parts"):
            found |= {f"{node.module}.{a.name}" if node.module == "faceswap_parts" and a.name in LAYERS else node.module
                      for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("faceswap_parts")}
    return found


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_module_has_a_layer():
    rooms = {_room(_module_name(p)) for p in PACKAGE.rglob("*.py")} - {""}
    assert rooms <= set(LAYERS), f"modules without a layer: {sorted(rooms - set(LAYERS))}"


def test_every_folder_is_a_regular_package():
    """setuptools' package finder ships only folders with an ``__init__.py``."""
    folders = {p.parent for p in PACKAGE.rglob("*.py")}
    assert not [f for f in folders if not (f / "__init__.py").is_file()]


def test_imports_point_down_the_layers():
    """Static: every import in the source, including the ones inside functions
    (which a plain import of the module would not run)."""
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = _module_name(path)
        here = _room(importer)
        for imported in _imports(path):
            there = _room(imported)
            if not here or not there or here == there:
                continue
            sideways = LAYERS[here] == LAYERS[there] == 5
            if LAYERS[there] > LAYERS[here] or sideways:
                wrong.append(f"{importer} imports {imported}")
    assert not wrong, "imports against the layout rule:\n" + "\n".join(wrong)


def _loaded_after(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; the faceswap_parts modules and the
    heavy libraries loaded by then."""
    probe = (f"{code}\nimport sys, json\nprint(json.dumps({{'package': sorted(m for m in sys.modules "
             f"if m.startswith('faceswap_parts')), 'libraries': sorted(m for m in ('numpy', 'cv2', 'torch', "
             f"'scipy', 'skimage', 'matplotlib') if m in sys.modules)}}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_options_module_is_light():
    """Configs, the CLI's --help and the notebook generator read the options without numpy, OpenCV or torch."""
    loaded = _loaded_after("import faceswap_parts.options, faceswap_parts.config")
    assert loaded["libraries"] == []
    assert set(loaded["package"]) == {"faceswap_parts", "faceswap_parts.options", "faceswap_parts.config",
                                      "faceswap_parts.errors", "faceswap_parts.settings"}


def test_cli_help_needs_no_heavy_library():
    """Every command's parser takes its choices and defaults from the light modules, so --help is instant."""
    loaded = _loaded_after("from faceswap_parts.cli import build_parser\nbuild_parser()")
    assert loaded["libraries"] == []


@pytest.mark.parametrize("stage, forbidden", [
    ("faceswap_parts.faces.finder", ("facesets", "models", "extraction", "training", "conversion", "evaluation")),
    ("faceswap_parts.masking", ("models", "extraction", "training", "conversion", "evaluation")),
    ("faceswap_parts.extraction", ("models", "training", "conversion", "evaluation", "notebooks")),
    ("faceswap_parts.conversion.converter", ("training", "extraction", "evaluation", "notebooks")),
    ("faceswap_parts.evaluation", ("training", "extraction", "notebooks")),
    ("faceswap_parts.models", ("training", "extraction", "conversion", "evaluation", "facesets")),
])
def test_importing_a_stage_loads_no_stage_above_or_beside_it(stage, forbidden):
    loaded = _loaded_after(f"import {stage}")
    bad = [m for m in loaded["package"] if _room(m) in forbidden]
    assert not bad, f"importing {stage} loaded {bad}"


def test_converting_an_image_loads_no_training_code(tmp_path, grace_hopper):
    """The lazy imports too: load a trained model from its workdir and swap a
    face, then check that no training, extraction or evaluation module ran."""
    import numpy as np
    import torch

    from faceswap_parts.config import ModelConfig
    from faceswap_parts.models import FaceswapModel

    torch.manual_seed(0)
    model = FaceswapModel(ModelConfig(resolution=64, capacity="lite", self_attention=False))
    torch.save({"model_config": model.config.to_dict(), "model": model.state_dict()}, tmp_path / "checkpoint.pt")
    np.save(tmp_path / "face.npy", grace_hopper)
    loaded = _loaded_after(
        "import numpy as np\nfrom faceswap_parts.conversion import ConverterConfig, VideoConverter\n"
        f"image = np.load({str(tmp_path / 'face.npy')!r})\n"
        f"converter = VideoConverter({str(tmp_path)!r}, ConverterConfig(device='cpu', progress_bar=False))\n"
        "assert (converter.convert_image(image) != image).any()")
    assert "faceswap_parts.models.checkpoint" in loaded["package"]
    bad = [m for m in loaded["package"] if _room(m) in ("training", "extraction", "evaluation", "notebooks")]
    assert not bad, f"converting an image loaded {bad}"
