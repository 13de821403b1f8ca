#!/usr/bin/env bash
# The browser test's environment (tests/test_browser.py, marked `browser`):
# Debian's chromium and chromedriver, and a virtual environment `.browser-venv`
# over the installed package with what Colab's runtime ships for its page:
# Jupyter Notebook 6.5, ipywidgets 7.7, ipykernel 6.17; selenium drives the browser.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null
fi
python -m venv --system-site-packages .browser-venv
.browser-venv/bin/pip install -q "notebook==6.5.7" "ipywidgets==7.7.1" "ipykernel==6.17.1" "selenium>=4.10"
# A kernel of its own, so the notebooks run with ipywidgets 7.7 and not the outer environment's.
.browser-venv/bin/python -m ipykernel install --sys-prefix >/dev/null
