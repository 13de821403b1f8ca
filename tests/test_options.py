"""``faceswap_parts.options`` lists what the code accepts: each choice works
where it is used, the implementations' own tables hold the same names, and
the notebooks' forms offer the same lists."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from faceswap_parts import options
from faceswap_parts.conversion import ConverterConfig
from faceswap_parts.conversion.color import color_correct
from faceswap_parts.errors import FaceswapError

ROOT = Path(__file__).resolve().parents[1]


def test_every_conversion_choice_is_accepted_and_others_are_refused():
    for direction, precision, blend, color, layout, smoothing in itertools.product(
            options.DIRECTIONS, options.PRECISIONS, options.BLENDS, options.COLOR_MODES, options.OUTPUT_TYPES,
            options.SMOOTHING_METHODS):
        ConverterConfig(direction=direction, precision=precision, blend=blend, color_correction=color,
                        output_type=layout, smoothing=smoothing)
    for field in ("direction", "precision", "blend", "color_correction", "output_type", "smoothing"):
        with pytest.raises(FaceswapError):
            ConverterConfig(**{field: "nonsense"})


def test_every_colour_mode_runs():
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 255, (2, 16, 16, 3), dtype=np.uint8)
    for mode in options.COLOR_MODES:
        assert color_correct(faces, faces[::-1], mode).shape == faces.shape


def test_implementation_tables_hold_the_listed_names():
    from faceswap_parts.evaluation import embeddings
    from faceswap_parts.faces import landmarks, masks
    from faceswap_parts.training.data import lookalike

    assert set(embeddings._EMBEDDERS) == set(options.EMBEDDERS)
    assert set(lookalike.PART_POINTS) == set(options.AUGMENT_PARTS)
    assert landmarks.BACKENDS == tuple(b for b in options.LANDMARK_BACKENDS if b != "auto")
    assert masks.parse_parts(",".join(options.FACE_PARTS)) == options.FACE_PARTS
    assert set(options.DIRECTIONS.values()) == set(options.IDENTITIES)


def test_training_configs_accept_every_listed_choice():
    from faceswap_parts.config import ModelConfig, TrainConfig

    for resolution, capacity, norm in itertools.product(options.RESOLUTIONS, options.CAPACITIES, options.NORMS):
        ModelConfig(resolution=resolution, capacity=capacity, norm=norm)
    for gan, net, where, precision in itertools.product(options.GAN_LOSSES, options.PERCEPTUAL_NETS,
                                                        options.AUGMENT_ON, options.PRECISIONS):
        TrainConfig(gan_loss=gan, perceptual_net=net, augment=where, precision=precision)
    assert TrainConfig(parts_augment=",".join(options.AUGMENT_PARTS)).parts_augment == ",".join(options.AUGMENT_PARTS)


@pytest.mark.parametrize("name, field", [("LANDMARK_BACKENDS", "LANDMARKS"), ("DIRECTIONS", "DIRECTION"),
                                         ("PRECISIONS", "PRECISION"), ("BLENDS", "BLEND"),
                                         ("COLOR_MODES", "COLOR_CORRECTION"), ("OUTPUT_TYPES", "OUTPUT_TYPE"),
                                         ("SMOOTHING_METHODS", "SMOOTHING")])
def test_notebook_forms_offer_the_listed_choices(name, field):
    notebook = json.loads((ROOT / "colab" / "faceswap_video_conversion.ipynb").read_text(encoding="utf-8"))
    code = "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code")
    listed = "[" + ", ".join(f'"{v}"' for v in getattr(options, name)) + "]"
    assert f"#@param {listed}" in next(line for line in code.splitlines() if line.startswith(f"{field} = "))


def _cli_defaults():
    """(command, field, the default argparse applies, the default its --help states, the config's default)."""
    import argparse
    import dataclasses
    import re

    from faceswap_parts.cli import build_parser
    from faceswap_parts.config import ModelConfig, TrainConfig
    from faceswap_parts.conversion.config import ConverterConfig
    from faceswap_parts.evaluation.pipeline import EvaluationConfig
    from faceswap_parts.extraction import ExtractConfig

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    for command, configs in (("convert", [ConverterConfig()]), ("extract", [ExtractConfig()]),
                             ("evaluate", [EvaluationConfig()]), ("train", [TrainConfig(), ModelConfig()])):
        for action in commands[command]._actions:
            for config in configs:
                if action.dest in {f.name for f in dataclasses.fields(config)}:
                    stated = re.search(r"default:? ([^)\s;,]+)", action.help or "")
                    yield command, action.dest, action.default, stated and stated.group(1), getattr(config, action.dest)


def test_every_cli_default_is_its_configs_default():
    """A default written in a command (argparse's, or the one its --help states) is the config's own."""
    spoken = {True: "on", False: "off"}
    wrong = []
    for command, name, applied, stated, default in _cli_defaults():
        if applied is not None and applied != default and not (applied == [] and default == ()):
            wrong.append(f"{command} --{name}: argparse applies {applied!r}, the config's default is {default!r}")
        prose = default in (None, "", ()) or (isinstance(default, bool) and stated not in ("on", "off"))
        if stated is not None and not prose and stated.rstrip(":") not in (str(default), spoken.get(default), f"{default:g}"
                                                             if isinstance(default, float) else str(default)):
            wrong.append(f"{command} --{name}: --help says default {stated!r}, the config's default is {default!r}")
    assert not wrong, "\n".join(wrong)
    assert len(list(_cli_defaults())) > 60  # every command's options were seen


def test_one_rule_gives_the_option_its_help_and_its_check_everywhere():
    """A setting's range and choices, written once on the field, make both its --help text and one message, the
    same from the CLI (exit 1 before any file is read) and from the config."""
    from faceswap_parts.cli import build_parser, main
    from faceswap_parts.config import TrainConfig
    from faceswap_parts.extraction_config import ExtractConfig

    convert = next(a for a in build_parser()._actions if hasattr(a, "choices") and a.choices).choices["convert"]
    helps = {a.dest: a.help for a in convert._actions}
    assert helps["roi_coverage"].endswith("within [0.2, 1.0]; default: 0.9")
    assert helps["detect_threshold"].endswith("within (0, 1); default: 0.7")
    for config, kwargs, words in ((ConverterConfig, {"roi_coverage": 1.5}, "--roi-coverage must be within [0.2, 1.0], got 1.5"),
                                  (ConverterConfig, {"blend": "x"}, "--blend must be one of feather, seamless, got 'x'"),
                                  (ExtractConfig, {"size": 16}, "--size must be >= 32, got 16"),
                                  (TrainConfig, {"workers": -1}, "--workers must be >= 0, got -1"),
                                  (TrainConfig, {"gan_loss": "x"}, "--gan-loss must be one of mixup_lsgan, "
                                                                   "relativistic_lsgan, got 'x'")):
        with pytest.raises(FaceswapError) as err:
            config(**kwargs)
        assert str(err.value) == words
    # a switch can be turned off as well as on: a resumed run may drop what its checkpoint has (--no-cycle)
    args = build_parser().parse_args(["train", "--workdir", "w", "--iterations", "2", "--no-cycle", "--perceptual"])
    assert args.cycle is False and args.perceptual is True and args.self_attention is None
    assert main(["convert", "missing.mp4", "--model", "w", "--out", "o.mp4", "--roi-coverage", "1.5"]) == 1
    assert main(["extract", "missing.mp4", "--out", "o", "--size", "16"]) == 1
