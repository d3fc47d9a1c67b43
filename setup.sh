#!/usr/bin/env bash
# Set up everything `grade` needs on a fresh Debian/Ubuntu machine (idempotent):
# system packages (bubblewrap for the sandbox, Debian's real Fashion-MNIST), a
# virtual environment in .venv with the package and its dependencies, and the data
# store with real MNIST when a copy is at hand.
set -euo pipefail
cd "$(dirname "$0")"
need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2 ' || need+=(libseccomp2)
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
# The browser tests (tests/test_report_browser.py) look at reports in headless Chromium,
# with a font for Korean text: only when asked, so the usual set-up stays light.
if [ "${GRADER_BROWSER_TESTS:-}" = 1 ]; then
  command -v chromium >/dev/null || need+=(chromium)
  fc-list :lang=ko 2>/dev/null | grep -q . || need+=(fonts-noto-cjk)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "setup: please install: ${need[*]} (the grader refuses to run student code without bubblewrap)" >&2
  fi
fi
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
GPU_EXTRA=tensorflow
if command -v nvidia-smi >/dev/null 2>&1; then GPU_EXTRA=gpu; fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# GRADER_RAY=1: also Ray, for `grade --ray` (a cluster; README: A cluster on Ray):
# ~11 s and 240 MB more, in the venv the kernels share, so only when asked.
EXTRAS="${GPU_EXTRA},dev"
if [ "${GRADER_RAY:-}" = 1 ]; then EXTRAS="${EXTRAS},ray"; fi
.venv/bin/python -m pip install -q -e ".[${EXTRAS}]"
# Byte-code of the grader's own modules (an editable install leaves them uncompiled, and
# where PYTHONDONTWRITEBYTECODE is set nothing ever writes it): every `grade`, fork server
# and kernel bootstrap would compile them again (a regrade: 0.16 -> 0.13 s).
.venv/bin/python -m compileall -q grader >/dev/null
# Real MNIST into the data store, from a local copy or the network (Debian's
# Fashion-MNIST is imported on first use). Without either, the smoke profile still works.
if ! .venv/bin/grade data status 2>/dev/null | grep -Eqi '^mnist +(official|real|differs)'; then
  if [ -d ../shared/data/mnist ]; then
    .venv/bin/grade data import mnist ../shared/data/mnist
  else
    .venv/bin/grade data fetch mnist || echo "setup: no MNIST yet: only the smoke profile can run conv2d_simple"
  fi
fi
echo "setup: ready (.venv/bin/grade)"
