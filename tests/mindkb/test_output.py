"""Progress as a user sees it when stderr is a log file or a pipe: whole lines, a few seconds apart."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.paths import REPO

SCRIPT = """
import time
from mindkb.output import configure_progress, progress
from mindkb.settings import get_settings
configure_progress(get_settings())
with progress(total=8, desc="embed intentions", unit="text") as bar:
    for _ in range(8):
        time.sleep(0.1)
        bar.update(1)
"""


def run(**env: str) -> str:
    full = {k: v for k, v in os.environ.items() if k not in ("MIND_PROGRESS", "MIND_PROGRESS_INTERVAL")}
    full.update(env)
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=full, cwd=REPO,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def test_a_pipe_gets_counted_lines_at_the_interval_and_a_last_line() -> None:
    err = run(MIND_PROGRESS_INTERVAL="0.25")
    lines = err.splitlines()
    assert "\r" not in err and all(line.strip() for line in lines), repr(err)
    assert 2 <= len(lines) <= 6, lines  # 0.8 s of work at one line per 0.25 s, plus the closing line
    assert all(line.startswith("embed intentions:") and "text/s" in line for line in lines), lines
    assert lines[-1].split()[3] == "8/8", lines[-1]


def test_the_default_interval_keeps_a_short_job_to_its_closing_line() -> None:
    lines = run().splitlines()
    assert len(lines) == 1 and "8/8" in lines[0], lines


def test_progress_can_be_turned_off() -> None:
    assert run(MIND_PROGRESS="0", MIND_PROGRESS_INTERVAL="0.1") == ""


def test_progress_can_ask_for_a_bar_where_stderr_is_a_pipe() -> None:
    err = run(MIND_PROGRESS="1")
    # tqdm's bar, opening line included (whole log lines leave out the opening 0%)
    assert "| 0/8 " in err and "█" in err and "8/8" in err, repr(err)


SLOW = """
import time
from mindkb.output import configure_progress, progress
from mindkb.settings import get_settings
configure_progress(get_settings())
with progress(total=2, desc="embed products", unit="product") as bar:
    time.sleep(3.4)  # one slow batch: no update for several intervals
    bar.update(2)
"""


def test_a_slow_batch_still_gets_a_line_every_interval() -> None:
    full = {k: v for k, v in os.environ.items() if k not in ("MIND_PROGRESS", "MIND_PROGRESS_INTERVAL")}
    full["MIND_PROGRESS_INTERVAL"] = "1"  # the lines show whole seconds: a shorter one repeats a line
    proc = subprocess.run([sys.executable, "-c", SLOW], capture_output=True, text=True, env=full, cwd=REPO,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert all(line.startswith("embed products:") for line in lines) and "2/2" in lines[-1], lines
    assert sum("0/2" in line for line in lines) >= 2, lines  # about one a second of the wait
