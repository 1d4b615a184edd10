"""Every command's `--help` as a user reads it: no stray escapes, whole summaries, closed options' choices."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from cli import build_command

ROOT = build_command()

# Options whose values form a closed set: `--help` must list the values and click must refuse others.
CLOSED = {
    ("generate",): {"--stage", "--backend", "--dtype", "--quantize", "--compile", "--engine"},
    ("embed",): {"--engine"},
    ("import", "intentions"): {"--format"},
    ("annotate", "export"): {"--allocation"},
    ("annotate", "import"): {"--format"},
    ("eval", "intentionqa"): {"--mode", "--backend"},
}


def command_paths(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [path]
    for name, sub in getattr(command, "commands", {}).items():
        paths += command_paths(sub, path + (name,))
    return paths


def command_at(path: tuple[str, ...]) -> click.Command:
    command = ROOT
    for name in path:
        command = command.commands[name]
    return command


def render_help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(ROOT, [*path, "--help"], prog_name="mind")
    assert result.exit_code == 0, result.output
    return result.output


PATHS = command_paths(ROOT)


def test_the_tree_holds_every_command() -> None:
    assert len(PATHS) > 25
    assert ("generate",) in PATHS and ("db", "start") in PATHS and ("import", "intentions") in PATHS


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "mind")
def test_help_reads_cleanly(path: tuple[str, ...]) -> None:
    text = render_help(path)
    assert "\\" not in text, text
    assert text.startswith("Usage: mind")
    command = command_at(path)
    assert command.help, f"`mind {' '.join(path)}` has no help text"
    for name, sub in getattr(command, "commands", {}).items():
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(name + " "))
        assert not line.rstrip().endswith("..."), f"summary of {name!r} is cut: {line!r}"
        # The listing shows the command's whole first sentence (wrapped lines included).
        listing = " ".join(text.split()).replace("- ", "-")  # click may wrap after a hyphen
        assert sub.short_help and sub.short_help in listing, (name, sub.short_help)


@pytest.mark.parametrize("path", list(CLOSED), ids=lambda p: " ".join(p))
def test_closed_options_show_their_choices(path: tuple[str, ...]) -> None:
    command = command_at(path)
    text = " ".join(render_help(path).split())
    for option in command.params:
        names = set(option.opts)
        if names & CLOSED[path]:
            assert isinstance(option.type, click.Choice), option.opts
            assert "[" + "|".join(option.type.choices) + "]" in text, (option.opts, text)


def test_a_value_outside_the_choices_is_refused_with_usage_exit_code() -> None:
    result = CliRunner().invoke(ROOT, ["generate", "--stage", "everything"], prog_name="mind")
    assert result.exit_code == 2
    assert "--stage" in result.output and "features" in result.output


def test_version(cli) -> None:
    from importlib.metadata import version

    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"mind {version('mind-kb')}"


@pytest.mark.parametrize(("args", "said"), [
    (["--batch-size", "0"], "mind: --batch-size must be between 1 and 1024"),
    (["--temperature", "3"], "mind: --temperature must be between 0 and 2"),
    (["--lease-seconds", "0"], "mind: --lease-seconds must be greater than 0 and at most 604800"),
    (["--max-new-tokens", "5000"], "mind: --max-new-tokens must be between 1 and 4096"),
    (["--engine", "ray", "--actors", "0"], "mind: --actors must be between 1 and 4096"),
])
def test_generate_refuses_a_value_outside_its_settings_bounds(args, said, capsys):
    """The bounds live on the settings; the CLI names the option in one line and exits 2."""
    from cli import main

    with pytest.raises(SystemExit) as ended:
        main(["generate", *args, "--json"])
    assert ended.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [said]
