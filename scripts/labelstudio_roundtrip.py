"""Check `mind annotate export` against a real, local Label Studio, and get back a real export.

Starts Label Studio (installed in its OWN virtual environment, never the project's) on 127.0.0.1
with a throw-away data folder, creates a project from DIR/label_config.xml, connects a Local Files
storage for --images (so /data/local-files/?d=... image URLs are served), imports DIR/tasks.json,
lets --annotators simulated users answer every task (seeded random yes/no, 80% yes), exports the
project as Label Studio's JSON and stops the server. Then: `mind annotate import EXPORT.json`.

    python3 -m venv /tmp/ls-venv && /tmp/ls-venv/bin/pip install label-studio
    mind annotate export --sample 4 --per-relation --out /tmp/ann --document-root /data/images
    unshare -n sh -c 'ip link set lo up && python3 scripts/labelstudio_roundtrip.py \\
        --label-studio /tmp/ls-venv/bin/label-studio --tasks /tmp/ann --images /data/images \\
        --document-root /data/images --out /tmp/ann/export.json'
    mind annotate import /tmp/ann/export.json --json

(`unshare -n`, as root, runs it without any network but the loopback: Label Studio's version check
and error reporting are switched off here too.) Standard library only; prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

TOKEN = "mindkb-roundtrip-" + os.urandom(8).hex()
QUESTIONS = ("plausible", "typical", "human_centric", "filter_correct", "rationale_correct")


def call(base: str, method: str, path: str, body: object = None,
         timeout: float = 60) -> Any:  # noqa: ANN401 - Label Studio's JSON, read by each caller as it knows it
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers={
        "Authorization": f"Token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        raw = response.read()
        kind = response.headers.get("Content-Type", "")
        return json.loads(raw) if "json" in kind else raw


def wait_up(base: str, server: subprocess.Popen, limit: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if server.poll() is not None:
            raise SystemExit(f"label-studio exited with {server.returncode}; see its log")
        try:
            urllib.request.urlopen(base + "/health", timeout=2).read()
            return time.monotonic() - start
        except (urllib.error.URLError, OSError):
            time.sleep(1)
    raise SystemExit(f"label-studio did not answer within {limit:.0f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--label-studio", required=True, help="The label-studio executable of its own venv.")
    p.add_argument("--tasks", required=True, type=Path, help="The folder `mind annotate export` wrote.")
    p.add_argument("--images", type=Path, help="Folder of local product images (a Local Files storage).")
    p.add_argument("--document-root", type=Path, default=Path("/"),
                   help="LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT (as given to mind annotate export).")
    p.add_argument("--out", required=True, type=Path, help="Where the JSON export goes.")
    p.add_argument("--annotators", type=int, default=3)
    p.add_argument("--answers", type=Path,
                   help="JSON {intention_id: [{question: yes|no}, ...one per annotator]}: these answers "
                        "instead of random ones; tasks not named get none.")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--port", type=int, default=8089)
    p.add_argument("--start-timeout", type=float, default=180)
    args = p.parse_args()

    base = f"http://127.0.0.1:{args.port}"
    data_dir = Path(tempfile.mkdtemp(prefix="ls-data-"))
    env = {**os.environ, "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true",
           "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(args.document_root.resolve()),
           "SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "", "LATEST_VERSION_CHECK": "false",
           "COLLECT_ANALYTICS": "false"}
    log = (data_dir / "server.log").open("w")
    server = subprocess.Popen(
        [args.label_studio, "start", "--no-browser", "--internal-host", "127.0.0.1", "-p", str(args.port),
         "--data-dir", str(data_dir), "--username", "admin@example.com", "--password", os.urandom(12).hex(),
         "--user-token", TOKEN, "--enable-legacy-api-token"],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    summary: dict = {"data_dir": str(data_dir)}
    try:
        summary["start_s"] = round(wait_up(base, server, args.start_timeout), 1)
        t0 = time.monotonic()
        config = (args.tasks / "label_config.xml").read_text(encoding="utf-8")
        tasks = json.loads((args.tasks / "tasks.json").read_text(encoding="utf-8"))
        project = call(base, "POST", "/api/projects/", {"title": "MIND human evaluation", "label_config": config})
        pid = project["id"]
        if args.images:
            call(base, "POST", "/api/storages/localfiles/", {"project": pid, "path": str(args.images.resolve()),
                                                              "title": "product images", "use_blob_urls": False})
        imported = call(base, "POST", f"/api/projects/{pid}/import", tasks, timeout=600)
        summary["imported_tasks"] = imported.get("task_count")
        users = [call(base, "POST", "/api/users/", {"email": f"annotator{n}@example.com",
                                                     "username": f"annotator{n}"})["id"]
                 for n in range(1, args.annotators + 1)]
        rng = random.Random(args.seed)
        given = json.loads(args.answers.read_text(encoding="utf-8")) if args.answers else None
        listed, page = [], 1
        while True:
            got = call(base, "GET", f"/api/tasks/?project={pid}&page={page}&page_size=100")
            batch = got.get("tasks", []) if isinstance(got, dict) else got
            listed += batch
            if len(batch) < 100:
                break
            page += 1
        made = 0
        for task in listed:
            if given is None:
                per_user = [{q: "yes" if rng.random() < 0.8 else "no" for q in QUESTIONS} for _ in users]
            else:
                per_user = given.get(task["data"]["intention_id"], [])
            for user, answers in zip(users, per_user, strict=False):  # a task may have fewer answers given
                result = [{"from_name": q, "to_name": "intention", "type": "choices",
                           "value": {"choices": [value]}} for q, value in answers.items()]
                call(base, "POST", f"/api/tasks/{task['id']}/annotations/",
                     {"result": result, "completed_by": user, "lead_time": 1.0})
                made += 1
        summary["annotations"] = made
        summary["users"] = users
        export = call(base, "GET", f"/api/projects/{pid}/export?exportType=JSON&download_all_tasks=true", timeout=600)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(export if isinstance(export, bytes) else json.dumps(export).encode())
        local = next((t["data"].get(k) for t in tasks for k in ("image_a", "image_b")
                      if str(t["data"].get(k, "")).startswith("/data/local-files/")), None)
        if local:
            request = urllib.request.Request(base + local, headers={"Authorization": f"Token {TOKEN}"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    summary["local_image"] = {"url": local, "status": response.status, "bytes": len(response.read())}
            except urllib.error.HTTPError as exc:
                summary["local_image"] = {"url": local, "status": exc.code}
        summary["round_trip_s"] = round(time.monotonic() - t0, 1)
        summary["out"] = str(args.out)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
