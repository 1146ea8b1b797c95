"""Options several subcommands share, defined once: one name, one range and one help text each.

The same names are the Python keywords (``threshold=``, ``strength=``, ``protect_face=``) and the REST
form fields; docs/remove.md lists them side by side. Ranges are checked by click while it parses, so a
bad value gets one sentence ("Invalid value for '--strength': 5.0 is not in the range 0<=x<=1.") and
no work starts.
"""

from __future__ import annotations

from pathlib import Path

import click


def model_option(help: str = "ONNX weights (default: the shipped model)."):
    return click.option("--model", "model_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help=help)


def threshold_option(help: str = "Ink probability threshold, 0..1 (default: the model's)."):
    return click.option("--threshold", type=click.FloatRange(0, 1), default=None, help=help)


def strength_option(help: str = "How much of the tattoo to remove, 0..1 (partial fade below 1)."):
    return click.option("--strength", type=click.FloatRange(0, 1), default=1.0, show_default=True, help=help)


def protect_face_option(
    help: str = "Never change eyes, eyebrows, lips, nostrils and the hair around faces.",
):
    return click.option("--protect-face/--no-protect-face", default=True, show_default=True, help=help)


def model_setting_options(recommend: bool):
    """One ``--NAME`` option per model-recommended setting (``MODEL_SETTINGS``), passed to the command as
    ``NAME=value``. ``recommend``: for ``skindeep export`` (the value to write into the metadata, default
    the table's ``export_default``); else an override for one run (default None = the model's own)."""
    from skindeep.remove.session import MODEL_SETTINGS  # light: no onnxruntime session is made

    def decorate(command):
        for setting in reversed(MODEL_SETTINGS):  # decorators apply bottom-up: keep the table's order
            kind = click.IntRange if setting.type is int else click.FloatRange
            if recommend:
                extra = {"default": setting.export_default, "show_default": True,
                         "help": f"Recommended {setting.help} (metadata; the remover reads it)."}
            else:
                extra = {"default": None, "help": f"{setting.help[0].upper()}{setting.help[1:]} (default: the model's)."}
            command = click.option(setting.option, setting.name, type=kind(setting.low, setting.high),
                                   **extra)(command)
        return command

    return decorate
