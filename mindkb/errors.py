"""Expected failures: the CLI turns these into one stderr line and an exit code."""

import string


class MindError(Exception):
    """A failure the user can act on; exit code 1."""

    exit_code = 1


class BadInput(MindError):
    """Bad input or usage; exit code 2."""

    exit_code = 2



class BadOption(BadInput):
    """Bad input that names options: `{name}` placeholders in the message.

    Library code knows options by their parameter / setting names; the CLI shows them as flags
    (`--images-dir`), other callers as the names (`images_dir`).
    """

    def __init__(self, template: str):
        self.template = template
        self.names = [field for _, field, _, _ in string.Formatter().parse(template) if field]
        super().__init__(template.format(**{n: n for n in self.names}))

    def as_flags(self) -> str:
        return self.template.format(**{n: "--" + n.replace("_", "-") for n in self.names})


def literal(value: object) -> str:
    """A value (a path, an OS message) inside a BadOption template, its braces kept as written."""
    return str(value).replace("{", "{{").replace("}", "}}")
