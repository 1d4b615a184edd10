"""Install the pinned torch (and torchvision, built against it) from the right place before `make install` installs the rest.

PyPI's Linux torch is the CUDA build, which brings about 6 GB of nvidia-* libraries and triton
that a machine without an NVIDIA GPU never uses. Without one (no `nvidia-smi` on PATH) the CPU
build is taken wherever it is reachable: a local `torch-<pin>+cpu` wheel in pip's find-links
(PIP_FIND_LINKS or `pip config`), else PyTorch's CPU index; only when neither is reachable does
PyPI's default build come in, and one line says so. The later `pip install -c requirements.lock`
keeps the torch installed here: `torch==<pin>` matches `<pin>+cpu`.

`--print` says what it would do (the reason on stderr, the pip command on stdout) and installs nothing.
Standard library only: it runs before anything else is installed.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
REACH_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Choice:
    source: str  # "cuda" | "local-wheel" | "cpu-index" | "pypi-default"
    pip_args: list[str]  # what follows `pip install -c <constraints>`
    reason: str


def torch_pin(constraints: Path, name: str = "torch") -> str:
    for line in constraints.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(rf"\s*{name}==([^\s;#]+).*", line)
        if match:
            return match[1]
    raise SystemExit(f"torch_source: no {name}== pin in {constraints}")


def vision_args(constraints: Path, links: list[str] | None = None) -> list[str]:
    """torchvision from the same place as torch: each build is made against one torch build."""
    pin = torch_pin(constraints, "torchvision")
    wheel = local_cpu_wheel(links, pin, "torchvision") if links is not None else None
    return [str(wheel) if wheel else f"torchvision=={pin}"]


def find_links(python: str) -> list[str]:
    """pip's find-links from the environment and from `pip config list`, in that order, without repeats."""
    values = os.environ.get("PIP_FIND_LINKS", "").split()
    try:
        listed = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True,
                                timeout=60, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        listed = ""
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        if key.endswith(".find-links"):
            values += shlex.split(value.strip().strip("'\""))
    return list(dict.fromkeys(values))


def local_cpu_wheel(links: list[str], pin: str, name: str = "torch") -> Path | None:
    """A `<name>-<pin>+cpu` wheel for this Python in a local find-links folder (URLs are skipped)."""
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    for link in links:
        folder = Path(link.removeprefix("file://")).expanduser()
        if "://" in link.removeprefix("file://") or not folder.is_dir():
            continue
        for wheel in sorted(folder.glob(f"{name}-{pin}+cpu-*.whl")):
            if f"-{tag}-" in wheel.name:
                return wheel
    return None


def reachable(url: str, timeout: float = REACH_TIMEOUT_S) -> bool:
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/torch/", timeout=timeout) as response:
            return 200 <= response.status < 400
    except (urllib.error.URLError, OSError, ValueError):
        return False


def choose(constraints: Path, python: str) -> Choice:
    pin = torch_pin(constraints)
    if shutil.which("nvidia-smi"):
        return Choice("cuda", [f"torch=={pin}", *vision_args(constraints)], f"NVIDIA GPU found (nvidia-smi): torch {pin} with CUDA from PyPI")
    links = find_links(python)
    wheel = local_cpu_wheel(links, pin)
    if wheel:
        return Choice("local-wheel", [str(wheel), *vision_args(constraints, links)], f"no NVIDIA GPU: torch {pin} CPU build from the local wheel {wheel}")
    index = os.environ.get("MIND_TORCH_CPU_INDEX") or CPU_INDEX
    if reachable(index):
        # An extra index: torch's dependencies still come from PyPI at their pins, and `<pin>+cpu`
        # sorts above PyPI's `<pin>`, so the CPU build is the one taken.
        return Choice("cpu-index", ["--extra-index-url", index, f"torch=={pin}", *vision_args(constraints)],
                      f"no NVIDIA GPU: torch {pin} CPU build from {index}")
    return Choice("pypi-default", [f"torch=={pin}", *vision_args(constraints)],
                  f"no NVIDIA GPU, but no CPU build of torch is reachable (no torch-{pin}+cpu wheel in pip's "
                  f"find-links, {index} unreachable): installing PyPI's default torch, with its CUDA libraries "
                  "(several GB more)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--constraints", type=Path, default=Path("requirements.lock"))
    parser.add_argument("--python", default=sys.executable, help="the venv's python whose pip installs torch")
    parser.add_argument("--print", dest="dry", action="store_true", help="print the choice and install nothing")
    args = parser.parse_args(argv)
    choice = choose(args.constraints, args.python)
    command = [args.python, "-m", "pip", "install", "--progress-bar", "off", "-c", str(args.constraints),
               *choice.pip_args]
    print(f"== torch: {choice.reason}", file=sys.stderr, flush=True)
    if args.dry:
        print(f"{choice.source} {shlex.join(command)}")
        return 0
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
