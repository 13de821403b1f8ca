"""Loss history: ``loss_history.csv`` (appended) and ``loss_curve.png``."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import torch

from faceswap_parts.io.files import atomic_path, write_bytes_atomic

HISTORY_NAME = "loss_history.csv"
CURVE_NAME = "loss_curve.png"
#: Rows of history kept inside the checkpoint.
TAIL_ROWS = 1000


class LossHistory:
    """Per-iteration losses; rows are buffered and appended to the CSV on :meth:`flush`."""

    def __init__(self, workdir: str | os.PathLike):
        self.path = Path(workdir) / HISTORY_NAME
        self.columns: list[str] = []
        self.pending: list[tuple[int, dict]] = []
        self.tail: list[list[float]] = []  # [iteration, *values] of the newest TAIL_ROWS rows

    def append(self, iteration: int, losses: dict[str, float]) -> None:
        if not self.columns:
            self.columns = list(losses)
        self.pending.append((iteration, losses))
        self.tail.append([float(iteration)] + [float(losses.get(c, np.nan)) for c in self.columns])
        del self.tail[:-TAIL_ROWS]

    def flush(self) -> None:
        """Append the buffered rows to the CSV (header first when new)."""
        if not self.pending:
            return
        new = not self.path.exists() or self.path.stat().st_size == 0
        with open(self.path, "a", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["iteration"] + self.columns)
            for iteration, losses in self.pending:
                writer.writerow([iteration] + [f"{losses.get(c, float('nan')):.6g}" for c in self.columns])
        self.pending.clear()

    def truncate_after(self, iteration: int) -> None:
        """Drop CSV rows past ``iteration`` (written after the checkpoint being resumed)."""
        if not self.path.exists():
            return
        with open(self.path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        if not rows:
            return
        self.columns = rows[0][1:]
        kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= iteration]
        if len(kept) != len(rows):
            with atomic_path(self.path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
                csv.writer(f).writerows(kept)

    def state(self) -> dict:
        """The tail as checkpoint data (column names + one float64 tensor)."""
        return {"columns": list(self.columns),
                "rows": torch.tensor(self.tail, dtype=torch.float64).reshape(-1, len(self.columns) + 1)}

    def load_state(self, state: dict) -> None:
        self.columns = list(state.get("columns", []))
        self.tail = state["rows"].tolist() if "rows" in state else []

    def read(self) -> tuple[list[str], np.ndarray]:
        """All rows of the CSV: column names and an (N, 1+len(columns)) array."""
        self.flush()
        if not self.path.exists():
            return self.columns, np.zeros((0, len(self.columns) + 1))
        with open(self.path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        data = np.array([[float(v) for v in r] for r in rows[1:] if r], dtype=np.float64)
        return rows[0][1:], data.reshape(-1, len(rows[0]))


def _term(name: str) -> tuple[str, str]:
    """``"recon_A"`` -> ``("recon", "A")``; a name without an identity suffix is its own term."""
    term, _, side = name.rpartition("_")
    return (term, side) if term and side in ("A", "B") else (name, "")


def loss_plot_png(series: dict[str, tuple], size: tuple[float, float] = (9, 5), dpi: int = 90, title: str = "",
                  smooth: bool = False) -> bytes:
    """Loss curves as PNG bytes: ``series`` maps a name to ``(iterations,
    values)``. ``smooth``: a moving average over ~1/50 of the run on a log
    scale of the absolute value (the trainer's ``loss_curve.png``); else the
    raw values on a linear scale (the notebook panel's live plot)."""
    import io

    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=dpi, layout="constrained")  # makes room for the legend beside the axes
    ax = fig.add_subplot()
    drawn = False
    # one colour per loss term, solid for A and dashed for B: 16 curves would repeat matplotlib's 10 colours
    terms = list(dict.fromkeys(_term(name)[0] for name in series))
    for name, (its, values) in series.items():
        its, values = np.asarray(its, np.float64), np.asarray(values, np.float64)
        if not len(values) or not np.isfinite(values).any() or (smooth and np.nanmax(np.abs(values)) == 0):
            continue
        if smooth:
            window = max(1, len(values) // 50)
            values = np.abs(np.convolve(values, np.ones(window) / window, mode="valid"))
            its = its[window - 1:]
        term, side = _term(name)
        ax.plot(its, values, label=name, linewidth=1, color=f"C{terms.index(term) % 10}",
                linestyle="--" if side == "B" else "-")
        drawn = True
    if smooth and drawn:
        ax.set_yscale("log")
    if drawn:
        # beside the axes, not over the curves: a run plots up to 16 of them
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss (moving average, absolute value)" if smooth else "loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def plot_curves(columns: list[str], data: np.ndarray, path: str | os.PathLike, title: str = "") -> None:
    """Write ``columns``' smoothed curves from a loss-history table (column 0:
    iterations) as a PNG, atomically."""
    series = {name: (data[:, 0], data[:, i]) for i, name in enumerate(columns, start=1)} if len(data) else {}
    write_bytes_atomic(path, loss_plot_png(series, title=title, smooth=True))
