"""Optional reconstruction scores of a trained model: how well A's decoder
redraws A's faces and B's decoder B's (SSIM and PSNR, scikit-image).

These need faces the model was not trained on to mean "generalises"; on the
training faces they measure how well the model fits them.
"""
from __future__ import annotations

import os

import numpy as np


def image_scores(reference: np.ndarray, images: np.ndarray) -> tuple[float, float]:
    """Mean SSIM and PSNR (dB) of ``images`` against ``reference``, both (N,H,W,3) uint8."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    ssim = [structural_similarity(r, i, channel_axis=-1, data_range=255) for r, i in zip(reference, images)]
    # identical images have infinite PSNR; 100 dB stands for "exact"
    psnr = [min(peak_signal_noise_ratio(r, i, data_range=255), 100.0) if np.any(r != i) else 100.0
            for r, i in zip(reference, images)]
    return float(np.mean(ssim)), float(np.mean(psnr))


def evaluate_reconstruction(model, faces_a: str | os.PathLike, faces_b: str | os.PathLike, max_faces: int = 100,
                            batch_size: int = 16) -> dict:
    """SSIM / PSNR of the A->A and B->B reconstructions of up to ``max_faces``
    faces of each folder (evenly spread, so the choice is deterministic).

    Scores compare the model-resolution input crop with the decoder's raw
    colour output (``raw``) and with the masked result (``result``, what
    conversion pastes). ``model`` is a :class:`~faceswap_parts.models.FaceswapModel`
    (from :func:`faceswap_parts.models.load_model`).
    """
    import torch

    from faceswap_parts.faces.alignment import center_crop
    from faceswap_parts.facesets import load_faceset

    cfg = model.config
    device = next(model.parameters()).device
    out = {"resolution": cfg.resolution, "coverage": cfg.coverage}
    for label, folder in (("A", faces_a), ("B", faces_b)):
        faceset = load_faceset(folder, label)
        images = faceset.images
        if max_faces and len(images) > max_faces:
            images = images[np.linspace(0, len(images) - 1, max_faces).round().astype(int)]
        crops = center_crop(images, cfg.resolution, cfg.coverage)
        raws, results = [], []
        with torch.no_grad():
            for start in range(0, len(crops), batch_size):
                x = torch.from_numpy(crops[start:start + batch_size]).permute(0, 3, 1, 2).float().div(127.5).sub(1)
                gen = model.generate(x.to(device), label)
                for t, store in ((gen.color, raws), (gen.result, results)):
                    store.append(t.clamp(-1, 1).add(1).mul(127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy())
        raw_ssim, raw_psnr = image_scores(crops, np.concatenate(raws))
        res_ssim, res_psnr = image_scores(crops, np.concatenate(results))
        out[f"{label}_to_{label}"] = {"faces": len(crops), "ssim": round(raw_ssim, 6), "psnr": round(raw_psnr, 4),
                                      "ssim_result": round(res_ssim, 6), "psnr_result": round(res_psnr, 4)}
    return out
