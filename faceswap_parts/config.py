"""Plain dataclass configs, saved inside the checkpoint (nanoGPT style).

On resume the architecture (:class:`ModelConfig`) always comes from the
checkpoint, never from the command line.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from faceswap_parts.errors import FaceswapError
from faceswap_parts.settings import check_settings, setting
from faceswap_parts.options import (AUGMENT_ON, AUGMENT_PARTS, CAPACITIES, FACE_COVERAGE, GAN_LOSSES, INIT_PARTS,
                                    NORMS, PERCEPTUAL_NETS, PRECISIONS, RESOLUTIONS, SCHEDULE_NAMES)


@dataclass
class ModelConfig:
    """Architecture of the faceswap-GAN v2.2 networks."""

    resolution: int = setting(64, choices=RESOLUTIONS, help="face size the model sees and paints, in pixels")
    capacity: str = setting("standard", choices=CAPACITIES,
                            help="network widths: quick (a rough swap soon on a CPU), lite, standard (v2.2's)")
    # v2.2's default ("instancenorm" in Keras) under its honest name
    norm: str = setting("layernorm", choices=NORMS, help="normalisation of the generator's layers")
    self_attention: bool = setting(True, help="self-attention layers")
    #: fraction of the full aligned face (see :mod:`faceswap_parts.faces.alignment`) the model sees
    coverage: float = setting(FACE_COVERAGE, low=0.2, high=1.0,
                              help="central fraction of the aligned face the model sees")

    def __post_init__(self):
        check_settings(self)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        """Build from a saved dict, ignoring keys this version does not know."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Phase:
    """Loss settings from ``start`` (a fraction of the total iterations) until the next phase.

    ``swap_decoders`` swaps the A and B decoders once, when the phase begins.
    """

    start: float
    perceptual: bool = False
    mask_hinge: bool = False  # False: mask L1 regulariser; True: hinge towards ``m_mask``
    m_mask: float = 0.0
    lr_factor: float = 1.0
    swap_decoders: bool = False


def v22_schedule() -> list[Phase]:
    """The loss automation of faceswap-GAN's ``FaceSwap_GAN_v2.2_train_test.ipynb``.

    The notebook switches at fixed iterations of ``TOTAL_ITERS`` (minus half a
    display interval, dropped here): perceptual loss from 1/5, mask hinge
    phases, LR x0.3 from 2/3, the decoder swap at 8/10 and LR x0.1 from 9/10.
    """
    return [
        Phase(0.0),
        Phase(0.2, perceptual=True),
        Phase(0.3, perceptual=True, mask_hinge=True, m_mask=0.5),
        Phase(0.4, perceptual=True, mask_hinge=True, m_mask=0.2),
        Phase(0.5, perceptual=True, mask_hinge=True, m_mask=0.4),
        Phase(2 / 3, perceptual=True, lr_factor=0.3),
        Phase(0.8, perceptual=True, mask_hinge=True, m_mask=0.1, lr_factor=0.3, swap_decoders=True),
        Phase(0.9, perceptual=True, lr_factor=0.1),
    ]


def short_schedule() -> list[Phase]:
    """v2.2's schedule without its decoder swap, for runs of a few thousand iterations.

    The swap at 8/10 of the run is the original's design for tens of
    thousands of iterations; in a short run the last fifth then re-learns
    each identity from the other's decoder and undoes much of what the run
    learned (docs/quality.md). Everything else is :func:`v22_schedule`.
    """
    return [Phase(**{**asdict(p), "swap_decoders": False}) for p in v22_schedule()]


#: Named schedules (``train --schedule``, the notebooks' form).
SCHEDULES = dict(zip(SCHEDULE_NAMES, (v22_schedule, short_schedule)))


@dataclass
class TrainConfig:
    """Everything about a training run except the architecture (``model``).

    Loss weights follow faceswap-GAN v2.2's ``loss_weights``; ``w_pl`` holds
    one weight per perceptual feature level. ``schedule`` is data: see
    :func:`v22_schedule`. Saved in the checkpoint as a plain dict.
    """

    a_dir: str = setting("", flag="--a", metavar="DIR_A",
                         help="faces of A: an extract output folder, its aligned_faces folder, or a plain folder of "
                              "face images (required for a new workdir)")
    b_dir: str = setting("", flag="--b", metavar="DIR_B", help="faces of B, as --a")
    workdir: str = "workdir"
    model: ModelConfig = field(default_factory=ModelConfig)
    batch_size: int = setting(8, low=2, help="an even number (mixup pairs the samples)")
    lr_g: float = 1e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    gan_loss: str = setting("mixup_lsgan", choices=GAN_LOSSES, help="the adversarial loss")
    w_recon: float = 1.0
    w_eyes: float = 30.0
    # The mouth's and nose's own reconstruction + edge terms, like the eyes' (0 = off), from their
    # part masks (`masks --parts mouth,nose`) where the face set has them.
    w_mouth: float = 0.0
    w_nose: float = 0.0
    w_edge: float = 0.1
    w_adv: float = 0.1
    w_pl: tuple = (0.01, 0.1, 0.3, 0.1)
    w_mask_l1: float = 1e-2
    w_mask_hinge: float = 0.1
    w_mask_tv: float = 0.1
    cycle: bool = setting(False, help="add the cycle-consistency loss")
    w_cycle: float = 10.0  # v2.2's cycle-consistency weight
    perceptual: bool = setting(True, help="perceptual loss in the phases that use it (skipped with a warning "
                                          "when no perceptual network can be loaded)")
    perceptual_weights: str = setting("", metavar="FILE", help="local copy of facenet-pytorch's "
                                      "20180402-114759-vggface2.pt for the perceptual loss (default: cache / download)")
    # the one used is recorded in the checkpoint
    perceptual_net: str = setting("auto", choices=PERCEPTUAL_NETS, metavar="NET",
                                  help="auto uses VGGFace2 where its weights are given, cached or downloadable, else "
                                       "dlib's face-recognition ResNet (offline); a resumed run keeps the network it "
                                       "was trained with")
    schedule: list = field(default_factory=v22_schedule)
    # augmentation (faceswap-GAN's random_transform_args and DA probabilities)
    rotation_range: float = 10.0
    zoom_range: float = 0.1
    shift_range: float = 0.05
    flip_prob: float = 0.5
    color_match_prob: float = 0.5
    motion_blur_prob: float = 0.25
    # look-alike parts augmentation (data/lookalike.py): parts swapped in from the other identity's
    # nearest look-alikes ("" = off), on this share of the samples, from the k nearest
    parts_augment: str = setting("", metavar="PARTS",
                                 help=f"look-alike parts augmentation: swap these parts ({', '.join(AUGMENT_PARTS)}; "
                                      "comma-separated) in from the other person's most alike faces (default: off)")
    parts_prob: float = setting(0.25, low=0, high=1, metavar="P", help="share of the samples so augmented")
    parts_knn: int = setting(5, low=1, metavar="K", help="look-alikes per face to draw from")
    # a new run started from another model's weights (``train --init-from``): its workdir or checkpoint
    # file, and which networks (INIT_PARTS); the iteration count and the optimisers start afresh, and the
    # checkpoint records the source's iteration and digest beside these
    init_from: str = setting("", metavar="W2", help="start from another model's weights (its workdir or "
                             "checkpoint.pt; e.g. a --pretrain run): its architecture, fresh iteration count and "
                             "optimisers")
    init_parts: str = setting("all", choices=INIT_PARTS, help="what --init-from copies: all (encoder, decoders and "
                              "discriminators) or the shared encoder only")
    # pretraining (``train --pretrain DIR ...``): both identities draw from the pool of these face
    # folders, so each decoder learns every face: a starting point for later pairs (--init-from)
    pretrain_dirs: list = setting(default_factory=list, kind=list, flag="--pretrain", metavar="DIR",
                                  help="pretrain on a pool of many people's face folders instead of --a/--b: both "
                                       "decoders see every face; the result is a starting point for pairs "
                                       "(--init-from)")
    # bookkeeping
    preview_interval: int = setting(250, low=0, help="iterations between previews (0 = never)")
    save_interval: int = setting(500, low=0, help="iterations between checkpoints")
    backup_interval: int = setting(5000, low=0, help="iterations between numbered backups in W/backups (0 = none)")
    keep_backups: int = setting(3, low=0, help="numbered backups kept")
    device: str = setting("auto", help="auto, cpu, cuda or cuda:N")
    precision: str = setting("auto", choices=PRECISIONS, help="auto: bf16 where the CPU/GPU computes it in "
                             "hardware, fp16 on older GPUs, else fp32")
    seed: int = setting(0, help="random seed")
    # OpenCV releases the GIL, so threads prepare batches in parallel
    workers: int = setting(2, low=0, help="threads preparing batches")
    augment: str = setting("auto", choices=AUGMENT_ON, help="where augmentation's pixel work runs (auto: on a CUDA "
                           "GPU when training on one)")
    progress: bool = True

    def __post_init__(self):
        if isinstance(self.model, dict):
            self.model = ModelConfig.from_dict(self.model)
        self.schedule = [Phase(**p) if isinstance(p, dict) else p for p in self.schedule]
        self.w_pl = tuple(self.w_pl)
        check_settings(self)
        if self.batch_size % 2:
            raise FaceswapError(f"--batch-size must be an even number (mixup pairs samples), got {self.batch_size}")
        if self.parts_augment:
            self.parts_augment = ",".join(parse_augment_parts(self.parts_augment))
        self.pretrain_dirs = [str(d) for d in self.pretrain_dirs]
        if self.pretrain_dirs and self.parts_augment:
            raise FaceswapError("--parts-augment swaps parts between two people; a --pretrain pool has no pair")
        numbers = {f.name: getattr(self, f.name) for f in fields(self)
                   if isinstance(getattr(self, f.name), float) and not isinstance(getattr(self, f.name), bool)}
        numbers.update({f"w_pl[{i}]": w for i, w in enumerate(self.w_pl)})
        bad = [f"{k}={v}" for k, v in numbers.items() if not math.isfinite(v)]
        if bad:
            raise FaceswapError(f"{', '.join(bad)}: training settings must be finite numbers")
        starts = [p.start for p in self.schedule]
        if not starts or starts[0] != 0.0 or starts != sorted(starts) or starts[-1] >= 1.0:
            raise FaceswapError("schedule phases must start at 0.0 and increase, each start below 1.0")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["w_pl"] = list(self.w_pl)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Build from a saved dict, ignoring keys this version does not know."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def resume_config(saved: dict, config: TrainConfig, given=None) -> TrainConfig:
    """The one rule for the settings of a resumed run, whoever resumes it (the
    CLI, a notebook, the API): the checkpoint's training settings, with the
    ones the caller gave on top. ``given`` names those fields; by default,
    every field of ``config`` whose value differs from TrainConfig's default
    (a notebook's config built from form fields). The workdir and the
    progress bar are always the caller's. The architecture (``model``) is the
    checkpoint's: the trainer refuses an explicit other one, and ``init_from``
    that differs from the run's own."""
    defaults, mine = TrainConfig(), config.to_dict()
    if given is None:
        given = {f.name for f in fields(TrainConfig) if getattr(config, f.name) != getattr(defaults, f.name)}
    base = {k: v for k, v in saved.items() if k != "model"}
    return TrainConfig.from_dict({**base, **{k: mine[k] for k in given if k in mine and k != "model"},
                                  "workdir": mine["workdir"], "progress": mine["progress"]})


def parse_augment_parts(parts) -> tuple[str, ...]:
    """``"eyes,mouth"`` or a sequence -> validated part names for ``--parts-augment`` ("" -> none)."""
    if isinstance(parts, str):
        parts = [p.strip() for p in parts.split(",") if p.strip()]
    parts = tuple(dict.fromkeys(parts))
    bad = [p for p in parts if p not in AUGMENT_PARTS]
    if bad:
        raise FaceswapError(f"--parts-augment: unknown part {bad[0]!r}; choose from {', '.join(AUGMENT_PARTS)}")
    return parts


#: TrainConfig fields that have options of their own, or are not training settings.
_NOT_SETTABLE = {"a_dir", "b_dir", "workdir", "model", "progress", "init_from", "init_parts", "pretrain_dirs"}


def parse_overrides(pairs: list[str] | tuple = (), config_file: str | None = None) -> dict:
    """TrainConfig fields from ``--config FILE`` (TOML: top-level keys or a
    ``[train]`` table) and then ``--set FIELD=VALUE`` (VALUE read as JSON,
    else as a plain string), checked against the fields' types. A bad name or
    value is a one-line :class:`FaceswapError`."""
    import difflib
    import json

    values: dict = {}
    if config_file:
        try:
            import tomllib
        except ImportError:  # Python < 3.11
            try:
                import tomli as tomllib
            except ImportError:
                raise FaceswapError("--config needs Python 3.11+ (tomllib) or `pip install tomli`") from None
        try:
            with open(config_file, "rb") as f:
                data = tomllib.load(f)
        except OSError as err:
            raise FaceswapError(f"--config {config_file}: {err.strerror or err}") from None
        except tomllib.TOMLDecodeError as err:
            raise FaceswapError(f"--config {config_file} is not valid TOML: {err}") from None
        values.update(data.get("train", data))
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise FaceswapError(f"--set needs FIELD=VALUE, got {pair!r}")
        try:
            values[name.strip()] = json.loads(text)
        except json.JSONDecodeError:
            values[name.strip()] = text
    defaults = TrainConfig()
    settable = sorted(f.name for f in fields(TrainConfig) if f.name not in _NOT_SETTABLE)
    for name, value in values.items():
        if name not in settable:
            near = difflib.get_close_matches(name, settable, n=1)
            hint = f" (did you mean {near[0]}?)" if near else f"; settable: {', '.join(settable)}"
            raise FaceswapError(f"{name} is not a training setting{hint}")
        default = getattr(defaults, name)
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif isinstance(default, (tuple, list)):
            ok = isinstance(value, list)
        else:
            ok = isinstance(value, str)
        if not ok:
            kind = "a list" if isinstance(default, (tuple, list)) else f"a {type(default).__name__}"
            raise FaceswapError(f"{name}={value!r}: expected {kind} (the default is {default!r})"[:300])
        if isinstance(default, float):
            values[name] = float(value)
            if not math.isfinite(values[name]):  # JSON and TOML both read NaN and Infinity
                raise FaceswapError(f"{name}={value!r}: must be a finite number")
    return values
