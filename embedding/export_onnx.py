"""`python -m embedding.export_onnx`: make the embedding model's ONNX exports now (`make install`).

The ONNX backends would otherwise export on first use, adding ~10 s to the first `mind serve` or
`mind embed`. Prints one JSON line; a failure is one stderr line and exit code 1 (2 for bad settings).
"""

from __future__ import annotations

import json
import sys

from embedding.models import export_onnx
from mindkb.errors import MindError
from mindkb.settings import get_settings


def main() -> int:
    try:
        settings = get_settings()
        folder = export_onnx(settings.embedding_model, settings.cache_dir)
    except MindError as exc:
        print(f"export_onnx: {exc}", file=sys.stderr)
        return exc.exit_code
    print(json.dumps({"model": settings.embedding_model, "folder": str(folder)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
