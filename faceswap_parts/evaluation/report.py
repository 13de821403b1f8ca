"""Writing the evaluation report: ``report.json`` (all numbers) and
``report.html`` (summary table, matplotlib plots embedded as base64 PNGs and a
strip of the worst frames)."""
from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from pathlib import Path

import numpy as np

#: (key, label, how to read it) rows of the HTML summary table.
SUMMARY_ROWS = (
    ("identity_transfer_rate", "Identity transfer rate",
     "share of swapped frames whose face is closer to B than to A (higher is better)"),
    ("baseline_identity_transfer_rate", "Baseline (original video)", "the same for the original frames: should be near 0"),
    ("identity_match_rate", "Identity match rate",
     "share of swapped faces the embedder takes for B: closer to B than to A and within its same-person "
     "distance of B (a blur that is nobody can be closer to B, but does not match)"),
    ("sharpness_ratio", "Sharpness ratio",
     "face detail (Laplacian variance inside the landmark hull) of the swap over the source's: about 1 is as sharp; "
     "far below 1 is a blur, whatever the identity scores say"),
    ("mean_distance_to_a", "Mean distance to A", "swapped faces to A's centroid (larger is better)"),
    ("mean_distance_to_b", "Mean distance to B", "swapped faces to B's centroid (smaller is better)"),
    ("landmark_error", "Landmark error",
     "68-point distance original vs swap, in inter-ocular units (0 = same expression and pose)"),
    ("stability_ratio", "Stability ratio", "frame-to-frame landmark motion of the swap / of the original (1.0 = as steady)"),
    ("flicker_ratio", "Flicker ratio", "frame-to-frame change of mean face colour, swap / original (1.0 = no extra flicker)"),
    ("seam_score", "Seam score",
     "gradient energy on the blend's edge, swap / original (about 1 = as smooth as the source; a hard paste 2+)"),
    ("coverage", "Coverage", "share of frames with a face in the original where the swap has a face too"),
    ("frame_count", "Frames evaluated", ""),
)


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _series(frames: list[dict], key: str) -> np.ndarray:
    return np.array([np.nan if f.get(key) is None else f[key] for f in frames], np.float64)


def plots(report: dict) -> dict[str, str]:
    """Base64 PNGs of the per-frame curves, keyed by title."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    frames = report["frames"]
    t = np.array([f["time"] for f in frames], np.float64)
    out = {}
    specs = (
        ("Identity: distance to A and B",
         [("distance_to_a", "swap to A", "C3", "-"), ("distance_to_b", "swap to B", "C0", "-"),
          ("original_distance_to_a", "original to A", "C3", ":"), ("original_distance_to_b", "original to B", "C0", ":")],
         "embedding distance"),
        ("Expression and pose kept",
         [("landmark_error", "landmark error", "C2", "-"), ("mouth_opening", "mouth opening diff.", "C1", "-"),
          ("eye_opening", "eye opening diff.", "C4", "-"), ("yaw", "yaw diff.", "C5", ":")],
         "inter-ocular units"),
        ("Temporal stability: landmark motion between frames",
         [("motion_original", "original", "C7", "-"), ("motion_swapped", "swap", "C0", "-")], "inter-ocular units"),
        ("Flicker: change of mean face colour between frames",
         [("colour_change_original", "original", "C7", "-"), ("colour_change_swapped", "swap", "C0", "-")],
         "RGB levels"),
    )
    for title, curves, ylabel in specs:
        fig, ax = plt.subplots(figsize=(8, 2.8))
        for key, label, colour, style in curves:
            ax.plot(t, _series(frames, key), style, color=colour, label=label, marker=".", markersize=3)
        if title.startswith("Identity"):
            ax.axhline(report["same_person_distance"], color="k", lw=0.8, alpha=0.5, label="same-person threshold")
            missing = [f["time"] for f in frames if f["face_in_original"] and not f["face_in_swapped"]]
            if missing:
                ax.plot(missing, np.zeros(len(missing)), "rx", label="no face in swap")
        ax.set_title(title)
        ax.set_xlabel("time (s)")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.grid(alpha=0.3)
        out[title] = _png(fig)
    return out


def worst_strip(worst: list[dict]) -> str | None:
    """Base64 PNG of the worst frames, original | swap per column, with captions."""
    if not worst:
        return None
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(worst), figsize=(2.6 * len(worst), 1.9), squeeze=False)
    for ax, item in zip(axes[0], worst):
        ax.imshow(item["image"])
        ax.set_title(f"frame {item['index']} ({item['time']:.2f}s)\n{item['why']}", fontsize=7)
        ax.axis("off")
    return _png(fig)


def _clean(value):
    """JSON-safe copy: NaN/inf become null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def write_report(report: dict, worst: list[dict], out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.html`` into ``out_dir``; returns both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / "report.json", out_dir / "report.html"
    json_path.write_text(json.dumps(_clean(report), indent=1), encoding="utf-8")
    html_path.write_text(render_html(report, worst), encoding="utf-8")
    return json_path, html_path


def render_html(report: dict, worst: list[dict]) -> str:
    """The self-contained HTML page for a report."""
    esc = html.escape
    inputs = report["inputs"]
    rows = "".join(f"<tr><td>{esc(label)}</td><td><b>{_fmt(report.get(key))}</b></td><td>{esc(note)}</td></tr>"
                   for key, label, note in SUMMARY_ROWS)
    expression = "".join(f"<tr><td>{esc(k.replace('_', ' '))}</td><td>{_fmt(v)}</td></tr>"
                         for k, v in report["expression"].items())
    missing = report["frames_without_face_in_swapped"]
    no_source = report["frames_without_face_in_original"]
    failures = (f"<p>No face detected in the swap at frames: {esc(', '.join(map(str, missing)))}</p>" if missing
                else "<p>A face was detected in the swap wherever the original had one.</p>")
    if no_source:
        failures += f"<p>No face in the original at frames: {esc(', '.join(map(str, no_source)))} (not scored)</p>"
    images = "".join(f'<h3>{esc(title)}</h3><img src="data:image/png;base64,{data}">'
                     for title, data in plots(report).items())
    strip = worst_strip(worst)
    strip_html = (f'<h2>Worst frames (original | swap)</h2><img src="data:image/png;base64,{strip}">' if strip
                  else "")
    warnings = "".join(f'<p style="color:#b00"><b>Warning:</b> {esc(w)}</p>' for w in report.get("warnings", []))
    recon = ""
    if report.get("reconstruction"):
        recon = "<h2>Reconstruction quality</h2><table>" + "".join(
            f"<tr><td>{esc(k)}</td><td>SSIM {_fmt(v.get('ssim'))}</td><td>PSNR {_fmt(v.get('psnr'))} dB</td>"
            f"<td>{v.get('faces', '')} faces</td></tr>"
            for k, v in report["reconstruction"].items() if isinstance(v, dict)) + "</table>"
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>faceswap-parts evaluation</title>
<style>body{{font-family:sans-serif;max-width:960px;margin:auto}}td{{padding:2px 10px}}
table{{border-collapse:collapse}}tr:nth-child(even){{background:#f2f2f2}}img{{max-width:100%}}</style></head>
<body><h1>Face-swap evaluation</h1>
<p>Original: <code>{esc(inputs['original']['path'])}</code><br>Swapped: <code>{esc(inputs['swapped']['path'])}</code><br>
Faces A: <code>{esc(inputs['faces_a']['folder'])}</code> ({inputs['faces_a']['faces_used']} faces),
faces B: <code>{esc(inputs['faces_b']['folder'])}</code> ({inputs['faces_b']['faces_used']} faces)<br>
Embedder: {esc(report['models']['embedder'])}, landmarks: {esc(str(report['models']['landmarks']))}</p>
{warnings}<h2>Summary</h2><table>{rows}</table>
<h2>Expression and pose differences (mean absolute)</h2><table>{expression}</table>
<h2>Detection failures</h2>{failures}
{recon}
<h2>Per-frame plots</h2>{images}
{strip_html}
</body></html>
"""
