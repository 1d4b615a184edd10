"""The human evaluation round trip (the MIND paper's Table 1 for any knowledge base).

`sample` draws a stratified, seeded sample of filtered intentions; `labelstudio` and
`csvformat` write it as Label Studio tasks (with a labelling config) and as a plain CSV, and
read the filled-in answers back; `votes` validates and stores them as `(:Annotation)` nodes;
`report` computes majority-vote rates, pairwise agreement and Fleiss' kappa per relation.
"""

from __future__ import annotations

# The questions, their graph properties and the majority rule: mindkb/annotation.py.
# The filter verdicts a sample draws from (filter correctness needs both).
FILTERED = ("ACCEPTED", "REJECTED")

# Limits on what users control.
MAX_SAMPLE = 100_000
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_ROWS = 1_000_000            # tasks of a Label Studio export, rows of a CSV
MAX_ANNOTATIONS_PER_TASK = 100
MAX_ANNOTATOR = 200             # characters of an annotator's name
MAX_ID = 128                    # characters of an intention id
MAX_FIELD = 20_000              # characters of one text field written to a task
