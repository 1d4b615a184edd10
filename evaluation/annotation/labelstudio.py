"""Label Studio: the labelling config, tasks in its JSON import format, and its JSON export read back.

Tasks (import format, https://labelstud.io/guide/task_format): `[{"data": {...}}, ...]`; the data
keys are the `$names` the config shows. The export (Project > Export > JSON) is the same list with
`annotations: [{id, completed_by, result: [{from_name, to_name, type: "choices", value: {choices:
["yes"]}}], was_cancelled, created_at, ...}]` per task. `completed_by` is the user's numeric id in
the documented format (some versions write a user object; its email is used then).

Images: a product's `imageUrl` when it has one, else its local `imagePath` as Label Studio's
local-files URL `/data/local-files/?d=<path relative to the document root>` (serve with
LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true and LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=<root>),
else empty.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from evaluation.annotation import (
    MAX_ANNOTATIONS_PER_TASK,
    MAX_ANNOTATOR,
    MAX_FIELD,
    MAX_ID,
    MAX_ROWS,
)
from evaluation.annotation.answers import Reject, Vote, parse_answer, parse_time
from mindkb.annotation import QUESTIONS, REQUIRED

# Question name -> what the annotator is asked.
PROMPTS = {
    "plausible": "Is this a plausible reason for buying the two products together?",
    "typical": "Is it a typical reason (one many customers would have), not a far-fetched one?",
    "human_centric": "Is it about the customer (their needs, activities, goals), not only the products?",
    "filter_correct": "Is the filter's verdict (accepted / rejected) right?",
    "rationale_correct": "Optional: is the filter's rationale right?",
}

LABEL_CONFIG = """<View>
  <Header value="Why would someone buy these two products together? ($relation)"/>
  <View style="display: flex; gap: 1em;">
    <View style="flex: 1;">
      <Header value="Product A" size="5"/>
      <Text name="title_a" value="$title_a"/>
      <Image name="image_a" value="$image_a" maxWidth="320px"/>
      <Text name="features_a" value="$features_a"/>
    </View>
    <View style="flex: 1;">
      <Header value="Product B" size="5"/>
      <Text name="title_b" value="$title_b"/>
      <Image name="image_b" value="$image_b" maxWidth="320px"/>
      <Text name="features_b" value="$features_b"/>
    </View>
  </View>
  <Header value="Purchase intention (relation $relation)" size="4"/>
  <Text name="intention" value="$intention"/>
  <Header value="The filter's verdict and rationale" size="5"/>
  <Text name="verdict" value="$verdict"/>
  <Text name="rationale" value="$rationale"/>
{questions}
</View>
"""

QUESTION = """  <Header value="{prompt}" size="5"/>
  <Choices name="{name}" toName="intention" choice="single-radio" showInline="true"{required}>
    <Choice value="yes"/>
    <Choice value="no"/>
  </Choices>"""


def label_config() -> str:
    questions = "\n".join(
        QUESTION.format(prompt=PROMPTS[q], name=q, required=' required="true"' if q in REQUIRED else "")
        for q in QUESTIONS)
    return LABEL_CONFIG.replace("{questions}", questions)


def local_files_url(path: str, document_root: Path) -> str | None:
    """Label Studio's URL for a local file under its document root; None outside it."""
    try:
        relative = Path(path).expanduser().resolve().relative_to(document_root.expanduser().resolve())
    except (ValueError, OSError):
        return None
    return "/data/local-files/?d=" + quote(relative.as_posix(), safe="/")


def image_value(url: str | None, path: str | None, document_root: Path) -> tuple[str, str]:
    """(value, kind) with kind url | local | outside_root | none."""
    if isinstance(url, str) and url.strip():
        return url.strip(), "url"
    if isinstance(path, str) and path.strip():
        local = local_files_url(path, document_root)
        return (local, "local") if local else ("", "outside_root")
    return "", "none"


def _text(value: object) -> str:
    if value is None:
        return ""
    text = " ".join(value) if isinstance(value, list) else str(value)
    return text[:MAX_FIELD]


def task_data(row: dict, document_root: Path) -> tuple[dict, dict[str, str]]:
    """The task's data (shared with the CSV) and the kind of each image."""
    image_a, kind_a = image_value(row.get("imageUrlA"), row.get("imagePathA"), document_root)
    image_b, kind_b = image_value(row.get("imageUrlB"), row.get("imagePathB"), document_root)
    status = row.get("status") or ""
    data = {
        "intention_id": row["id"], "relation": row.get("relation") or "", "template": _text(row.get("template")),
        "status": status, "verdict": f"The filter {status.lower() or 'did not decide on'} this intention.",
        "rationale": _text(row.get("rationale")), "intention": _text(row.get("text")),
        "asin_a": row.get("asinA") or "", "title_a": _text(row.get("titleA")),
        "features_a": _text(row.get("featuresA")), "image_a": image_a,
        "asin_b": row.get("asinB") or "", "title_b": _text(row.get("titleB")),
        "features_b": _text(row.get("featuresB")), "image_b": image_b,
    }
    return data, {"a": kind_a, "b": kind_b}


def tasks_json(datas: list[dict]) -> str:
    return json.dumps([{"data": d} for d in datas], ensure_ascii=False, indent=1) + "\n"


# --- reading an export -----------------------------------------------------------------------------
def iter_json_array(text: str) -> Iterator[tuple[int, object]]:
    """The elements of a top-level JSON array with the line each starts on (ValueError if not one)."""
    decoder = json.JSONDecoder()
    pos, line, counted = _skip_ws(text, 0), 1, 0
    if pos >= len(text) or text[pos] != "[":
        raise ValueError("not a JSON array of tasks (a Label Studio JSON export starts with '[')")
    pos = _skip_ws(text, pos + 1)
    if pos < len(text) and text[pos] == "]":
        _expect_end(text, pos + 1)
        return
    while True:
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            item, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise ValueError(f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
        yield line, item
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            _expect_end(text, pos + 1)
            return
        raise ValueError(f"invalid JSON at line {line + text.count(chr(10), counted, pos)}: expected ',' or ']'")


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _expect_end(text: str, pos: int) -> None:
    if _skip_ws(text, pos) != len(text):
        raise ValueError("extra data after the JSON array")


def annotator_of(completed_by: object) -> str | None:
    """The documented integer user id, a string, or a user object (email, username, id)."""
    if isinstance(completed_by, bool):
        return None
    if isinstance(completed_by, int):
        return str(completed_by)
    if isinstance(completed_by, str):
        return completed_by.strip() or None
    if isinstance(completed_by, dict):
        for key in ("email", "username", "id"):
            value = completed_by.get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
                return str(value).strip()
    return None


def read_export(text: str, source: str) -> Iterator[Vote | Reject]:
    """Votes (one per non-cancelled annotation) and rejects, in file order.

    A reject is yielded for: a task that is not an object or has no data.intention_id, an
    annotation without completed_by, a question answered with something other than one of yes/no,
    a required question left unanswered. Cancelled annotations and tasks without any are skips (Reject.kind)."""
    count = 0
    for line, task in iter_json_array(text):
        count += 1
        if count > MAX_ROWS:
            raise ValueError(f"more than {MAX_ROWS:,} tasks")
        raw = json.dumps(task, ensure_ascii=False)
        if not isinstance(task, dict):
            yield Reject(line, "a task must be a JSON object", raw)
            continue
        data = task.get("data")
        intention_id = data.get("intention_id") if isinstance(data, dict) else None
        task_ref = f"task {task.get('id', count)}"
        if not isinstance(intention_id, str) or not intention_id.strip() or len(intention_id) > MAX_ID:
            yield Reject(line, f"{task_ref}: no data.intention_id (or longer than {MAX_ID} characters)", raw)
            continue
        annotations = task.get("annotations", [])
        if not isinstance(annotations, list):
            yield Reject(line, f"{task_ref}: annotations must be a list", raw)
            continue
        if len(annotations) > MAX_ANNOTATIONS_PER_TASK:
            yield Reject(line, f"{task_ref}: more than {MAX_ANNOTATIONS_PER_TASK} annotations", raw)
            continue
        if not annotations:
            yield Reject(line, f"{task_ref}: no annotations", raw, kind="unannotated")
            continue
        status = data.get("status") if isinstance(data, dict) else None
        shown = status if isinstance(status, str) else None
        for n, ann in enumerate(annotations, 1):
            ann_ref = ann.get("id", n) if isinstance(ann, dict) else n
            yield _vote(ann, intention_id.strip(), shown, line, f"{task_ref}, annotation {ann_ref}", source)


def _vote(ann: object, intention_id: str, shown: str | None, line: int, ref: str, source: str) -> Vote | Reject:
    raw = json.dumps(ann, ensure_ascii=False)
    if not isinstance(ann, dict):
        return Reject(line, f"{ref}: an annotation must be a JSON object", raw)
    if ann.get("was_cancelled") is True:
        return Reject(line, f"{ref}: cancelled (skipped) by the annotator", raw, kind="cancelled")
    annotator = annotator_of(ann.get("completed_by"))
    if annotator is None:
        return Reject(line, f"{ref}: no completed_by (who answered)", raw)
    if len(annotator) > MAX_ANNOTATOR:
        return Reject(line, f"{ref}: annotator name longer than {MAX_ANNOTATOR} characters", raw)
    result = ann.get("result")
    if not isinstance(result, list):
        return Reject(line, f"{ref}: result must be a list", raw)
    answers: dict[str, bool | None] = dict.fromkeys(QUESTIONS)
    for region in result:
        if not isinstance(region, dict) or region.get("from_name") not in QUESTIONS:
            continue  # other controls of a customised config
        name = region["from_name"]
        value = region.get("value")
        choices = value.get("choices") if isinstance(value, dict) else None
        if region.get("type") != "choices" or not isinstance(choices, list) or len(choices) != 1:
            return Reject(line, f"{ref}: {name} must be one choice (yes or no), got {_short(value)}", raw)
        try:
            answers[name] = parse_answer(choices[0])
        except ValueError as exc:
            return Reject(line, f"{ref}: {name}: {exc}", raw)
    missing = [q for q in REQUIRED if answers[q] is None]
    if missing:
        return Reject(line, f"{ref}: missing answer(s): {', '.join(missing)}", raw)
    try:
        created = parse_time(ann.get("created_at"))
    except ValueError as exc:
        return Reject(line, f"{ref}: created_at: {exc}", raw)
    return Vote(intention_id=intention_id, annotator=annotator, answers=answers, created_at=created,
                status_shown=shown, source="labelstudio", source_file=source, ref=ref, line=line, raw=raw)


def _short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."

