"""The Colab notebooks in a real browser, in two frontends: what Colab's
runtime ships for its page, Jupyter Notebook 6.5 with ipywidgets 7.7
(``.browser-venv``), and what a user's own GPU box or Kaggle runs, JupyterLab 4
with ipywidgets 8 (``.browser-lab-venv``; both made by
``tools/browser_env.sh``), opened in headless Chromium driven by selenium.
Marked ``browser``: ``.ci/run`` runs it as its own step
(``.browser-venv/bin/python -m pytest -m browser``).

The training notebook runs all cells in fast mode; the test reads the page's
DOM for the training panel (sliders, Start/Stop, a progress bar that moved,
preview image, loss plot), clicks Stop during the run and checks that the
checkpoint holds the iteration the panel shows. The conversion notebook then
converts with that model, and the browser must report a playable video. The
JupyterLab run also lays out Kaggle's folders (a read-only input folder with
the video, a working folder for the workspace, set by the environment
variables the workspace honours), so the notebooks detect Kaggle and keep
their work in the working folder.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import SHARED_DATA

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
TOKEN = "faceswap-browser-test"
#: Fast-mode training iterations: long enough to click Stop before it ends.
FAST_ITERATIONS = 2000


@dataclass(frozen=True)
class Frontend:
    """One notebook frontend: its environment, the versions it must hold and how its page is driven."""

    name: str
    venv: Path
    versions: tuple[str, str]  # the frontend's and ipywidgets' version prefixes
    kaggle: bool  # lay out Kaggle's folders for its kernels

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


FRONTENDS = {
    "notebook6": Frontend("notebook6", Path(os.environ.get("FACESWAP_BROWSER_VENV", ROOT / ".browser-venv")),
                          ("6.5.", "7.7."), kaggle=False),
    "lab4": Frontend("lab4", Path(os.environ.get("FACESWAP_BROWSER_LAB_VENV", ROOT / ".browser-lab-venv")),
                     ("4.", "8."), kaggle=True),
}


def _require_environment(frontend: Frontend):
    if not frontend.python.is_file():
        pytest.skip(f"no {frontend.venv.name} for the {frontend.name} frontend: run tools/browser_env.sh")
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromedriver not installed: run tools/browser_env.sh (Debian packages)")
    module = "notebook" if frontend.name == "notebook6" else "jupyterlab"
    versions = subprocess.run([str(frontend.python), "-c", f"import {module}, ipywidgets; "
                               f"print({module}.__version__, ipywidgets.__version__)"],
                              capture_output=True, text=True)
    assert versions.returncode == 0, versions.stderr
    app_version, widgets_version = versions.stdout.split()
    assert app_version.startswith(frontend.versions[0]) and widgets_version.startswith(frontend.versions[1]), \
        versions.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", params=list(FRONTENDS))
def frontend(request) -> Frontend:
    return FRONTENDS[request.param]


@pytest.fixture(scope="module")
def server(tmp_path_factory, frontend):
    """The frontend's server over a copy of ``colab/``, its kernels in fast mode; for JupyterLab also
    Kaggle's read-only input folder (holding the sample video) and working folder."""
    _require_environment(frontend)
    home = tmp_path_factory.mktemp(f"browser-{frontend.name}")
    shutil.copytree(ROOT / "colab", home / "colab")
    port = _free_port()
    venv = frontend.venv
    env = dict(os.environ, FACESWAP_FAST=str(FAST_ITERATIONS), MPLBACKEND="Agg",
               PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
               JUPYTER_PATH=str(venv / "share" / "jupyter"), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), PYTHONUNBUFFERED="1")
    env.pop("KAGGLE_KERNEL_RUN_TYPE", None)
    if (SHARED_DATA / "videos").is_dir():
        env["FACESWAP_SHARED_DATA"] = str(SHARED_DATA)
    if frontend.kaggle:
        _kaggle_layout(home, env)
    if frontend.name == "notebook6":
        command = ["-m", "notebook", f"--NotebookApp.token={TOKEN}", f"--notebook-dir={home}"]
    else:
        # every cell in the DOM (no windowing) and the app as window.jupyterapp, for the test to drive
        settings = home / "lab-settings" / "@jupyterlab" / "notebook-extension"
        settings.mkdir(parents=True)
        (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
        env["JUPYTERLAB_SETTINGS_DIR"] = str(home / "lab-settings")
        command = ["-m", "jupyterlab", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={home}",
                   "--expose-app-in-browser"]
    log = open(home / "server.log", "w")
    proc = subprocess.Popen([str(frontend.python), *command, "--no-browser", "--allow-root", "--ip=127.0.0.1",
                             f"--port={port}"], cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the notebook server did not start: {(home / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
    yield base, home
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    for folder in home.glob("kaggle/input/**/"):
        folder.chmod(0o755)


def _kaggle_layout(home: Path, env: dict) -> None:
    """Kaggle's folders under ``home``: the conversion notebook reads its video from the read-only input."""
    from test_notebooks import set_params

    import nbformat

    inputs, working = home / "kaggle" / "input", home / "kaggle" / "working"
    (inputs / "faceswap-videos").mkdir(parents=True)
    working.mkdir()
    env.update(FACESWAP_KAGGLE_INPUT=str(inputs), FACESWAP_KAGGLE_WORKING=str(working))
    clip = SHARED_DATA / "videos" / "person_a_3s.mp4"
    if clip.is_file():
        shutil.copy(clip, inputs / "faceswap-videos" / clip.name)
        path = home / "colab" / "faceswap_video_conversion.ipynb"
        notebook = nbformat.read(path, as_version=4)
        set_params(notebook, VIDEO=str(inputs / "faceswap-videos" / clip.name))
        nbformat.write(notebook, path)
    for folder in (inputs / "faceswap-videos", inputs):
        folder.chmod(0o555)


def _checkpoints(home: Path, frontend: Frontend) -> list[Path]:
    """Where the training notebook's run saved: the working folder on Kaggle, else the workspace beside it."""
    pattern = "kaggle/working/*/runs/run/checkpoint.pt" if frontend.kaggle else "colab/workspace/*/runs/run/checkpoint.pt"
    return list(home.glob(pattern))


@pytest.fixture(scope="module")
def browser(frontend):
    _require_environment(frontend)
    pytest.importorskip("selenium", reason="selenium is in .browser-venv: run this test with "
                                           ".browser-venv/bin/python -m pytest -m browser")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1800",
                "--autoplay-policy=no-user-gesture-required"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console messages, for failure reports
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def _wait(predicate, timeout: float, what: str, poll: float = 0.5, driver=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}" + (_page_state(driver) if driver else ""))


def _page_state(driver) -> str:
    """What the page shows where outputs go, and the browser console's last messages: why a widget did not render."""
    try:
        outputs = driver.execute_script(
            "return Array.from(document.querySelectorAll('.output_subarea, .jp-OutputArea-output')).slice(-3)"
            ".map(e => e.className + ': ' + e.innerText.slice(0, 200));")
        console = [f"{m['level']}: {m['message'][:300]}" for m in driver.get_log("browser")][-15:]
        panel = driver.execute_script("const p = document.querySelector('.widget-vbox'); return p ? p.innerText : '';")
    except Exception as err:  # noqa: BLE001 - a report of the page state must not hide the timeout
        return f"\n(page state unavailable: {err})"
    return ("\nlast outputs:\n  " + "\n  ".join(outputs) + f"\ntraining panel: {panel[-600:]!r}"
            + "\nbrowser console:\n  " + "\n  ".join(console))


#: The open notebook's code cells as {count, errors} in each frontend's own model.
_CELLS_JS = {
    "notebook6": """
        const cells = Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code');
        return cells.map(c => ({count: c.input_prompt_number,
            errors: c.output_area.outputs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue)}));""",
    "lab4": """
        const cells = window.jupyterapp.shell.currentWidget.content.widgets.filter(c => c.model.type === 'code');
        return cells.map(c => ({count: c.model.executionCount,
            errors: c.model.outputs.toJSON().filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue)}));""",
}
#: True once the notebook's kernel is connected and idle, and (Notebook 6.5) its widget manager registered.
_READY_JS = {
    "notebook6": """
        return !!(window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected()
                  && Jupyter.WidgetManager && Jupyter.WidgetManager._managers && Jupyter.WidgetManager._managers.length);""",
    "lab4": """
        const app = window.jupyterapp, w = app && app.shell.currentWidget;
        const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
        return !!(kernel && w.context.path === arguments[0] && kernel.connectionStatus === 'connected'
                  && kernel.status === 'idle');""",
}
_RUN_ALL_JS = {"notebook6": "Jupyter.notebook.execute_all_cells();",
               "lab4": "window.jupyterapp.commands.execute('notebook:run-all-cells');"}


def _open_and_run_all(driver, frontend: Frontend, base: str, path: str) -> None:
    url = f"{base}/notebooks/{path}" if frontend.name == "notebook6" else f"{base}/lab/tree/{path}"
    driver.get(f"{url}?token={TOKEN}")
    # The widget manager too: a widget whose model reaches the page before the manager has registered its
    # comm target is never drawn.
    _wait(lambda: driver.execute_script(_READY_JS[frontend.name], path), 120,
          f"{path}'s kernel and widget manager", driver=driver)
    driver.execute_script(_RUN_ALL_JS[frontend.name])


def _all_cells_ran(driver, frontend: Frontend) -> bool:
    cells = driver.execute_script(_CELLS_JS[frontend.name])
    errors = [e[:500] for cell in cells for e in cell["errors"]]
    assert not errors, f"a cell failed: {errors}"
    return all(isinstance(cell["count"], int) and cell["count"] > 0 for cell in cells)


def _page_text(driver) -> str:
    return driver.execute_script("return document.body.innerText;")


def _button(driver, text: str):
    from selenium.webdriver.common.by import By

    for button in driver.find_elements(By.CSS_SELECTOR, "button.widget-button"):
        if button.text.strip().startswith(text):
            return button
    return None


def _progress(driver) -> tuple[int, float]:
    """(iteration in the progress label, bar width in %) of the training panel."""
    label, width = driver.execute_script(
        "const p = document.querySelector('.widget-hprogress');"
        "if (!p) return ['', 0];"
        "const bar = p.querySelector('.progress-bar');"
        "return [p.querySelector('.widget-label').innerText, parseFloat(bar.style.width || '0')];")
    match = re.match(r"\s*(\d+)\s*/", label or "")
    return (int(match.group(1)) if match else -1), width


def _image_sizes(driver) -> list[int]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('img.widget-image')).map(i => i.naturalWidth);")


def test_training_panel_renders_runs_and_stops_with_a_checkpoint(frontend, server, browser, tmp_path):
    import torch
    from selenium.webdriver.common.by import By

    base, home = server
    _open_and_run_all(browser, frontend, base, "colab/faceswap_train.ipynb")
    # The kernel is the frontend's, with its ipywidgets (environment_report prints it) and nothing to install.
    _wait(lambda: f"ipywidgets: {frontend.versions[1]}" in _page_text(browser), 120, "the versions report",
          driver=browser)
    assert "everything faceswap-parts needs is installed" in _page_text(browser)
    if frontend.kaggle:
        assert "Kaggle: workspace" in _page_text(browser)

    _wait(lambda: _button(browser, "Stop") is not None, 300, "the training panel", driver=browser)
    sliders = browser.find_elements(By.CSS_SELECTOR, ".widget-slider")
    labels = [s.text for s in sliders]
    assert len(sliders) >= 2 and any("iterations" in t for t in labels) and any("display every" in t for t in labels)
    assert _button(browser, "Start") is not None

    # Let it train a few iterations: the bar and its label move.
    _wait(lambda: _progress(browser)[0] >= 6 and _progress(browser)[1] > 0, 300, "the progress bar to advance")
    _wait(lambda: sum(w > 0 for w in _image_sizes(browser)) >= 2, 120, "the preview image and the loss plot")
    stop = _button(browser, "Stop")
    assert stop.is_enabled()
    stop.click()
    status = _wait(lambda: re.search(r"stopped at iteration (\d+): checkpoint saved", _page_text(browser)), 180,
                   "the panel to say it stopped", driver=browser)
    shown = int(status.group(1))
    assert 6 <= shown < FAST_ITERATIONS, f"Stop was not honoured: stopped at {shown}"
    assert _progress(browser)[0] == shown
    _wait(lambda: _all_cells_ran(browser, frontend), 180, "the remaining cells")

    panel = browser.find_element(By.CSS_SELECTOR, ".widget-vbox")
    browser.execute_script("arguments[0].scrollIntoView();", panel)
    shot = tmp_path / f"training_panel_{frontend.name}.png"
    panel.screenshot(str(shot))
    assert shot.stat().st_size > 5000
    print("training panel screenshot:", shot)

    checkpoints = _checkpoints(home, frontend)
    assert len(checkpoints) == 1, checkpoints
    state = torch.load(checkpoints[0], map_location="cpu", weights_only=True)
    assert int(state["iteration"]) == shown


def test_conversion_notebook_shows_a_playable_video(frontend, server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    base, home = server
    if not _checkpoints(home, frontend):
        pytest.skip("needs the model the training test saves")
    inputs = sorted(p.name for p in home.glob("kaggle/input/**/*"))
    _open_and_run_all(browser, frontend, base, "colab/faceswap_video_conversion.ipynb")
    _wait(lambda: _all_cells_ran(browser, frontend), 600, "the conversion notebook")
    if frontend.kaggle:  # the result went to the working folder; the read-only input is as it was
        assert list(home.glob("kaggle/working/*/outputs/*.mp4")) and sorted(
            p.name for p in home.glob("kaggle/input/**/*")) == inputs
    _wait(lambda: browser.find_elements(By.TAG_NAME, "video"), 30, "the result's video element")
    duration = _wait(lambda: browser.execute_script(
        "const v = document.querySelector('video');"
        "return v.readyState >= 1 && v.duration > 0 ? v.duration : 0;"), 60, "the browser to load the video")
    # Playable, not just parsed: the browser decodes frames and playback moves.
    browser.execute_script("const v = document.querySelector('video'); v.muted = true; v.loop = false; v.play();")
    _wait(lambda: browser.execute_script(
        "const v = document.querySelector('video'); return v.readyState >= 2 && (v.currentTime > 0 || v.ended);"),
        60, "the video to play")
    assert browser.execute_script("return document.querySelector('video').error") is None
    video = browser.find_element(By.TAG_NAME, "video")
    browser.execute_script("const v = arguments[0]; v.pause(); v.currentTime = v.duration / 2; v.scrollIntoView();",
                           video)
    time.sleep(1)
    video.screenshot(str(tmp_path / f"result_video_{frontend.name}.png"))
    print(f"result video: {duration:.2f} s in the browser, screenshot {tmp_path / f'result_video_{frontend.name}.png'}")
