"""Settings as dataclass fields that carry their own rules.

A config field made with :func:`setting` holds, in one place, its default,
its choices or range, and its ``--help`` text. :func:`check_settings`
validates a config against those rules (one message style for every config:
``--flag must be ...``), and :func:`add_setting_arguments` turns the fields
into a command's options, with the choices and the defaults in ``--help``
read from the dataclass. The options default to ``None``, so a command can
tell what was given (a resume keeps the checkpoint's values for the rest).

Light on purpose (only the standard library), so ``--help`` stays quick.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import MISSING, Field, field, fields

from faceswap_parts.errors import FaceswapError


def setting(default=MISSING, *, help: str = "", choices=None, low=None, high=None, low_open: bool = False,
            high_open: bool = False, kind=None, flag: str | None = None, metavar: str | None = None,
            cli: bool = True, default_factory=MISSING) -> Field:
    """A dataclass field with its rules: ``choices`` (a value must be one of
    them), ``low``/``high`` (a number must lie within; ``*_open`` excludes the
    bound), the ``help`` text of its option (``flag``, by default ``--name``
    spelled with dashes; ``cli=False`` for fields no command offers) and
    ``kind``, the option's value type where the default does not show it
    (a ``None`` default)."""
    rules = {"help": help, "choices": tuple(choices) if choices is not None else None, "low": low, "high": high,
             "low_open": low_open, "high_open": high_open, "kind": kind, "flag": flag, "metavar": metavar,
             "cli": cli}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata={"setting": rules})
    return field(default=default, metadata={"setting": rules})


def rules_of(f: Field) -> dict | None:
    """The rules :func:`setting` gave field ``f``, or None for a plain field."""
    return f.metadata.get("setting")


def flag_of(f: Field) -> str:
    """The command-line spelling of field ``f``."""
    rules = rules_of(f) or {}
    return rules.get("flag") or "--" + f.name.replace("_", "-")


def _range_text(rules: dict) -> str | None:
    low, high = rules["low"], rules["high"]
    if low is not None and high is not None:
        return f"within {'(' if rules['low_open'] else '['}{low}, {high}{')' if rules['high_open'] else ']'}"
    if low is not None:
        return f"{'>' if rules['low_open'] else '>='} {low}"
    if high is not None:
        return f"{'<' if rules['high_open'] else '<='} {high}"
    return None


def _in_range(value, rules: dict) -> bool:
    low, high = rules["low"], rules["high"]
    if low is not None and (value <= low if rules["low_open"] else value < low):
        return False
    return high is None or (value < high if rules["high_open"] else value <= high)


def check_settings(config) -> None:
    """Raise a one-line :class:`FaceswapError` for the first field of
    ``config`` that breaks its rules; ``None`` values (not set) pass."""
    for f in fields(config):
        rules = rules_of(f)
        value = getattr(config, f.name)
        if rules is None or value is None:
            continue
        if rules["choices"] is not None and value not in rules["choices"]:
            raise FaceswapError(f"{flag_of(f)} must be one of {', '.join(map(str, rules['choices']))}, "
                                f"got {value!r}")
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if numeric and isinstance(value, float) and not math.isfinite(value):
            raise FaceswapError(f"{flag_of(f)} must be a finite number, got {value}")
        if numeric and not _in_range(value, rules):
            raise FaceswapError(f"{flag_of(f)} must be {_range_text(rules)}, got {value}")


def _shown(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def help_text(f: Field) -> str:
    """Field ``f``'s ``--help`` line: its text, its choices or range, and its
    default, all read from the field."""
    rules = rules_of(f)
    parts = [rules["help"]] if rules["help"] else []
    bounds = _range_text(rules)
    if rules["choices"] is not None:
        if rules["metavar"]:  # else the option's metavar lists them
            parts.append(f"one of {', '.join(map(str, rules['choices']))}")
    elif bounds:
        parts.append(bounds)
    default = f.default if f.default is not MISSING else None
    if default not in (None, "", ()):
        parts.append(f"default: {_shown(default)}")
    return "; ".join(parts).replace("%", "%%")


def finite_float(text: str) -> float:
    """argparse ``type`` for every float option: a number that is neither NaN nor infinite
    (``float()`` accepts ``nan`` and ``inf``, which then fail far from the option that held them)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def option_fields(config_cls, names=None) -> list[Field]:
    """The fields of ``config_cls`` that a command offers as options (``names``: only these, in this order)."""
    offered = {f.name: f for f in fields(config_cls) if (rules_of(f) or {}).get("cli")}
    if names is None:
        return list(offered.values())
    return [offered[name] for name in names]


def add_setting_arguments(parser, config_cls, names=None) -> None:
    """Add an option to ``parser`` (a parser or an argument group) for each
    offered field of ``config_cls`` (``names``: only these), defaulting to
    ``None`` so that a command sees what was given."""
    for f in option_fields(config_cls, names):
        rules = rules_of(f)
        default = f.default if f.default is not MISSING else None
        kind = rules["kind"] or type(default)
        options = {"dest": f.name, "default": None, "help": help_text(f)}
        if kind is bool:  # --x / --no-x: a resumed run may turn off what its checkpoint has on
            options["action"] = argparse.BooleanOptionalAction
        elif kind is list:
            options.update(nargs="+", metavar=rules["metavar"])
        else:
            # Choices are checked with the config (check_settings), not by argparse, so that a bad value gets the
            # same message from the CLI, a notebook or the API.
            options["type"] = {float: finite_float, int: int}.get(kind, str)
            if rules["metavar"] or rules["choices"] is not None:
                options["metavar"] = rules["metavar"] or "|".join(map(str, rules["choices"]))
            elif kind in (int, float):
                options["metavar"] = "N" if kind is int else "X"
        parser.add_argument(flag_of(f), **options)


def given_settings(args, config_cls) -> dict:
    """The options of ``config_cls`` that were given on the command line (not ``None``)."""
    return {f.name: getattr(args, f.name) for f in option_fields(config_cls)
            if getattr(args, f.name, None) is not None}
