"""File formats: recognising them by name, and reading a file's Arrow schema from a bounded sample.

Schemas come from pyarrow's own readers so that discovery and reading agree on types:

- CSV/TSV: pyarrow infers types from the first block of its streaming reader; the block is sized from the first
  64 KiB so that it holds about `sample_rows` rows (at most 16 MiB), and at most two blocks are read.
- JSON lines: the same, with pyarrow's streaming JSON reader.
- JSON arrays (`[{...}, ...]`, which pyarrow cannot read): the first `sample_rows` objects are parsed incrementally
  and handed to pyarrow's JSON reader as lines, so both JSON layouts infer the same types.
- Parquet: the footer only; its row count is exact.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from enum import StrEnum
from typing import IO

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq


class FileFormat(StrEnum):
    """The data file formats the files connector reads."""

    CSV = "csv"
    TSV = "tsv"
    JSON = "json"
    """A JSON array of objects, or objects one after another (sniffed from the first character)."""
    JSONL = "jsonl"
    """Newline-delimited JSON objects."""
    PARQUET = "parquet"


EXTENSIONS: dict[str, FileFormat] = {
    ".csv": FileFormat.CSV,
    ".tsv": FileFormat.TSV,
    ".tab": FileFormat.TSV,
    ".json": FileFormat.JSON,
    ".jsonl": FileFormat.JSONL,
    ".ndjson": FileFormat.JSONL,
    ".parquet": FileFormat.PARQUET,
    ".pq": FileFormat.PARQUET,
}

PEEK_BYTES = 64 * 1024
MIN_SAMPLE_BYTES = 64 * 1024
MAX_SAMPLE_BYTES = 16 * 1024 * 1024
PARQUET_BLOCK = 1024 * 1024
_MAX_ERROR_LENGTH = 300


class FileReadError(Exception):
    """One file could not be read; the message says why, in a user's words, without quoting the file's data."""


def format_of(name: str, allowed: frozenset[FileFormat] | None) -> FileFormat | None:
    """The format of a file named `name`, by extension, or None if it is not a data file the source catalogues.

    With exactly one allowed format, a file without a known extension (Hadoop's `part-00000`) is read as that one.
    """
    suffix = _suffix(name)
    fmt = EXTENSIONS.get(suffix) if suffix else None
    if fmt is None:
        if allowed is not None and len(allowed) == 1 and suffix not in EXTENSIONS:
            return next(iter(allowed))
        return None
    if allowed is not None and fmt not in allowed:
        return None
    return fmt


def stem_of(name: str) -> str:
    """The file name without its data-file extension (`orders.2024.csv` → `orders.2024`)."""
    suffix = _suffix(name)
    return name[: -len(suffix)] if suffix in EXTENSIONS and len(name) > len(suffix) else name


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


@dataclass(frozen=True, slots=True)
class CsvDialect:
    """How CSV/TSV files are parsed, the same way for sampling and for reading."""

    delimiter: str

    def parse_options(self) -> pa_csv.ParseOptions:
        # Quoted values may span lines in real-world CSV; pyarrow's default would split rows inside them.
        return pa_csv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True)


def csv_dialect(fmt: FileFormat, csv_delimiter: str | None) -> CsvDialect:
    if fmt is FileFormat.TSV:
        return CsvDialect("\t")
    return CsvDialect(csv_delimiter or ",")


def json_parse_options(schema: pa.Schema | None = None) -> pa_json.ParseOptions:
    options = pa_json.ParseOptions(newlines_in_values=True)
    if schema is not None:
        options = pa_json.ParseOptions(
            explicit_schema=schema, newlines_in_values=True, unexpected_field_behavior="ignore"
        )
    return options


@dataclass(frozen=True, slots=True)
class FileSchema:
    """What a sample of one file says: its Arrow schema, its exact row count (Parquet only), its JSON layout."""

    schema: pa.Schema
    rows: int | None = None
    json_array: bool = False


def read_file_schema(
    open_file: Callable[[int], IO[bytes]], fmt: FileFormat, sample_rows: int, csv_delimiter: str | None
) -> FileSchema:
    """Read one file's schema from a bounded sample; raise `FileReadError` for a malformed file.

    `open_file(block_size)` opens the file; storage errors (network, credentials) pass through untouched.
    """
    try:
        if fmt is FileFormat.PARQUET:
            with open_file(PARQUET_BLOCK) as f:
                metadata = pq.ParquetFile(f).metadata
                return FileSchema(metadata.schema.to_arrow_schema().remove_metadata(), rows=metadata.num_rows)
        with open_file(PEEK_BYTES) as f:
            head = f.read(PEEK_BYTES)
            budget = _sample_budget(head, sample_rows)
            if fmt is FileFormat.JSON and _json_is_array(head):
                f.seek(0)
                return FileSchema(_json_array_schema(f, budget, sample_rows), json_array=True)
            if fmt is FileFormat.JSON:
                _json_is_object_stream(head)
            # pyarrow's streaming readers read ~32 blocks ahead whatever `use_threads` says, so they get a bounded
            # prefix: the first block (the sample) and one more, in which the first block's last row ends.
            prefix = pa.BufferReader(head + f.read(2 * budget - len(head)))
            if fmt in (FileFormat.CSV, FileFormat.TSV):
                return FileSchema(_csv_schema(prefix, budget, csv_dialect(fmt, csv_delimiter)))
            return FileSchema(_json_lines_schema(prefix, budget))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
        raise FileReadError(_clean_arrow_message(str(error), fmt)) from None
    except UnicodeDecodeError as error:
        raise FileReadError(f"not UTF-8 text: invalid byte at offset {error.start}") from None


def _sample_budget(head: bytes, sample_rows: int) -> int:
    """Bytes that hold about `sample_rows` rows, judged from the average line length of the first bytes."""
    lines = max(1, head.count(b"\n"))
    estimate = int(len(head) / lines * (sample_rows + 1) * 1.25)
    return max(MIN_SAMPLE_BYTES, min(MAX_SAMPLE_BYTES, estimate))


def _csv_schema(f: pa.NativeFile, budget: int, dialect: CsvDialect) -> pa.Schema:
    reader = pa_csv.open_csv(
        f,
        read_options=pa_csv.ReadOptions(block_size=budget, use_threads=False),
        parse_options=dialect.parse_options(),
    )
    return _first_block_schema(reader)


def _json_lines_schema(f: pa.NativeFile, budget: int) -> pa.Schema:
    reader = pa_json.open_json(
        f, read_options=pa_json.ReadOptions(block_size=budget, use_threads=False), parse_options=json_parse_options()
    )
    return _first_block_schema(reader)


def _first_block_schema(reader: pa.RecordBatchReader) -> pa.Schema:
    """The types a streaming reader inferred from its first block; reading that block's batch also validates the rows
    it holds. The block after it is never parsed, so the sample's prefix ending mid-row there is harmless."""
    with suppress(StopIteration):
        reader.read_next_batch()
    return reader.schema


def _first_char(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    return chr(text[0]) if text else ""


def _json_is_array(head: bytes) -> bool:
    return _first_char(head) == "["


def _json_is_object_stream(head: bytes) -> None:
    first = _first_char(head)
    if first == "":
        raise FileReadError("empty JSON file")
    if first != "{":
        raise FileReadError(f"not JSON objects: expected '[' or '{{' at the start, found {first!r}")


def _json_array_schema(f: IO[bytes], budget: int, sample_rows: int) -> pa.Schema:
    objects: list[dict] = []
    for item in iter_json_array(f, max_bytes=budget):
        objects.append(item)
        if len(objects) >= sample_rows:
            break
    if not objects:
        return pa.schema([])
    return pa_json.read_json(io.BytesIO(objects_as_lines(objects)), parse_options=json_parse_options()).schema


def objects_as_lines(objects: list[dict]) -> bytes:
    """JSON objects as newline-delimited JSON, the form pyarrow's JSON reader takes."""
    return "\n".join(json.dumps(o, ensure_ascii=False, separators=(",", ":")) for o in objects).encode()


def iter_json_array(f: IO[bytes], max_bytes: int | None = None, chunk: int = 1 << 20) -> Iterator[dict]:
    """The objects of a JSON array, parsed incrementally (memory: one chunk plus the largest object).

    With `max_bytes`, reading stops after about that many bytes; an object cut off there ends the iteration quietly
    if at least one object came before it (a sample), and is an error otherwise.
    """
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8-sig")()
    buf, pos, eof, truncated, read_bytes, lines_before, count = "", 0, False, False, 0, 0, 0

    def fill() -> None:
        nonlocal buf, pos, eof, truncated, read_bytes, lines_before
        want = max(chunk, len(buf) - pos)  # grow geometrically so that a huge object is not re-parsed too often
        if max_bytes is not None:
            want = min(want, max_bytes - read_bytes)
        data = f.read(want) if want > 0 else b""
        read_bytes += len(data)
        if max_bytes is not None and read_bytes >= max_bytes and data:
            truncated = True
        eof = not data or truncated
        lines_before += buf.count("\n", 0, pos)
        buf = buf[pos:] + utf8.decode(data, final=eof and not truncated)
        pos = 0

    def skip_space() -> bool:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos < len(buf) or eof:
                return pos < len(buf)
            fill()

    def error(message: str, at: int) -> FileReadError:
        line = lines_before + buf.count("\n", 0, at) + 1
        return FileReadError(f"JSON parse error on line {line}: {message}")

    fill()
    if not skip_space() or buf[pos] != "[":
        raise error("expected '[' at the start of a JSON array", pos)
    pos += 1
    expect_value = True
    while True:
        if not skip_space():
            if truncated and count:
                return
            raise error("the array is not closed with ']'", pos)
        char = buf[pos]
        if char == "]" and (count == 0 or not expect_value):
            return
        if not expect_value:
            if char != ",":
                raise error(f"expected ',' or ']' after element {count}, found {char!r}", pos)
            pos += 1
            expect_value = True
            continue
        while True:
            try:
                value, end = decoder.raw_decode(buf, pos)
                # A number or literal that ends the buffer may continue in the next chunk.
                if end == len(buf) and not eof:
                    raise json.JSONDecodeError("incomplete", buf, end)
                break
            except json.JSONDecodeError as decode_error:
                if not eof:
                    fill()
                    continue
                if truncated:
                    if count:
                        return
                    raise FileReadError(
                        f"the first JSON object is larger than the sample budget of {max_bytes} bytes"
                    ) from None
                raise error(decode_error.msg, decode_error.pos) from None
        if not isinstance(value, dict):
            raise error(f"array element {count + 1} is {type(value).__name__}, not an object", pos)
        count += 1
        yield value
        pos = end
        expect_value = False


_CSV_ROW_TEXT = re.compile(r"^(.*?Expected \d+ columns?, got \d+)(?::.*)?$", re.DOTALL)
_CONVERSION_VALUE = re.compile(r"(CSV conversion error to [^:]+): invalid value .*$", re.DOTALL)


def _clean_arrow_message(message: str, fmt: FileFormat) -> str:
    """pyarrow's message, without the file content it quotes (a catalog must not copy data into its metadata)."""
    message = message.strip()
    if fmt in (FileFormat.CSV, FileFormat.TSV):
        message = _CSV_ROW_TEXT.sub(r"\1", message)
        message = _CONVERSION_VALUE.sub(r"\1: invalid value", message)
    if fmt is FileFormat.PARQUET and "magic bytes" in message.lower():
        message = f"not a Parquet file ({message})"
    message = " ".join(message.split())
    return message if len(message) <= _MAX_ERROR_LENGTH else message[: _MAX_ERROR_LENGTH - 1] + "…"
