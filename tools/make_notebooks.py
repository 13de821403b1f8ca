"""Generate the notebook suite from this file, so the notebooks stay valid,
output-free and identical in their shared cells.

    python tools/make_notebooks.py            # write the five notebooks (and the README's badges)
    python tools/make_notebooks.py --repo OWNER/NAME   # the same, installing from that GitHub repository
    python tools/make_notebooks.py --check    # exit 1 if any notebook is out of date
    python tools/make_notebooks.py --badges   # print "Open in Colab" badges for the README

Colab badges and the install cell need the GitHub address of the repository:
``--repo OWNER/NAME`` writes it into every notebook's install cell and into
the README's badge block, which records it for later runs (``--check`` reads
it there; without one, git's ``origin`` remote). With none, the notebooks ask
the user for it in their install cell and ``--badges`` says what is missing
instead of printing made-up links.

Every cell only calls into ``faceswap_parts``: no model, loss or video code
lives in a notebook.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from faceswap_parts.options import (BLENDS, CAPACITIES, COLOR_MODES, CONVERT_MASKS, SCHEDULE_NAMES, DEFAULT_KALMAN_NOISE, DEFAULT_MOVING_AVERAGE, DETECT_EVERY,
                                    DETECTION_THRESHOLDS, DIRECTIONS, LANDMARK_BACKENDS,
                                    MIN_FACE, OUTPUT_TYPES, PERCEPTUAL_NETS, PRECISIONS, RESOLUTIONS,
                                    RUNTIMES, SMOOTHING_METHODS)

ROOT = Path(__file__).resolve().parents[1]

NOTEBOOKS = {
    "video_face_detection_alignment.ipynb": "detection",
    "prep_binary_masks.ipynb": "masks",
    "faceswap-demo.ipynb": "demo",
    "colab/faceswap_train.ipynb": "train",
    "colab/faceswap_video_conversion.ipynb": "conversion",
}


def github_repo(explicit: str | None = None) -> str | None:
    """``OWNER/NAME`` of the GitHub repository (``--repo`` or git's origin), or None."""
    if explicit:
        match = re.fullmatch(r"(?:https://github\.com/)?([\w.-]+/[\w.-]+?)(?:\.git)?/?", explicit.strip())
        if match is None:
            raise SystemExit(f"--repo {explicit!r}: expected OWNER/NAME (or https://github.com/OWNER/NAME)")
        return match.group(1)
    try:
        url = subprocess.run(["git", "remote", "get-url", "origin"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    match = re.search(r"github\.com[:/]([^/]+/[^/]+?)(?:\.git)?$", url)
    return match.group(1) if match else None


def colab_url(repo: str, path: str, branch: str = "main") -> str:
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/{path}"


def badge(repo: str, path: str) -> str:
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(repo, path)})"


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))


# --------------------------------------------------------------------------- shared cells

def install_cell(repo: str | None):
    source = f"git+https://github.com/{repo}" if repo else ""
    return code(f'''
#@title Install faceswap-parts (skipped when it is already installed)
#@markdown `PACKAGE_SOURCE`: the faceswap-parts repository as a pip source (`git+https://github.com/OWNER/NAME`)
#@markdown or a folder holding its `pyproject.toml` (for example a copy on your Drive).
PACKAGE_SOURCE = "{source}"  #@param {{type:"string"}}
import importlib.util, subprocess, sys

if importlib.util.find_spec("faceswap_parts") is None:
    if not PACKAGE_SOURCE:
        raise SystemExit("faceswap-parts is not installed: set PACKAGE_SOURCE to the repository's "
                         "git+https://github.com/... address or to a folder with its pyproject.toml, then run this cell again")
    if PACKAGE_SOURCE.startswith("/content/drive"):
        from google.colab import drive
        drive.mount("/content/drive")
    # Lower bounds only: Colab's torch, numpy, OpenCV and ipywidgets stay as they are.
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", PACKAGE_SOURCE], check=True)
# The rest only where missing: MTCNN weight files, dlib's model files (dlib itself only without one), widgets.
from faceswap_parts.runtime_install import install_runtime

install_runtime()
''')


def setup_cell(default_workspace: str = "faceswap-parts"):
    return code(f'''
#@title Workspace, versions and device
#@markdown In Colab the workspace is a folder on your Google Drive (you will be asked to allow access),
#@markdown so training survives a disconnected runtime. On Kaggle it is in `/kaggle/working` (what persists);
#@markdown elsewhere `workspace/<name>` here. `RUNTIME`: auto detects hosted Colab and Kaggle; choose
#@markdown colab-local for Colab's page on your own runtime (README: "Where it runs").
WORKSPACE = "{default_workspace}"  #@param {{type:"string"}}
USE_DRIVE = True  #@param {{type:"boolean"}}
RUNTIME = "auto"  #@param {options(RUNTIMES)}
from faceswap_parts import notebooks as nb

nb.show_errors_briefly()  # problems with your input show as one red line, not a traceback
FAST = nb.fast_mode()  # FACESWAP_FAST=1: tiny settings (CI, smoke tests)
ws = nb.setup_workspace(WORKSPACE, use_drive=USE_DRIVE, runtime=RUNTIME)
env = nb.environment_report()
''')


def inputs_cell(both: bool = True):
    b_lines = '''
VIDEO_B = ""  #@param {type:"string"}''' if both else ""
    b_get = '''
video_b = nb.get_video(VIDEO_B, ws.path("inputs"), "person_b", default=sample_b)''' if both else ""
    return code(f'''
#@title Input videos
#@markdown Leave empty for the sample clips. Otherwise: a path (e.g. `/content/drive/MyDrive/me.mp4`),
#@markdown `upload` (pick a file in the browser), or a Google Drive share link / file ID.
VIDEO_A = ""  #@param {{type:"string"}}{b_lines}
sample_a, sample_b = nb.sample_videos(ws)
video_a = nb.get_video(VIDEO_A, ws.path("inputs"), "person_a", default=sample_a){b_get}
''')


def header(title: str, body: str, path: str, repo: str | None):
    opener = (badge(repo, path) if repo else
              "Open it in Colab from GitHub (File > Open notebook > GitHub) or upload it (File > Upload notebook); "
              "see docs/notebooks.md.")
    return md(f'''
# {title}

{opener}

{body.strip()}

Run the cells top to bottom (Runtime > Run all). Every cell calls the `faceswap_parts` package; the
settings are form fields on the right of each cell.

**Consent.** Use only faces you have the right to use: your own, or those of people who agreed to this use.
Every converted video and image is tagged as synthetic in its metadata (`faceswap-parts inspect` reads it);
`LABEL` adds a visible one.

Google's Colab FAQ lists creating deepfakes among what its hosted runtimes disallow: run this notebook on a
Colab local runtime, Kaggle or your own Jupyter instead (the README's "Where it runs").
''')


# --------------------------------------------------------------------------- stage cells

def options(values) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


#: ``<<NAME>>`` placeholders filled in every cell: the choices and defaults the code itself accepts.
OPTION_VALUES = {name: options(values) for name, values in (
    ("LANDMARK_BACKENDS", LANDMARK_BACKENDS), ("DIRECTIONS", list(DIRECTIONS)), ("OUTPUT_TYPES", OUTPUT_TYPES),
    ("COLOR_MODES", COLOR_MODES), ("SMOOTHING_METHODS", SMOOTHING_METHODS), ("PRECISIONS", PRECISIONS),
    ("BLENDS", BLENDS), ("CAPACITIES", CAPACITIES), ("PERCEPTUAL_NETS", PERCEPTUAL_NETS),
    ("CONVERT_MASKS", CONVERT_MASKS), ("SCHEDULE_NAMES", SCHEDULE_NAMES))}
OPTION_VALUES["RESOLUTIONS"] = "[" + ", ".join(map(str, RESOLUTIONS)) + "]"
OPTION_VALUES.update(DEFAULT_KALMAN_NOISE=DEFAULT_KALMAN_NOISE, DEFAULT_MOVING_AVERAGE=DEFAULT_MOVING_AVERAGE,
                     DETECT_EVERY=DETECT_EVERY, MIN_FACE=MIN_FACE, DETECT_THRESHOLD=DETECTION_THRESHOLDS[2])


def fill(template: str, **values) -> str:
    """``template`` with each ``<<NAME>>`` replaced (no brace escaping in cell code); the
    package's option lists and defaults (:data:`OPTION_VALUES`) fill their names everywhere."""
    for key, value in {**OPTION_VALUES, **values}.items():
        template = template.replace(f"<<{key}>>", str(value))
    return template


EXTRACT = """
#@title Extract faces: detect, align, crude eye masks
#@markdown `MAX_FRAMES` = 0 reads the whole video; `EVERY` = N keeps every N-th frame; `DETECT_EVERY` = K runs the detector on every K-th kept frame and follows the faces by optical flow in between (1 = detect on every frame).
MAX_FRAMES = 0  #@param {type:"integer"}
EVERY = 1  #@param {type:"integer"}
DETECT_EVERY = <<DETECT_EVERY>>  #@param {type:"integer"}
LANDMARKS = "auto"  #@param <<LANDMARK_BACKENDS>>
MIN_FACE = <<MIN_FACE>>  #@param {type:"integer"}
#@markdown Keep a face set already in the workspace instead of extracting again.
SKIP_EXISTING = <<SKIP>>  #@param {type:"boolean"}
from faceswap_parts.extraction import extract_video

faces = {}
for label, video in (("person_a", video_a), ("person_b", video_b)):
    faces[label] = ws.path("faces", label)
    if SKIP_EXISTING and nb.has_faces(faces[label]):
        print(f"{label}: using the faces already in {faces[label]}")
        continue
    summary = extract_video(video, faces[label], every=EVERY, detect_every=DETECT_EVERY, landmarks=LANDMARKS,
                            min_face=MIN_FACE, max_frames=12 if FAST else (MAX_FRAMES or None), overwrite=True)
    print(summary)
"""

MASKS = """
#@title Part masks from 68-point landmarks
#@markdown Comma-separated masks among eyes, eyebrows, nose, mouth, face (`+` joins parts into one mask, e.g. `nose+mouth`).
MASK_PARTS = "<<PARTS>>"  #@param {type:"string"}
LANDMARKS = "auto"  #@param <<LANDMARK_BACKENDS>>
#@markdown For plain folders of images: take every image as an aligned face crop instead of detecting faces.
ASSUME_ALIGNED = False  #@param {type:"boolean"}
from faceswap_parts.masking import make_masks

for label, folder in faces.items():
    masks_summary = make_masks(folder, parts=MASK_PARTS, landmarks=LANDMARKS, assume_aligned=ASSUME_ALIGNED)
    print(label, masks_summary)
"""

SHOW_MASKS = """
#@title The new masks (red)
from IPython.display import display
from PIL import Image

for label, folder in faces.items():
    for part in masks_summary.parts:
        print(label, part)
        display(Image.fromarray(nb.face_grid(folder, n=8, mask_part=part)))
"""

SHOW_FACES = """
#@title Aligned faces with their <<PART>> masks (red)
from IPython.display import display
from PIL import Image

for label, folder in faces.items():
    print(label, folder)
    display(Image.fromarray(nb.face_grid(folder, n=8, mask_part="<<PART>>")))
"""

FACES_INPUT = """
#@title Face sets
#@markdown Folders written by `video_face_detection_alignment.ipynb` (or any folders of face images).
#@markdown Leave empty to use (or make, from the sample clips) `faces/person_a` and `faces/person_b` in the workspace.
FACES_A = ""  #@param {type:"string"}
FACES_B = ""  #@param {type:"string"}
faces = nb.face_sets(ws, FACES_A, FACES_B, max_frames=12 if FAST else None)
"""

TRAIN_SETTINGS = """
#@title Training settings
#@markdown The run folder on Drive keeps the checkpoint: running all cells again resumes where training stopped
#@markdown (the architecture then comes from the checkpoint).
RUN_NAME = "run"  #@param {type:"string"}
RESOLUTION = <<RESOLUTION>>  #@param <<RESOLUTIONS>> {type:"raw"}
CAPACITY = "<<CAPACITY>>"  #@param <<CAPACITIES>>
ITERATIONS = <<ITERATIONS>>  #@param {type:"integer"}
PREVIEW_INTERVAL = <<PREVIEW>>  #@param {type:"integer"}
SAVE_INTERVAL = <<SAVE>>  #@param {type:"integer"}
BATCH_SIZE = <<BATCH>>  #@param {type:"integer"}
#@markdown Stop (and save) after this many minutes, 0 = no limit.
MAX_MINUTES = <<MINUTES>>  #@param {type:"number"}
PERCEPTUAL_LOSS = <<PERCEPTUAL>>  #@param {type:"boolean"}
#@markdown auto: VGGFace2 where its weights download, else dlib's face network (offline).
PERCEPTUAL_NET = "auto"  #@param <<PERCEPTUAL_NETS>>
#@markdown Look-alike parts augmentation: swap these parts (eyes, eyebrows, nose, mouth) in from the other person's most alike faces on `PARTS_PROB` of the samples (empty: off).
PARTS_AUGMENT = ""  #@param {type:"string"}
PARTS_PROB = 0.25  #@param {type:"slider", min:0.0, max:1.0, step:0.05}
PARTS_KNN = 5  #@param {type:"integer"}
#@markdown `SCHEDULE`: short = v2.2's loss schedule without its decoder swap, for runs of a few thousand iterations.
SCHEDULE = "v2.2"  #@param <<SCHEDULE_NAMES>>
#@markdown `INIT_FROM`: a trained run folder (e.g. a pretrained model) to start a new run from (empty: from scratch).
INIT_FROM = ""  #@param {type:"string"}
#@markdown `DEVICES`: GPUs to train on, one process each (Kaggle's "GPU T4 x2": 2); `BATCH_SIZE` is the total over them.
DEVICES = 1  #@param {type:"integer"}
AUTO_START = True  #@param {type:"boolean"}
from faceswap_parts.config import SCHEDULES
from faceswap_parts.training import TrainConfig

# Faces are read from local disk (Drive is slow with many small files); the checkpoint lives on Drive.
local_faces = [nb.copy_to_local(folder, ws.local_path("faces_local", label)) for label, folder in faces.items()]
run_dir = ws.path("runs", RUN_NAME)
sync = nb.CheckpointSync(ws.local_path("runs_local", RUN_NAME), run_dir)
if sync.restore():
    print("resuming the checkpoint in", run_dir)
config = TrainConfig(a_dir=str(local_faces[0]), b_dir=str(local_faces[1]), workdir=str(sync.local),
                     batch_size=2 if FAST else BATCH_SIZE, save_interval=2 if FAST else SAVE_INTERVAL,
                     backup_interval=0 if FAST else 5000, perceptual=PERCEPTUAL_LOSS and not FAST,
                     perceptual_net=PERCEPTUAL_NET, parts_augment=PARTS_AUGMENT, parts_prob=PARTS_PROB,
                     parts_knn=PARTS_KNN, schedule=SCHEDULES[SCHEDULE](),
                     init_from=INIT_FROM and str(ws.path("runs", INIT_FROM)), progress=False)
trainer = nb.make_trainer(config, nb.fast_model() if FAST else {"resolution": RESOLUTION, "capacity": CAPACITY},
                          devices=DEVICES)
print(f"model: {trainer.config.model}; starting at iteration {trainer.iteration}")
"""

TRAIN = """
#@title Train (Stop saves a checkpoint; so does interrupting the cell)
#@markdown The sliders start at the settings above; with `AUTO_START` unticked the cell waits for Start.
from faceswap_parts.notebooks.panel import TrainingPanel, train_with_panel

panel = TrainingPanel(iterations=trainer.iteration + nb.fast_iterations() if FAST else ITERATIONS,
                      display_interval=2 if FAST else PREVIEW_INTERVAL).display()
panel.wait_for_start(auto_start=AUTO_START)
result = train_with_panel(trainer, panel, sync=sync, max_minutes=MAX_MINUTES)
"""

TRAIN_RESULTS = """
#@title Latest preview and loss curves
for name in ("preview_latest.png", "loss_curve.png"):
    if (run_dir / name).is_file():
        nb.show_image(run_dir / name)
"""

CONVERTER_SETTINGS = """
#@title Converter options
DIRECTION = "AtoB"  #@param <<DIRECTIONS>>
OUTPUT_TYPE = "result"  #@param <<OUTPUT_TYPES>>
COLOR_CORRECTION = "adain"  #@param <<COLOR_MODES>>
SMOOTHING = "kalman"  #@param <<SMOOTHING_METHODS>>
KALMAN_NOISE = <<DEFAULT_KALMAN_NOISE>>  #@param {type:"number"}
MOVING_AVERAGE = <<DEFAULT_MOVING_AVERAGE>>  #@param {type:"number"}
#@markdown `PARTS`: swap only these regions, comma-separated among eyes, eyebrows, nose, mouth, face (empty: the whole face).
PARTS = ""  #@param {type:"string"}
#@markdown `MASK`: learned = the model's attention mask; face = the 68-point face hull, feathered; learned+face = the learned mask inside the hull.
MASK = "learned"  #@param <<CONVERT_MASKS>>
LANDMARKS = "auto"  #@param <<LANDMARK_BACKENDS>>
DETECT_EVERY = <<DETECT_EVERY>>  #@param {type:"integer"}
AUTO_DOWNSCALE = True  #@param {type:"boolean"}
ROI_COVERAGE = 0.9  #@param {type:"slider", min:0.2, max:1.0, step:0.05}
FEATHER = 0.15  #@param {type:"slider", min:0.0, max:0.5, step:0.01}
#@markdown `BLEND`: seamless = Poisson blending (the face takes the frame's colours at its edge). `ENHANCE`: local contrast added to the generated face.
BLEND = "feather"  #@param <<BLENDS>>
ENHANCE = 0.0  #@param {type:"slider", min:0.0, max:1.0, step:0.05}
#@markdown `DETECT_THRESHOLD`: how sure the detector must be that it sees a face (lower finds more faces, and more false ones).
DETECT_THRESHOLD = <<DETECT_THRESHOLD>>  #@param {type:"slider", min:0.3, max:0.99, step:0.01}
MIN_FACE = <<MIN_FACE>>  #@param {type:"integer"}
ALL_FACES = False  #@param {type:"boolean"}
CONVERT_BATCH = 16  #@param {type:"integer"}
PRECISION = "auto"  #@param <<PRECISIONS>>
DEVICE = "auto"  #@param ["auto", "cuda", "cpu"]
#@markdown Segment in seconds (`END` = 0: to the end of the video).
START = 0.0  #@param {type:"number"}
END = 0.0  #@param {type:"number"}
AUDIO = True  #@param {type:"boolean"}
#@markdown `LABEL`: visible text in the lower-left corner, e.g. AI-generated (empty: none). The synthetic-media metadata tag is written either way.
LABEL = ""  #@param {type:"string"}
from faceswap_parts.conversion import ConverterConfig, VideoConverter

converter_config = ConverterConfig(
    direction=DIRECTION, output_type=OUTPUT_TYPE, color_correction=COLOR_CORRECTION, smoothing=SMOOTHING,
    kalman_noise=KALMAN_NOISE, moving_average=MOVING_AVERAGE, parts=PARTS, mask=MASK, landmarks=LANDMARKS,
    detect_every=DETECT_EVERY, auto_downscale=AUTO_DOWNSCALE, roi_coverage=ROI_COVERAGE, feather=FEATHER,
    blend=BLEND, enhance=ENHANCE, detect_threshold=DETECT_THRESHOLD,
    min_face=MIN_FACE, all_faces=ALL_FACES, batch_size=CONVERT_BATCH, precision=PRECISION, device=DEVICE,
    start=START or None, end=END or None, max_frames=12 if FAST else None, audio=AUDIO, label=LABEL)
print(converter_config)
"""

CONVERT = """
#@title Convert
OUTPUT_NAME = "swapped.mp4"  #@param {type:"string"}
output = ws.path("outputs") / OUTPUT_NAME
converter = VideoConverter(<<MODEL>>, converter_config)
conversion = converter.convert(<<VIDEO>>, output)
print(f"{output}: {conversion.frames} frames, {conversion.frames_with_faces} with a face, {conversion.seconds:.1f} s")
"""

SHOW_RESULT = """
#@title Result (a downscaled preview for big files) and download
nb.show_video(output)
nb.offer_download(output)
"""

MODEL_INPUT = """
#@title Model and input video
#@markdown `MODEL_DIR`: a training run folder holding `checkpoint.pt` (empty: `runs/<RUN_NAME>` in the workspace).
RUN_NAME = "run"  #@param {type:"string"}
MODEL_DIR = ""  #@param {type:"string"}
#@markdown `VIDEO`: empty for the sample clip of person A; a path, `upload`, or a Google Drive share link / file ID.
VIDEO = ""  #@param {type:"string"}
from faceswap_parts.models import load_model

model_dir = MODEL_DIR or ws.root / "runs" / RUN_NAME
model = load_model(model_dir)
print(f"model from {model_dir}: {model.config}")
sample_a, _ = nb.sample_videos(ws)
video = nb.get_video(VIDEO, ws.path("inputs"), "input", default=sample_a)
"""


def train_cells(iterations: int, resolution: int, capacity: str, preview: int, save: int, perceptual: bool,
                minutes: float = 0, batch: int = 8):
    return [code(fill(TRAIN_SETTINGS, ITERATIONS=iterations, RESOLUTION=resolution, CAPACITY=capacity,
                      PREVIEW=preview, SAVE=save, PERCEPTUAL=perceptual, MINUTES=minutes, BATCH=batch)),
            code(TRAIN), code(TRAIN_RESULTS)]


def conversion_cells(video_expr: str, model_expr: str):
    settings = fill(CONVERTER_SETTINGS)
    return [code(settings), code(fill(CONVERT, MODEL=model_expr, VIDEO=video_expr)), code(SHOW_RESULT)]


def detection_notebook(path, repo):
    return [
        header("Video face detection and alignment",
               "Video in, faces out: MTCNN face detection, 5-point alignment to 256x256 crops "
               "(`aligned_faces/`), the raw crops (`raw_faces/`) and crude eye masks (`binary_masks_eyes/`), "
               "plus `faces.json` describing every face. The result is the face set that training reads.",
               path, repo),
        install_cell(repo), setup_cell(), inputs_cell(both=True), code(fill(EXTRACT, SKIP=False)),
        code(fill(SHOW_FACES, PART="eyes")),
    ]


def masks_notebook(path, repo):
    return [
        header("Binary masks of face parts from 68-point landmarks",
               "Better masks than the extraction's crude eye masks: 68-point landmarks (FAN when installed, "
               "else dlib, else a fit to the 5 detector points) predicted on every aligned face, and one "
               "`binary_masks_<part>/` folder per part (eyes, eyebrows, nose, mouth, face). Training uses the "
               "eye masks; conversion can swap only chosen parts.", path, repo),
        install_cell(repo), setup_cell(), code(FACES_INPUT), code(fill(MASKS, PARTS="eyes,eyebrows,nose,mouth,face")),
        code(SHOW_MASKS),
    ]


def train_notebook(path, repo):
    return [
        header("Train a faceswap-GAN v2.2 model",
               "Training with a live preview: iteration and display interval sliders, start/stop buttons "
               "(Stop saves a checkpoint), a progress bar, the latest preview and the loss curves. The "
               "checkpoint lives on Google Drive and is copied there at every save: reopen the notebook and "
               "run all cells again to resume.", path, repo),
        install_cell(repo), setup_cell(), code(FACES_INPUT),
        *train_cells(20000, 64, "standard", preview=100, save=500, perceptual=True),
    ]


def conversion_notebook(path, repo):
    return [
        header("Convert a video with a trained model",
               "Swap the faces of a video with the model trained by `faceswap_train.ipynb` (its run folder on "
               "Drive), with every converter option: direction, output layout, colour correction, box "
               "smoothing, face parts, detection interval, blending. The result is shown here and offered "
               "for download.", path, repo),
        install_cell(repo), setup_cell(), code(MODEL_INPUT), *conversion_cells("video", "model"),
    ]


def demo_notebook(path, repo):
    return [
        header("faceswap-parts: the whole pipeline in one notebook",
               "Get two videos, extract faces, make masks, train, convert, show the result. With the default "
               "settings this runs the same short pipeline as `faceswap-parts demo` (a lite 64 px model, a few "
               "hundred iterations): a pipeline check, not a quality result. Real swaps need minutes of video "
               "per person, a GPU and tens of thousands of iterations: use the `colab/` notebooks.", path, repo),
        install_cell(repo), setup_cell("faceswap-demo"), inputs_cell(both=True), code(fill(EXTRACT, SKIP=True)),
        code(fill(MASKS, PARTS="eyes,mouth")), code(SHOW_MASKS),
        *train_cells(300, 64, "lite", preview=50, save=50, perceptual=False, minutes=6, batch=4),
        *conversion_cells("video_a", "trainer.model.eval()"),
    ]


NOTEBOOK_BUILDERS = {"detection": detection_notebook, "masks": masks_notebook, "train": train_notebook, "conversion": conversion_notebook,
                     "demo": demo_notebook}


def build(name: str, repo: str | None):
    path = name
    cells = NOTEBOOK_BUILDERS[NOTEBOOKS[name]](path, repo)
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "colab": {"provenance": [], "toc_visible": True},
        "accelerator": "GPU",
    })
    # Stable cell ids keep regenerated notebooks byte-identical.
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    nbformat.validate(nb)
    return nb


def render(name: str, repo: str | None) -> str:
    return nbformat.writes(build(name, repo)) + "\n"


BADGES_BEGIN = "<!-- colab badges: written by tools/make_notebooks.py, do not edit -->"
BADGES_END = "<!-- end of colab badges -->"


def readme_badges(repo: str | None) -> str:
    """The README's badge block: one "Open in Colab" badge per notebook, or
    what to run to get them when no repository is set."""
    if repo:
        lines = [f"Repository: `{repo}`. Open a notebook in Colab and *Run all*: it installs this package from there.",
                 ""] + [f"- {badge(repo, name)} `{name}`" for name in NOTEBOOKS]
    else:
        lines = ["No repository is set yet, so there are no badges: publish the repository on GitHub and run",
                 "`python tools/make_notebooks.py --repo OWNER/NAME`, which writes them here and the install",
                 "source into every notebook. Until then open the notebooks with *File > Open notebook > GitHub*",
                 "(or upload them) and set `PACKAGE_SOURCE` in the first cell."]
    return "\n".join([BADGES_BEGIN, *lines, BADGES_END])


def readme_repo(text: str) -> str | None:
    """The repository recorded in the README's badge block, or None."""
    block = re.search(re.escape(BADGES_BEGIN) + r"(.*?)" + re.escape(BADGES_END), text, re.S)
    if block is None:
        return None
    match = re.search(r"^Repository: `([^`]+)`", block.group(1), re.M)
    return match.group(1) if match else None


def with_badges(text: str, repo: str | None) -> str:
    """README ``text`` with its badge block rewritten for ``repo``."""
    pattern = re.compile(re.escape(BADGES_BEGIN) + r".*?" + re.escape(BADGES_END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no badge block ({BADGES_BEGIN!r} ... {BADGES_END!r})")
    return pattern.sub(lambda _: readme_badges(repo), text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", help="GitHub OWNER/NAME (default: from git's origin remote)")
    parser.add_argument("--check", action="store_true", help="only check that the notebooks are up to date")
    parser.add_argument("--badges", action="store_true", help="print Colab badges for the README")
    parser.add_argument("--root", type=Path, default=ROOT, help="the project folder to write (default: this one)")
    args = parser.parse_args(argv)
    readme = args.root / "README.md"
    readme_text = readme.read_text(encoding="utf-8")
    # The repository: --repo, else the one the README already records, else git's origin remote.
    repo = github_repo(args.repo) if args.repo else (readme_repo(readme_text) or github_repo())
    if args.badges:
        if not repo:
            print("no GitHub remote: give --repo OWNER/NAME (git remote get-url origin found none)", file=sys.stderr)
            return 1
        for name in NOTEBOOKS:
            print(f"- `{name}` {badge(repo, name)}")
        return 0
    stale = []
    for name in NOTEBOOKS:
        if NOTEBOOKS[name] not in NOTEBOOK_BUILDERS:
            continue
        target = args.root / name
        text = render(name, repo)
        if args.check:
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print("wrote", name)
    new_readme = with_badges(readme_text, repo)
    if args.check:
        if new_readme != readme_text:
            stale.append("README.md (its badge block)")
    elif new_readme != readme_text:
        readme.write_text(new_readme, encoding="utf-8")
        print("wrote README.md's badge block")
    if stale:
        print("out of date (run python tools/make_notebooks.py):", ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
