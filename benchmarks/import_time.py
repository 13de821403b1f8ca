"""What starting a conversion costs before any frame: the time to import
``faceswap_parts.conversion`` and to build a ``VideoConverter`` from a
training workdir, and the package modules each step loads (training code
among them would mean inference depends on training).

Each measurement runs in a fresh interpreter; ``--repeat N`` gives medians.
``--tree DIR`` measures another checkout of the package (e.g. an older
commit's ``git worktree``) the same way, side by side in the same run.

    python benchmarks/import_time.py --repeat 7 [--tree ../old-checkout]

Prints one JSON object as its last line.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import sys, time, json
sys.path.insert(0, {tree!r})
t0 = time.perf_counter()
import faceswap_parts.conversion as conversion
t1 = time.perf_counter()
after_import = sorted(m for m in sys.modules if m.startswith("faceswap_parts"))
conversion.VideoConverter({workdir!r}, conversion.ConverterConfig(device="cpu", progress_bar=False))
t2 = time.perf_counter()
loaded = sorted(m for m in sys.modules if m.startswith("faceswap_parts"))
assert sys.modules["faceswap_parts"].__file__.startswith({tree!r})
print(json.dumps({{"import_s": t1 - t0, "converter_s": t2 - t1, "modules_after_import": len(after_import),
                  "modules_after_converter": len(loaded),
                  "training_modules": [m for m in loaded if m.split(".")[1:2] in (["training"], ["data"])]}}))
"""


def checkpoint(workdir: Path) -> None:
    """A small model's checkpoint, written with plain torch (readable by any version of the package)."""
    import torch

    sys.path.insert(0, str(ROOT))
    from faceswap_parts.config import ModelConfig
    from faceswap_parts.models import FaceswapModel

    model = FaceswapModel(ModelConfig(resolution=64, capacity="lite", self_attention=False))
    torch.save({"model_config": model.config.to_dict(), "model": model.state_dict()}, workdir / "checkpoint.pt")


def measure(tree: Path, workdir: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE.format(tree=str(tree), workdir=str(workdir))],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh interpreters per tree (default 5)")
    parser.add_argument("--tree", type=Path, action="append", default=[],
                        help="another checkout to measure alongside this one (repeatable)")
    args = parser.parse_args()
    trees = {"this": ROOT, **{str(t): t.resolve() for t in args.tree}}
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint(Path(tmp))
        runs: dict[str, list[dict]] = {name: [] for name in trees}
        for _ in range(args.repeat):  # alternate the trees so machine drift hits them alike
            for name, tree in trees.items():
                runs[name].append(measure(tree, Path(tmp)))
    result = {}
    for name, rows in runs.items():
        result[name] = {"import_s": round(statistics.median(r["import_s"] for r in rows), 3),
                        "converter_s": round(statistics.median(r["converter_s"] for r in rows), 3),
                        "modules_after_import": rows[0]["modules_after_import"],
                        "modules_after_converter": rows[0]["modules_after_converter"],
                        "training_modules": rows[0]["training_modules"], "runs": len(rows)}
        print(f"{name}: import {result[name]['import_s']} s, converter {result[name]['converter_s']} s, "
              f"{result[name]['modules_after_converter']} package modules, "
              f"{len(result[name]['training_modules'])} of them training code")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
