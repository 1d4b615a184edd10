"""`make install`'s torch step: the CPU build on a machine without an NVIDIA GPU wherever one is reachable.

Run with `--print` against a PATH, pip find-links and CPU index set up here, so nothing is installed.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.support.paths import REPO

SCRIPT = REPO / "scripts" / "torch_source.py"
PIN = "2.9.1"
VISION = "0.24.1"
TAG = f"cp{sys.version_info.major}{sys.version_info.minor}"
UNREACHABLE = "http://127.0.0.1:9/whl/cpu"  # the discard port: refused at once


@pytest.fixture
def machine(tmp_path: Path) -> dict:
    """A PATH with python but no nvidia-smi, a find-links folder, and a lock that pins torch."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    (tmp_path / "wheels").mkdir()
    (tmp_path / "requirements.lock").write_text(f"numpy==2.2.6\ntorch=={PIN}\ntorchvision=={VISION}\ntqdm==4.70.1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PATH=str(bin_dir), PIP_FIND_LINKS=str(tmp_path / "wheels"), PIP_CONFIG_FILE=os.devnull,
               MIND_TORCH_CPU_INDEX=UNREACHABLE)
    return {"root": tmp_path, "env": env}


@pytest.fixture
def cpu_index(tmp_path: Path) -> Iterator[str]:
    """A local HTTP server standing in for PyTorch's CPU index."""
    (tmp_path / "index" / "whl" / "cpu" / "torch").mkdir(parents=True)
    (tmp_path / "index" / "whl" / "cpu" / "torch" / "index.html").write_text("<html></html>")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(tmp_path / "index")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/whl/cpu"
    finally:
        server.shutdown()
        server.server_close()


def dry_run(machine: dict, **env: str) -> tuple[str, list[str], str]:
    done = subprocess.run([sys.executable, str(SCRIPT), "--print", "--constraints",
                           str(machine["root"] / "requirements.lock")], capture_output=True, text=True,
                          env={**machine["env"], **env}, timeout=120)
    assert done.returncode == 0, done.stderr
    source, _, command = done.stdout.strip().partition(" ")
    return source, command.split(), done.stderr.strip()


def test_a_local_cpu_wheel_comes_first(machine: dict, cpu_index: str) -> None:
    wheel = machine["root"] / "wheels" / f"torch-{PIN}+cpu-{TAG}-{TAG}-linux_x86_64.whl"
    wheel.write_bytes(b"")
    (machine["root"] / "wheels" / f"torch-{PIN}-{TAG}-{TAG}-linux_x86_64.whl").write_bytes(b"")  # CUDA: never
    vision = machine["root"] / "wheels" / f"torchvision-{VISION}+cpu-{TAG}-{TAG}-linux_x86_64.whl"
    vision.write_bytes(b"")
    source, command, reason = dry_run(machine, MIND_TORCH_CPU_INDEX=cpu_index)
    assert source == "local-wheel" and command[-2:] == [str(wheel), str(vision)]
    assert command[command.index("-c") + 1].endswith("requirements.lock")
    assert "no NVIDIA GPU" in reason and str(wheel) in reason


def test_a_wheel_in_pip_config_find_links_is_found(machine: dict, tmp_path: Path) -> None:
    other = tmp_path / "configured"
    other.mkdir()
    wheel = other / f"torch-{PIN}+cpu-{TAG}-{TAG}-linux_x86_64.whl"
    wheel.write_bytes(b"")
    config = tmp_path / "pip.conf"
    config.write_text(f"[global]\nfind-links = {other}\n")
    source, command, _ = dry_run(machine, PIP_CONFIG_FILE=str(config))
    assert source == "local-wheel" and command[-2:] == [str(wheel), f"torchvision=={VISION}"]


def test_without_a_wheel_the_cpu_index_is_used(machine: dict, cpu_index: str) -> None:
    (machine["root"] / "wheels" / f"torch-2.8.0+cpu-{TAG}-{TAG}-linux_x86_64.whl").write_bytes(b"")  # other pin
    source, command, reason = dry_run(machine, MIND_TORCH_CPU_INDEX=cpu_index)
    assert source == "cpu-index"
    assert command[command.index("--extra-index-url") + 1] == cpu_index and command[-2:] == [f"torch=={PIN}", f"torchvision=={VISION}"]
    assert cpu_index in reason


def test_pypi_default_only_when_nothing_is_reachable_and_it_says_so(machine: dict) -> None:
    source, command, reason = dry_run(machine)
    assert source == "pypi-default" and command[-2:] == [f"torch=={PIN}", f"torchvision=={VISION}"] and "--extra-index-url" not in command
    assert len(reason.splitlines()) == 1 and "no CPU build of torch is reachable" in reason


def test_an_nvidia_gpu_takes_pypis_cuda_build(machine: dict, cpu_index: str) -> None:
    smi = machine["root"] / "bin" / "nvidia-smi"
    smi.write_text("#!/bin/sh\nexit 0\n")
    smi.chmod(0o755)
    (machine["root"] / "wheels" / f"torch-{PIN}+cpu-{TAG}-{TAG}-linux_x86_64.whl").write_bytes(b"")
    source, command, reason = dry_run(machine, MIND_TORCH_CPU_INDEX=cpu_index)
    assert source == "cuda" and command[-2:] == [f"torch=={PIN}", f"torchvision=={VISION}"] and "--extra-index-url" not in command
    assert "nvidia-smi" in reason


def test_the_makefile_installs_torch_through_it_before_the_rest() -> None:
    makefile = (REPO / "Makefile").read_text()
    torch_step = makefile.index("scripts/torch_source.py --python")
    assert torch_step < makefile.index("-e '.[full,dev,jdk,serving]'")
