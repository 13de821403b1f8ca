#!/usr/bin/env bash
# The browser test's environments (tests/test_browser.py, marked `browser`):
# Debian's chromium and chromedriver, and two virtual environments over the
# installed package: `.browser-venv` with what Colab's runtime ships for its
# page (Jupyter Notebook 6.5, ipywidgets 7.7, ipykernel 6.17), and
# `.browser-lab-venv` with what a user's own GPU box or Kaggle runs
# (JupyterLab 4, ipywidgets 8); selenium drives the browser.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null
fi
outer="$(python -c 'import sys, sysconfig; print(sysconfig.get_path("purelib") if sys.prefix != sys.base_prefix else "")')"
make_venv() {  # VENV WIDGETS PACKAGE...
    local venv="$1" widgets="$2"
    shift 2
    python -m venv --system-site-packages "$venv"
    # Where the package is installed in a virtual environment of its own (CI's fresh one), --system-site-packages
    # reaches only the base interpreter's: a .pth file adds that environment's packages after this venv's own.
    if [ -n "$outer" ]; then
        "$venv/bin/python" -c 'import sys, sysconfig; open(sysconfig.get_path("purelib") + "/outer-env.pth", "w").write(f"import site; site.addsitedir({sys.argv[1]!r})\n")' "$outer"
    fi
    "$venv/bin/pip" install -q "$@" "selenium>=4.10"
    # ipywidgets' frontend files (share/jupyter) must be this venv's: an ipywidgets that the outer environment
    # already has would satisfy pip, and its files would lie where this venv's Jupyter does not look.
    # shellcheck disable=SC2086
    [ -z "$widgets" ] || "$venv/bin/pip" install -q --ignore-installed --no-deps $widgets
    # A kernel of its own, so the notebooks run with this venv's ipywidgets and not the outer environment's.
    "$venv/bin/python" -m ipykernel install --sys-prefix >/dev/null
}
make_venv .browser-venv "" "notebook==6.5.7" "ipywidgets==7.7.1" "ipykernel==6.17.1"
# ipykernel 6: under 7 the panel's Stop cannot see clicks (jupyter-ui-poll issue 54; the panel says so)
make_venv .browser-lab-venv "ipywidgets==8.1.* jupyterlab_widgets==3.0.*" "jupyterlab>=4.2,<5" "ipywidgets>=8.1,<9" \
    "ipykernel>=6.29,<7"
