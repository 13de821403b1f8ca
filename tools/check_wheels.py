"""Check that every dependency installs from wheels on another Python (by
default 3.13, Colab's), without installing anything: pip resolves the
package's dependencies and the ``dlib``, ``notebooks`` and ``provenance`` extras for that
Python on manylinux x86-64, binary wheels only, as a dry run.

    python tools/check_wheels.py                 # Python 3.13
    python tools/check_wheels.py --python 3.12

torch is left out: Colab and every CUDA machine bring their own, and the
README's setup installs it by itself. Prints what would be installed and
exits 1 with pip's reason when something has no wheel.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "linux_x86_64")
EXTRAS = ("dlib", "notebooks", "provenance")
SKIP = ("torch",)


def requirements() -> list[str]:
    """The package's dependencies and chosen extras, torch excluded."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in EXTRAS:
        reqs += project["optional-dependencies"][extra]
    name = lambda req: req.split(">")[0].split("=")[0].split("<")[0].strip().lower()  # noqa: E731
    return sorted({r for r in reqs if name(r) not in SKIP}, key=name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="3.13", help="Python version to resolve for (default 3.13)")
    args = parser.parse_args(argv)
    reqs = requirements()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q", "--report", str(report),
               "--target", str(Path(tmp) / "target"), "--python-version", args.python, "--implementation", "cp",
               "--only-binary", ":all:", *[f"--platform={p}" for p in PLATFORMS], *reqs]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            errors = [line for line in result.stderr.splitlines() if "ERROR" in line] or result.stderr.splitlines()[-3:]
            print(f"Python {args.python}: no wheel for everything:", *errors, sep="\n  ", file=sys.stderr)
            return 1
        installed = json.loads(report.read_text())["install"]
    names = sorted(f"{i['metadata']['name']} {i['metadata']['version']}" for i in installed)
    print(f"Python {args.python}: all {len(reqs)} requirements (torch aside) resolve to wheels, "
          f"{len(names)} distributions: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
