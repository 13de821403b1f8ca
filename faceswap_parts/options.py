"""Every enumerated choice and shared default of the package, in one light
module (no numpy, OpenCV or torch), so configs, the CLI's ``--help`` and
``tools/make_notebooks.py`` offer the same choices the code accepts.

The modules that implement an option import its names from here and check
values against them.
"""

# -- faces ----------------------------------------------------------------------
#: 68-point landmark backends; ``auto`` takes the first of fan, dlib, mtcnn that loads.
LANDMARK_BACKENDS = ("auto", "fan", "dlib", "mtcnn")
#: Face regions a mask can cover (``face`` is the whole face up to the brows).
FACE_PARTS = ("eyes", "eyebrows", "nose", "mouth", "face")
#: MTCNN's P-Net, R-Net and O-Net score thresholds (O-Net's is v2.2's ``detec_threshold``).
DETECTION_THRESHOLDS = (0.6, 0.7, 0.7)
#: Smallest face, in pixels of the frame, that extraction and conversion keep.
MIN_FACE = 40
#: The detector sees every DETECT_EVERY-th frame; optical flow follows the faces in between.
DETECT_EVERY = 2
#: Fraction of the aligned face (a crop at coverage 1.0) the model sees by default.
FACE_COVERAGE = 0.625
SMOOTHING_METHODS = ("kalman", "moving-average", "none")
#: Kalman process-noise coefficient: smaller = smoother but laggier.
DEFAULT_KALMAN_NOISE = 0.25
#: Weight of the previous smoothed value in the exponential moving average.
DEFAULT_MOVING_AVERAGE = 0.65

# -- model ----------------------------------------------------------------------
IDENTITIES = ("A", "B")
#: Swap direction -> the identity whose decoder paints the output.
DIRECTIONS = {"AtoB": "B", "BtoA": "A"}
RESOLUTIONS = (64, 128, 256)
#: ``quick``: narrow, for a rough swap soon on a CPU or small GPU (docs/model.md).
CAPACITIES = ("quick", "lite", "standard")
#: Each named for what it computes. The Keras original's "instancenorm"
#: normalised over (H, W, C) per sample: that is ``layernorm`` here; its
#: "layernorm" normalised each channel over (H, W): that is ``instancenorm``.
NORMS = ("none", "batchnorm", "instancenorm", "layernorm", "groupnorm", "hybrid")
#: Arithmetic of training and inference: ``auto`` is bf16 where the CPU or GPU
#: computes it in hardware, fp16 on older CUDA GPUs (the T4), fp32 elsewhere.
PRECISIONS = ("auto", "fp32", "bf16", "fp16")

# -- training -------------------------------------------------------------------
GAN_LOSSES = ("mixup_lsgan", "relativistic_lsgan")
#: Perceptual-loss networks: ``auto`` is VGGFace2 where its weights can be had, else dlib's.
PERCEPTUAL_NETS = ("auto", "vggface2", "dlib")
#: What ``train --init-from`` copies from the other model: every network, or only the shared encoder.
INIT_PARTS = ("all", "encoder")
#: Named loss schedules (``train --schedule``): v2.2's, and v2.2's without its decoder swap for short runs.
SCHEDULE_NAMES = ("v2.2", "short")
#: Where augmentation runs: ``cpu`` (OpenCV in worker threads), ``device`` (batched tensor ops on the
#: training device), ``auto`` (the device when it is a CUDA GPU, which the CPU pipeline cannot feed at 64 px).
AUGMENT_ON = ("auto", "cpu", "device")
#: Parts whose masks (``masks --parts``) weight their own reconstruction and edge losses when present.
LOSS_PARTS = ("mouth", "nose")
#: Parts the look-alike augmentation can swap between faces.
AUGMENT_PARTS = ("eyes", "eyebrows", "nose", "mouth")

# -- notebooks ------------------------------------------------------------------
#: Where a notebook runs (README "Where it runs"): ``auto`` detects hosted Colab and Kaggle; a Colab page
#: on a local runtime cannot be told from a plain Jupyter kernel, so it is chosen by name.
RUNTIMES = ("auto", "colab", "colab-local", "kaggle", "jupyter")

# -- evaluation -----------------------------------------------------------------
#: Identity embedders: dlib's face-recognition ResNet rebuilt in torch (batched, the default) or dlib's own.
EMBEDDERS = ("dlib-torch", "dlib")

# -- conversion -----------------------------------------------------------------
OUTPUT_TYPES = ("result", "side-by-side", "triple")
COLOR_MODES = ("hist_match", "adain", "adain_xyz", "mean", "none")
#: How a generated face meets its frame: ``feather`` blends linearly with the
#: (feathered) weights; ``seamless`` first solves a Poisson equation over the
#: weighted region (``cv2.seamlessClone``, v2's ``use_poisson_blending``), so
#: the face takes the frame's colours and light at its edge, then blends.
BLENDS = ("feather", "seamless")
#: Which mask blends the generated face in: the model's attention mask (``learned``), the 68-point
#: face hull with a feathered edge (``face``), or the learned mask limited to that hull (``learned+face``).
CONVERT_MASKS = ("learned", "face", "learned+face")
#: Containers the video writer makes (H.264 video, AAC audio), chosen by the output's suffix.
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv")
#: x264's speed presets, fastest first (slower = smaller file at the same quality).
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")
