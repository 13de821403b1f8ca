#!/bin/bash
# benchmarks/gpu_quality.py on the lent GPU machine (docs/gpu.md): offline, the package from the checkout on
# PYTHONPATH, what the image lacks unpacked from .devbundle (tools/device/make_bundle.sh). The work folder
# stays outside $OUT, which brings back only 8 files. BUNDLE, LIMIT (seconds) and BUDGET (gpu_quality's
# --budget-s) may be set; arguments go to gpu_quality.py.
set -u
export PYTHONUNBUFFERED=1
B=${BUNDLE:-$PWD/.devbundle}; S=/tmp/site; W=/tmp/gq; OUT=${OUT:-/tmp/out}
mkdir -p "$S" "$OUT"
T0=$(date +%s)
tar -xJf "$B/frm_slim.tar.xz" -C "$S" && tar -xJf "$B/iff.tar.xz" -C "$S"
python3 -m pip install -q --no-deps --no-index --target "$S" "$B"/*.whl 2>&1 | grep -v -i warning
export PYTHONPATH=$PWD:$S TORCH_HOME=$B/torch_home
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null
python3 -c "import sys,torch,cv2,numpy,dlib,imageio_ffmpeg,filterpy,face_recognition_models; print(sys.version.split()[0], torch.__version__, torch.cuda.is_available(), cv2.__version__, numpy.__version__, dlib.__version__, imageio_ffmpeg.get_ffmpeg_exe())"
echo "setup_s $(( $(date +%s) - T0 ))"
timeout "${LIMIT:-500}" python3 benchmarks/gpu_quality.py --clips benchmark_clips --out "$W" --budget-s "${BUDGET:-240}" "$@" 2>&1 | tee "$OUT/log.txt"
rc=${PIPESTATUS[0]}
echo "total_s $(( $(date +%s) - T0 )) rc $rc"
for f in gpu_quality.json curves.png contact_sheet.png points.jsonl; do [ -f "$W/$f" ] && cp "$W/$f" "$OUT/"; done
preview=$(find "$W" -name preview_latest.png | head -1); [ -n "$preview" ] && cp "$preview" "$OUT/"
(cd "$W" && find . -name '*.json' -not -path './faces_*/*' | tar -czf "$OUT/reports.tar.gz" -T -)
exit "$rc"
