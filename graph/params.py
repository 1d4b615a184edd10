"""Query parameters that are cheap for the driver to log.

The Neo4j Python driver (5.28 and 6.x alike) formats every RUN message for its debug log with
`repr()` even when debug logging is off. For a batch of 5,000 384-dimensional vectors that string
takes about 1.2 s, seven times the cost of sending the batch, so batch parameters travel as `Rows`:
a plain list to the packer, a one-line summary to `repr()`.
"""

from __future__ import annotations


class Rows(list):
    __slots__ = ()

    def __repr__(self) -> str:
        return f"<{len(self)} rows>"
