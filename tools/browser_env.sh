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
# Where the package is installed in a virtual environment of its own (CI's fresh one), --system-site-packages
# reaches only the base interpreter's: a .pth file adds that environment's packages after the browser venv's own.
outer="$(python -c 'import sys, sysconfig; print(sysconfig.get_path("purelib") if sys.prefix != sys.base_prefix else "")')"
if [ -n "$outer" ]; then
    .browser-venv/bin/python -c 'import sys, sysconfig; open(sysconfig.get_path("purelib") + "/outer-env.pth", "w").write(f"import site; site.addsitedir({sys.argv[1]!r})\n")' "$outer"
fi
.browser-venv/bin/pip install -q "notebook==6.5.7" "ipywidgets==7.7.1" "ipykernel==6.17.1" "selenium>=4.10"
# A kernel of its own, so the notebooks run with ipywidgets 7.7 and not the outer environment's.
.browser-venv/bin/python -m ipykernel install --sys-prefix >/dev/null
