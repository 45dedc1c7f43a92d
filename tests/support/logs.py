"""Reading the catalog's JSON logs as a log collector would: every line must be one JSON object."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from catalog_api.observability.logs import QUIET_LOGGERS, configure_logging


def json_lines(text: str) -> list[dict[str, Any]]:
    """Each non-empty line of `text` parsed as JSON; a line that does not parse fails the test, naming it."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise AssertionError(f"line {number} is not JSON ({error}): {line!r}") from None
        assert isinstance(record, dict), f"line {number} is not a JSON object: {line!r}"
        records.append(record)
    return records


@contextmanager
def process_logging(log_format: str = "json", level: str = "INFO") -> Iterator[None]:
    """This process logs as `catalog serve` does (`configure_logging`) while it lasts; pytest's handlers, levels and
    uvicorn's loggers are put back afterwards so other tests log as before."""
    root = logging.getLogger()
    named = [logging.getLogger(name) for name in (*QUIET_LOGGERS, "uvicorn", "uvicorn.error", "uvicorn.access")]
    saved = (list(root.handlers), root.level, [(n, n.level, list(n.handlers), n.propagate) for n in named])
    configure_logging(log_format, level)  # type: ignore[arg-type]
    try:
        yield
    finally:
        logging.captureWarnings(False)
        handlers, level_, loggers = saved
        root.handlers[:] = handlers
        root.setLevel(level_)
        for logger, old_level, old_handlers, propagate in loggers:
            logger.setLevel(old_level)
            logger.handlers[:] = old_handlers
            logger.propagate = propagate
