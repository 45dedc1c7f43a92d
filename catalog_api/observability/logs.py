"""The log of the catalog's long-running processes (`catalog serve`, `worker`, `scheduler`, `relay`): one record per
line on stderr, as JSON for log collectors or as text for a person at a terminal (`CATALOG_LOG_FORMAT`).

Each record carries what it belongs to (`catalog_api.observability.context`): the request id and trace of the
request being answered, or of the request that created the job being run, and that job's id. A JSON line is

    {"time": "2026-12-05T11:30:00.123Z", "level": "INFO", "logger": "catalog_api.services.jobs.running",
     "message": "…", "request_id": "…", "job_id": "…", "trace_id": "…", "span_id": "…"}

with `exception` (the formatted traceback) when the record has one; uvicorn's access lines add `http_method`,
`http_path`, `http_status` and `client`. Fields without a value are left out. Interactive commands keep their
console output and send library logs to `<home>/logs/cli.log` (`catalog_api.cli.common`).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from catalog_api.observability.context import current_work

LogFormat = Literal["auto", "json", "text"]

CONTEXT_FIELDS = ("request_id", "job_id", "trace_id", "span_id")

QUIET_LOGGERS = {
    # One INFO line per HTTP request to Azure (Key Vault, Event Hubs, storage): WARNING keeps failures only.
    "azure.core.pipeline.policies.http_logging_policy": logging.WARNING,
    "azure.eventhub": logging.WARNING,
    "py4j": logging.WARNING,  # the Spark gateway's connection notices
    "alembic.runtime.plugins": logging.WARNING,  # a line per plugin whenever a process loads alembic
}


class WorkContextFilter(logging.Filter):
    """Stamps each record with the identifiers of the work it was logged in (None outside a request or job), in
    the thread that logs it, so a handler that formats later still has them."""

    def filter(self, record: logging.LogRecord) -> bool:
        work = current_work()
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):  # a caller's `extra` wins
                setattr(record, name, getattr(work, name, None))
        return True


def _utc_iso(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _access_fields(record: logging.LogRecord) -> dict[str, Any]:
    # uvicorn logs `'%s - "%s %s HTTP/%s" %d'` with (client, method, path, http version, status).
    args = record.args
    if record.name != "uvicorn.access" or not isinstance(args, tuple) or len(args) != 5:
        return {}
    client, method, path, _version, status = args
    return {"http_method": method, "http_path": path, "http_status": status, "client": client}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in messages and tracebacks are escaped by JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {"time": _utc_iso(record.created), "level": record.levelname, "logger": record.name,
                                 "message": record.getMessage()}
        entry.update((name, value) for name in CONTEXT_FIELDS if (value := getattr(record, name, None)))
        entry.update(_access_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`time level logger: message [request_id=… job_id=…]`, for a person reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        line = super().formatMessage(record)
        tags = [f"{name}={value}" for name in ("request_id", "job_id") if (value := getattr(record, name, None))]
        return f"{line} [{' '.join(tags)}]" if tags else line


class StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record is emitted: in a dramatiq worker process that is the pipe
    through which its master serialises the output of all its processes."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def resolved_format(log_format: LogFormat, stream: TextIO | None = None) -> Literal["json", "text"]:
    """`auto` is text on a terminal and JSON anywhere else (a container's log, a pipe, a file)."""
    if log_format != "auto":
        return log_format
    stream = stream or sys.stderr
    return "text" if hasattr(stream, "isatty") and stream.isatty() else "json"


def configure_logging(log_format: LogFormat = "auto", level: str | int = logging.INFO) -> Literal["json", "text"]:
    """Sends every logger's records at `level` and up to stderr in `log_format`, replacing what the root logger had
    (dramatiq's and `logging.basicConfig`'s handlers): one place formats every line of the process. Returns the
    format chosen. Calling it again (a worker process re-importing its module) replaces the handler it installed."""
    chosen = resolved_format(log_format)
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    handler.addFilter(WorkContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(quiet, root.level))
    # uvicorn's loggers are left without handlers of their own (uvicorn.run(log_config=None)): they propagate here.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.captureWarnings(True)
    return chosen


def ensure_logging(log_format: LogFormat, level: str | int) -> None:
    """`configure_logging` unless this process already logs through it: a dramatiq worker process forked from a
    configured master keeps its handler; one started afresh (spawn, forkserver) configures the same format, which
    the master exported as CATALOG_LOG_FORMAT (`catalog_api.observability.worker_logs`)."""
    if not any(isinstance(handler, StderrHandler) for handler in logging.getLogger().handlers):
        configure_logging(log_format, level)


def announcement(markup: str, logger: str = "catalog_api.cli") -> str:
    """A command's console announcement (rich markup) as one JSON log line at INFO, for JSON mode's stdout."""
    from rich.text import Text

    record = logging.LogRecord(logger, logging.INFO, __file__, 0, Text.from_markup(markup).plain, None, None)
    WorkContextFilter().filter(record)
    return JsonFormatter().format(record)
