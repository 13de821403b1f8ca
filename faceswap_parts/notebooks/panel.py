"""The training panel of the notebooks (ipywidgets): iteration and display
interval sliders, start/stop buttons, a progress bar, the latest preview image
and a live loss plot.

Training runs in the cell itself (so "Run all" and headless CI go top to
bottom without clicking), or with ``DEVICES`` > 1 in one process per GPU
that the cell starts and watches (:func:`make_trainer`). While it runs, the panel polls the browser for
button clicks with ``jupyter-ui-poll`` when installed; Colab's "interrupt
execution" works too. Either way training stops cleanly and saves.
"""
from __future__ import annotations

import time
from collections import defaultdict

import numpy as np

from faceswap_parts.io.images import encode_image
from faceswap_parts.training.history import loss_plot_png


class TrainingPanel:
    """Widgets that drive and watch one training run.

    Args:
        iterations: initial value of the iteration slider (total to reach).
        display_interval: initial value of the display interval slider.
        max_iterations: slider range.

    :func:`train_with_panel` drives a :class:`~faceswap_parts.training.Trainer`
    with it; any other loop can call :meth:`update` with progress, losses and
    (optionally) a preview image and stop when it returns True.
    """

    def __init__(self, iterations: int = 1000, display_interval: int = 100, max_iterations: int = 100_000):
        import ipywidgets as w

        self.iterations = w.IntSlider(value=iterations, min=1, max=max(max_iterations, iterations), step=1,
                                      description="iterations", continuous_update=False,
                                      style={"description_width": "initial"})
        self.display_interval = w.IntSlider(value=display_interval, min=1, max=max(1000, display_interval),
                                            description="display every", continuous_update=False,
                                            style={"description_width": "initial"})
        self.start_button = w.Button(description="Start", button_style="success", icon="play")
        self.stop_button = w.Button(description="Stop (and save)", button_style="danger", icon="stop",
                                    disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=iterations, description=f"0 / {iterations}", bar_style="info",
                                      style={"description_width": "initial"})
        self.status = w.HTML("idle")
        self.preview = w.Image(format="png", layout=w.Layout(max_width="100%"))
        self.loss_image = w.Image(format="png")
        self.widget = w.VBox([w.HBox([self.iterations, self.display_interval]),
                              w.HBox([self.start_button, self.stop_button, self.progress]),
                              # flex-start: the loss plot keeps its aspect instead of stretching to the preview's height
                              self.status, w.HBox([self.preview, self.loss_image],
                                                  layout=w.Layout(align_items="flex-start"))])
        self.stop_requested = False
        self.start_requested = False
        self.history: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self._last_poll = 0.0
        self.start_button.on_click(lambda _: setattr(self, "start_requested", True))
        self.stop_button.on_click(lambda _: self.request_stop())

    def display(self) -> "TrainingPanel":
        from IPython.display import display

        display(self.widget)
        return self

    def request_stop(self) -> None:
        """Ask training to stop at the next iteration (it saves a checkpoint first)."""
        self.stop_requested = True
        self.status.value = "<b>stopping: saving a checkpoint...</b>"

    def wait_for_start(self, auto_start: bool = True, timeout_s: float = 3600.0) -> None:
        """Return at once with ``auto_start`` (so "Run all" never waits for a
        click); otherwise wait until Start is clicked."""
        if auto_start:
            return
        self.status.value = "<b>set the sliders, then click Start</b>"
        deadline = time.monotonic() + timeout_s
        while not self.start_requested and time.monotonic() < deadline:
            self._last_poll = 0.0
            self.poll()
            time.sleep(0.1)
        if not self.start_requested:
            from faceswap_parts.errors import FaceswapError

            raise FaceswapError("Start was not clicked (needs the jupyter-ui-poll package to see clicks); "
                                "set AUTO_START = True and run the cell again")

    def begin(self, start_iteration: int = 0) -> None:
        """Reset the panel for a run that resumes at ``start_iteration``."""
        self.stop_requested = False
        self.start_button.disabled = True
        self.stop_button.disabled = False
        self.progress.max = max(self.iterations.value, start_iteration, 1)
        self.progress.value = start_iteration
        self.progress.description = f"{start_iteration} / {self.progress.max}"
        self.status.value = (f"training from iteration {start_iteration}" if start_iteration
                             else "training from scratch")
        self._t0 = time.monotonic()
        self._it0 = start_iteration

    def update(self, iteration: int, losses: dict[str, float] | None = None,
               preview: np.ndarray | None = None, redraw: bool = False) -> bool:
        """Record progress and losses; show the preview when given and redraw
        the loss plot when ``redraw``. Returns True when the user asked to stop."""
        self.progress.value = min(iteration, self.progress.max)
        self.progress.description = f"{iteration} / {self.progress.max}"
        for name, value in (losses or {}).items():
            self.history[name].append((iteration, float(value)))
        if preview is not None:
            self.preview.value = encode_image(preview)
        if redraw:
            elapsed = time.monotonic() - getattr(self, "_t0", time.monotonic())
            done = iteration - getattr(self, "_it0", 0)
            rate = f", {done / elapsed:.2f} it/s" if elapsed > 0 and done > 0 else ""
            loss_text = ", ".join(f"{k} {float(v):.4f}" for k, v in sorted((losses or {}).items()))
            if not self.stop_requested:
                self.status.value = f"iteration {iteration}{rate}" + (f" | {loss_text}" if loss_text else "")
            if self.history:
                self.loss_image.value = _loss_png(self.history)
        self.poll()
        return self.stop_requested

    def poll(self, every_s: float = 0.5) -> None:
        """Process pending button clicks while the cell is busy (needs
        ``jupyter-ui-poll``; without it only Colab's interrupt stops training)."""
        now = time.monotonic()
        if now - self._last_poll < every_s:
            return
        self._last_poll = now
        try:
            from jupyter_ui_poll import ui_events
        except ImportError:
            return
        try:
            with ui_events() as poll:
                poll(10)
        except Exception:  # noqa: BLE001 - outside a kernel (plain Python) there is nothing to poll
            pass

    def finish(self, iteration: int, message: str) -> None:
        """Mark the run as finished."""
        self.progress.value = min(iteration, self.progress.max)
        self.progress.bar_style = "success" if not self.stop_requested else "warning"
        self.start_button.disabled = False
        self.stop_button.disabled = True
        self.status.value = message
        if self.history:
            self.loss_image.value = _loss_png(self.history)


def stop_button_note() -> str | None:
    """Why the panel's Stop button cannot work in this kernel, or None: it relies on ``jupyter-ui-poll``
    to see clicks while the cell runs, which does not receive them under ipykernel 7 (jupyter-ui-poll
    issue 54); interrupting the kernel still stops training with a saved checkpoint."""
    try:
        from importlib.metadata import PackageNotFoundError, version

        kernel = version("ipykernel")
        major = int(kernel.split(".")[0])
    except (PackageNotFoundError, ValueError):
        return None
    if major < 7:
        return None
    return (f"note: this kernel is ipykernel {kernel}, under which the Stop button's clicks do not "
            "reach the running cell (jupyter-ui-poll issue 54): to stop, interrupt the kernel (the toolbar's "
            "square button, or Kernel > Interrupt); the checkpoint is saved either way. ipykernel 6 "
            "(pip install 'ipykernel<7', as Colab ships) makes Stop work")


def make_trainer(config, requested_model: dict | None = None, devices: int = 1):
    """The training notebook's trainer for ``devices`` GPUs: a
    :class:`~faceswap_parts.training.Trainer` in this process for one, a
    :class:`~faceswap_parts.training.launcher.DevicesTrainer` (one process per
    GPU, DistributedDataParallel; ``batch_size`` is the total) for more, such as
    Kaggle's two T4s. With one on a machine with several GPUs it says so."""
    import torch

    from faceswap_parts.errors import FaceswapError

    if devices < 1:
        raise FaceswapError(f"DEVICES must be >= 1, got {devices}")
    if devices == 1:
        from faceswap_parts.training import Trainer

        gpus = torch.cuda.device_count()
        if gpus > 1 and config.device in ("auto", "cuda"):
            print(f"this machine has {gpus} GPUs: DEVICES = {gpus} trains on all of them")
        return Trainer(config, requested_model=requested_model)
    from faceswap_parts.training.launcher import DevicesTrainer

    try:
        return DevicesTrainer(config, requested_model, devices)
    except FaceswapError as err:  # the same rule, in the notebook's words
        raise FaceswapError(f"DEVICES = {devices}: {err}") from None


def train_with_panel(trainer, panel: TrainingPanel, sync=None, max_minutes: float = 0):
    """Run ``trainer`` (a :class:`~faceswap_parts.training.Trainer` or a
    :class:`~faceswap_parts.training.launcher.DevicesTrainer`, as
    :func:`make_trainer` gives) up to the panel's iteration count, showing progress,
    previews and losses every display interval and stopping (with a saved
    checkpoint) when Stop is clicked, the cell is interrupted, or
    ``max_minutes`` (0 = no limit) have passed.

    ``sync`` (a :class:`faceswap_parts.notebooks.CheckpointSync`) copies the
    checkpoint to Drive after every save. Returns the trainer's ``TrainResult``
    (``None`` when the run was already at the target).
    """
    target = panel.iterations.value
    interval = max(1, panel.display_interval.value)
    trainer.config.preview_interval = interval
    save_interval = trainer.config.save_interval
    panel.begin(trainer.iteration)
    if trainer.iteration >= target:
        panel.finish(trainer.iteration, f"already at iteration {trainer.iteration} (target {target}): "
                                        "raise the iteration count to train more")
        return None

    deadline = time.monotonic() + max_minutes * 60 if max_minutes and max_minutes > 0 else None
    note = stop_button_note()
    if note:
        print(note)

    def callback(progress):
        last = progress.iteration == progress.total
        if deadline is not None and time.monotonic() > deadline and not panel.stop_requested:
            panel.request_stop()
            print(f"time limit of {max_minutes:g} min reached: stopping (run the cell again to continue)")
        interval = max(1, panel.display_interval.value)  # the slider may move during training
        trainer.config.preview_interval = interval
        stop = panel.update(progress.iteration, progress.losses, progress.preview_grid,
                            redraw=progress.iteration % interval == 0 or last)
        if sync is not None and save_interval and progress.iteration % save_interval == 0:
            sync.push()
        return False if stop else None

    try:
        result = trainer.train(target, callback=callback)
    except KeyboardInterrupt:
        if sync is not None:
            sync.push()
        panel.finish(trainer.iteration, f"interrupted at iteration {trainer.iteration}: checkpoint saved; "
                                        "run the cell again to resume")
        raise
    if sync is not None:
        sync.push()
    how = "stopped" if result.stopped_early else "finished"
    panel.finish(result.iteration, f"{how} at iteration {result.iteration}: checkpoint saved"
                 + (f" and copied to {sync.drive}" if sync is not None and not sync.same_place else ""))
    return result


def _loss_png(history: dict[str, list[tuple[int, float]]]) -> bytes:
    """The panel's live loss plot of ``{name: [(iteration, value), ...]}``."""
    return loss_plot_png({name: tuple(zip(*points)) for name, points in sorted(history.items()) if points},
                         size=(6, 3), dpi=80)
