"""What a save costs: the size of ``checkpoint.pt`` and ``weights.pt`` and the time to write each.

    python benchmarks/checkpoint_size.py [--capacities quick,lite,standard] [--resolution 64] [--repeats 3]

For each capacity: a trainer on package-shipped faces (matplotlib's Grace
Hopper, scikit-image's astronaut) trains one iteration, so that the Adam
moments exist, then saves ``--repeats`` times into a temporary folder on the
disk of ``--dir`` (default: the system's temporary folder; give a Google
Drive folder to time Drive). ``save_s`` is a whole ``Trainer.save``
(the state and its digest, ``checkpoint.pt`` with fsync, then
``weights.pt``), ``weights_s`` the fp16 weights file alone, the part that
conversion needs; both are medians. Last stdout line: ``{"runs":
[{"capacity", "resolution", "parameters", "checkpoint_mb", "weights_mb",
"save_s", "weights_s"}, ...]}``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path


def faces_folder(root: Path) -> Path:
    """Two identical-looking face folders need real faces: the shipped portraits, a few crops each."""
    import cv2
    import numpy as np
    from matplotlib.cbook import get_sample_data
    from skimage import data

    folder = root / "faces"
    folder.mkdir()
    with get_sample_data("grace_hopper.jpg") as f:
        hopper = cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_COLOR)
    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    for i, image in enumerate((hopper, astronaut)):
        for k, shift in enumerate((0, 8, 16)):
            crop = image[shift:shift + min(image.shape[:2]) - 16, shift:shift + min(image.shape[:2]) - 16]
            cv2.imwrite(str(folder / f"face_{i}_{k}.png"), cv2.resize(crop, (256, 256)))
    return folder


def measure(capacity: str, resolution: int, repeats: int, root: Path, faces: Path) -> dict:
    from faceswap_parts.config import ModelConfig, TrainConfig
    from faceswap_parts.models import checkpoint as model_ckpt
    from faceswap_parts.training import Trainer
    from faceswap_parts.training.checkpoint import atomic_save

    workdir = Path(tempfile.mkdtemp(dir=root))
    # The same folder for A and B would be refused; a copy of it reads as another person's (with a warning).
    other = root / f"faces_copy_{capacity}"
    if not other.exists():
        import shutil

        shutil.copytree(faces, other)
    trainer = Trainer(TrainConfig(a_dir=str(faces), b_dir=str(other), workdir=str(workdir), device="cpu",
                                  model=ModelConfig(resolution=resolution, capacity=capacity), batch_size=2,
                                  perceptual=False, preview_interval=0, save_interval=0, backup_interval=0,
                                  workers=0, progress=False))
    trainer.train(1)
    state = trainer.state_dict()
    weights = model_ckpt.inference_weights(state["model"], state["model_config"], trainer.iteration)
    times = {"save": [], "weights": []}
    for _ in range(repeats):
        t = time.perf_counter()
        trainer.save()
        times["save"].append(time.perf_counter() - t)
        t = time.perf_counter()
        atomic_save(weights, workdir / model_ckpt.WEIGHTS_NAME)
        times["weights"].append(time.perf_counter() - t)
    trainer.close()
    return {"capacity": capacity, "resolution": resolution,
            "parameters": sum(p.numel() for p in trainer.model.parameters()),
            "checkpoint_mb": round(trainer.checkpoint_path.stat().st_size / 1e6, 1),
            "weights_mb": round((workdir / model_ckpt.WEIGHTS_NAME).stat().st_size / 1e6, 1),
            "save_s": round(statistics.median(times["save"]), 3),
            "weights_s": round(statistics.median(times["weights"]), 3)}


def main(argv=None) -> int:
    import warnings

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--capacities", default="quick,lite,standard")
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--dir", default=None, help="where to write (default: the temporary folder)")
    args = p.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the copied face folder's overlap warning, meant for users
        root = Path(tmp)
        faces = faces_folder(root)
        for capacity in args.capacities.split(","):
            runs.append(measure(capacity, args.resolution, args.repeats, root, faces))
            print(runs[-1], flush=True)
    print(json.dumps({"runs": runs}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
