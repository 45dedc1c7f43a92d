"""The lake: extracted table data as Parquet files under `<lake>/<source>/<schema>/<table>/`, through fsspec.

Layout of one table's dataset::

    <lake>/<source>/<schema>/<table>/
        run=<run_id>/part-00000.parquet     one file per chunk, named from the run id and the chunk number
        run=<run_id>/part-00001.parquet
        run=<run_id>/_SUCCESS.json          the run's manifest, written last: the run is *committed*

- **Names are deterministic**: writing chunk 3 of run `r` again replaces the file instead of adding one, so a
  retried extraction cannot duplicate what a crashed attempt already wrote.
- **No half files**: on a local folder a chunk is written to a hidden temporary name, flushed to disk (fsync),
  then renamed into place (atomic on POSIX); on an object store (`abfs://`, `s3://`, …) it is uploaded straight
  to its final name, since a blob only becomes visible, whole, when its upload is committed.
- **The manifest is the authority**: readers take only the runs that have a `_SUCCESS.json` and, in them, only the
  files it lists. Spark and Hadoop ignore `_`-prefixed files, so pointing Spark at a run folder reads just Parquet.
- **Backfills supersede**: a backfill's manifest lists the older chunks it replaces (`supersedes`);
  `Lake.committed_runs` leaves those out, so the chunks it returns hold each row once (`crawlers.backfill`).

Each name (`source`, `schema`, `table`) becomes one path segment, escaped by `escape_segment`: reversible
percent-encoding of what would change a path's meaning (separators, `.`/`..`, URL and glob syntax, control
characters), everything else — Unicode included — kept as it is.

Modules: `store` (`Lake`: paths, writing, reading, cleaning up), `names` (segments, run ids, chunk file names),
`manifest` (`RunManifest`, `ChunkInfo`), `chunks` (a chunk's Parquet writer and footer), `durable` (files that
appear whole or not at all).
"""

from crawlers.lake.chunks import CHUNK_METADATA_KEY
from crawlers.lake.manifest import MANIFEST_NAME, ChunkInfo, RunManifest, utc_now
from crawlers.lake.names import (
    BACKFILL_RUN_PREFIX,
    MAX_SEGMENT_BYTES,
    RUN_PREFIX,
    check_run_id,
    escape_segment,
    unescape_segment,
)
from crawlers.lake.store import Lake

__all__ = [
    "BACKFILL_RUN_PREFIX",
    "CHUNK_METADATA_KEY",
    "MANIFEST_NAME",
    "MAX_SEGMENT_BYTES",
    "RUN_PREFIX",
    "ChunkInfo",
    "Lake",
    "RunManifest",
    "check_run_id",
    "escape_segment",
    "unescape_segment",
    "utc_now",
]
