"""The `skindeep` console script: one group, one lazily imported module per subcommand.

Each subcommand lives in ``skindeep/cli/<name>.py`` and exposes a click command called ``command``.
Loading lazily keeps ``skindeep --help`` fast and keeps torch out of commands that do not train.
"""

from __future__ import annotations

import importlib

import click

from skindeep import __version__

SUBCOMMANDS = {
    "synth": "Write synthetic tattooed/clean training pairs.",
    "train": "Train the removal model (needs the [train] extra).",
    "export": "Export a checkpoint to ONNX and check it against torch.",
    "remove": "Remove tattoos from photos.",
    "eval": "Evaluate removal on synthetic and real photos; write a report.",
    "serve": "Start the web app and REST API (needs the [serve] extra).",
    "video": "Remove tattoos from a video (needs the [video] extra).",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in SUBCOMMANDS:
            return None
        try:
            module = importlib.import_module(f"skindeep.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("skindeep.cli"):
                return None
            raise click.ClickException(
                f"'skindeep {name}' needs a package that is not installed: {exc.name}. "
                f"Install the matching extra, e.g. pip install 'skindeep[{_extra_for(name)}]'."
            ) from exc
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, help_text in SUBCOMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _extra_for(name: str) -> str:
    return {"train": "train", "export": "train", "serve": "serve", "video": "video", "eval": "eval"}.get(
        name, "dev"
    )


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="skindeep")
def main() -> None:
    """Remove tattoos from photos and videos, on a CPU, at full resolution."""
