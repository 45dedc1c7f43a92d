"""SQLite connector: discovers one database file, read-only, with a fixed number of catalog statements.

Discovery joins `sqlite_schema` to the pragma table-valued functions (`pragma_table_xinfo`,
`pragma_foreign_key_list`, `pragma_index_list` + `pragma_index_info`), so the number of statements does not depend
on how many tables the file holds. What the pragmas do not expose (constraint names, generation expressions,
`WITHOUT ROWID`, expressions of expression indexes) is recovered from the `CREATE` statements kept in
`sqlite_schema`, with a small tokenizer rather than regular expressions over raw SQL, so quoted identifiers,
strings and comments cannot confuse it.

Modules: `config` (the file and the timeout), `session` (statement counting and the progress-handler timeout),
`catalog` (the bulk statements), `relations` (their rows as snapshots), `ddl` (the CREATE-statement parser),
`errors` (result codes as typed errors), `increment` (incremental reads and the affinity type mapping), `names`
(identifier folding and quoting) and `connector` (the connector class).
"""

from crawlers.connectors.sqlite.config import SqliteConfig
from crawlers.connectors.sqlite.connector import SqliteConnector
from crawlers.connectors.sqlite.names import SCHEMA
from crawlers.connectors.sqlite.session import SqliteSession

__all__ = ["SCHEMA", "SqliteConfig", "SqliteConnector", "SqliteSession"]
