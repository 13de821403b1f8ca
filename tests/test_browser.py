"""The Colab notebooks in a real browser, against what Colab's runtime ships
for its page: Jupyter Notebook 6.5 with ipywidgets 7.7 (in ``.browser-venv``,
made by ``tools/browser_env.sh``), opened in headless Chromium driven by
selenium. Marked ``browser``: ``.ci/run`` runs it as its own step, with that
environment's Python (``.browser-venv/bin/python -m pytest -m browser``).

The training notebook runs all cells in fast mode; the test reads the page's
DOM for the training panel (sliders, Start/Stop, a progress bar that moved,
preview image, loss plot), clicks Stop during the run and checks that the
checkpoint holds the iteration the panel shows. The conversion notebook then
converts with that model, and the browser must report a playable video.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import SHARED_DATA

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("FACESWAP_BROWSER_VENV", ROOT / ".browser-venv"))
PYTHON = VENV / "bin" / "python"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
TOKEN = "faceswap-browser-test"
#: Fast-mode training iterations: long enough to click Stop before it ends.
FAST_ITERATIONS = 2000


def _require_environment():
    if not PYTHON.is_file():
        pytest.skip(f"no {VENV.name} with Notebook 6.5 + ipywidgets 7.7: run tools/browser_env.sh")
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("chromium and chromedriver not installed: run tools/browser_env.sh (Debian packages)")
    versions = subprocess.run([str(PYTHON), "-c", "import notebook, ipywidgets; "
                               "print(notebook.__version__, ipywidgets.__version__)"],
                              capture_output=True, text=True)
    assert versions.returncode == 0, versions.stderr
    notebook_version, widgets_version = versions.stdout.split()
    assert notebook_version.startswith("6.5.") and widgets_version.startswith("7.7."), versions.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Notebook 6.5 server over a copy of ``colab/``, its kernels in fast mode."""
    _require_environment()
    home = tmp_path_factory.mktemp("browser")
    shutil.copytree(ROOT / "colab", home / "colab")
    port = _free_port()
    env = dict(os.environ, FACESWAP_FAST=str(FAST_ITERATIONS), MPLBACKEND="Agg",
               PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
               JUPYTER_PATH=str(VENV / "share" / "jupyter"), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), PYTHONUNBUFFERED="1")
    if (SHARED_DATA / "videos").is_dir():
        env["FACESWAP_SHARED_DATA"] = str(SHARED_DATA)
    log = open(home / "server.log", "w")
    proc = subprocess.Popen([str(PYTHON), "-m", "notebook", "--no-browser", "--allow-root", "--ip=127.0.0.1",
                             f"--port={port}", f"--NotebookApp.token={TOKEN}", f"--notebook-dir={home}"],
                            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT)
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


@pytest.fixture(scope="module")
def browser():
    _require_environment()
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
    """What the page shows where widgets go, and the browser console's last messages: why a widget did not render."""
    try:
        outputs = driver.execute_script(
            "return Array.from(document.querySelectorAll('.output_subarea')).slice(-3)"
            ".map(e => e.className + ': ' + e.innerText.slice(0, 200));")
        console = [f"{m['level']}: {m['message'][:300]}" for m in driver.get_log("browser")][-15:]
    except Exception as err:  # noqa: BLE001 - a report of the page state must not hide the timeout
        return f"\n(page state unavailable: {err})"
    return "\nlast outputs:\n  " + "\n  ".join(outputs) + "\nbrowser console:\n  " + "\n  ".join(console)


def _errors(driver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.output_error')).map(e => e.innerText.slice(0, 500));")


def _open_and_run_all(driver, base: str, path: str) -> None:
    driver.get(f"{base}/notebooks/{path}?token={TOKEN}")
    # The widget manager too: a widget whose model reaches the page before the manager has registered its
    # comm target is never drawn.
    _wait(lambda: driver.execute_script(
        "return !!(window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel"
        " && Jupyter.notebook.kernel.is_connected()"
        " && Jupyter.WidgetManager && Jupyter.WidgetManager._managers && Jupyter.WidgetManager._managers.length);"),
        90, f"{path}'s kernel and widget manager", driver=driver)
    driver.execute_script("Jupyter.notebook.execute_all_cells();")


def _all_cells_ran(driver) -> bool:
    errors = _errors(driver)
    assert not errors, f"a cell failed: {errors}"
    return driver.execute_script(
        "return Jupyter.notebook.get_cells().filter(c => c.cell_type === 'code')"
        ".every(c => typeof c.input_prompt_number === 'number');")


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


def test_training_panel_renders_runs_and_stops_with_a_checkpoint(server, browser, tmp_path):
    import torch
    from selenium.webdriver.common.by import By

    base, home = server
    _open_and_run_all(browser, base, "colab/faceswap_train.ipynb")
    # The kernel is Notebook 6.5's, with ipywidgets 7.7 (environment_report prints it) and nothing to install.
    _wait(lambda: "ipywidgets: 7.7." in browser.find_element(By.ID, "notebook").text, 120, "the versions report")
    assert "everything faceswap-parts needs is installed" in browser.find_element(By.ID, "notebook").text

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
    status = _wait(lambda: re.search(r"stopped at iteration (\d+): checkpoint saved",
                                     browser.find_element(By.ID, "notebook").text), 180, "the panel to say it stopped")
    shown = int(status.group(1))
    assert 6 <= shown < FAST_ITERATIONS, f"Stop was not honoured: stopped at {shown}"
    assert _progress(browser)[0] == shown
    _wait(lambda: _all_cells_ran(browser), 180, "the remaining cells")

    panel = browser.find_element(By.CSS_SELECTOR, ".widget-vbox")
    browser.execute_script("arguments[0].scrollIntoView();", panel)
    shot = tmp_path / "training_panel.png"
    panel.screenshot(str(shot))
    assert shot.stat().st_size > 5000
    print("training panel screenshot:", shot)

    checkpoints = list(home.glob("colab/workspace/*/runs/run/checkpoint.pt"))
    assert len(checkpoints) == 1, checkpoints
    state = torch.load(checkpoints[0], map_location="cpu", weights_only=True)
    assert int(state["iteration"]) == shown


def test_conversion_notebook_shows_a_playable_video(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    base, home = server
    if not list(home.glob("colab/workspace/*/runs/run/checkpoint.pt")):
        pytest.skip("needs the model the training test saves")
    _open_and_run_all(browser, base, "colab/faceswap_video_conversion.ipynb")
    _wait(lambda: _all_cells_ran(browser), 600, "the conversion notebook")
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
    video.screenshot(str(tmp_path / "result_video.png"))
    print(f"result video: {duration:.2f} s in the browser, screenshot {tmp_path / 'result_video.png'}")
