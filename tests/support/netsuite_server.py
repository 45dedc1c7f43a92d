"""A local stand-in for one NetSuite account's SuiteTalk REST domain, over real HTTP on 127.0.0.1.

NetSuite itself cannot run here, so this server replaces only the network edge: the connector uses its real httpx
client, oauthlib signer and JWT signing against it. The server checks what NetSuite checks, independently of the
connector's code:

- OAuth 1.0a (TBA): the HMAC-SHA256 signature is recomputed here from the RFC 5849 base string (own percent-
  encoding and parameter normalisation, not oauthlib's), with the realm, consumer key, token, timestamp window,
  nonce reuse and body hash checked too;
- OAuth 2.0 client credentials: the JWT assertion is verified with PyJWT against the certificate's public key
  (`kid`, `iss`, `aud`, `scope`, lifetime), and only the access tokens it issued are accepted as bearer tokens;
- SuiteQL: the statement is parsed (sqlglot, Oracle dialect) and executed by DuckDB over the account's rows, so
  the watermark filter, ordering and `TO_CHAR` formats in the text the connector sends decide what comes back.

Response shapes follow NetSuite's documentation: the metadata catalog listing (`items` of `name` + `links`), JSON
Schema per record type (`title`, `type`, `format`, `nullable`, `x-ns-custom-field`, `x-ns-filterable`, `$ref` to
`/services/rest/record/v1/metadata-catalog/<type>` for references), SuiteQL pages (`links`, `count`, `hasMore`,
`items`, `offset`, `totalResults`; lower-case keys, values as strings, nulls left out, unformatted dates in the
display format `M/D/YYYY`) and errors (`type`, `title`, `status`, `o:errorDetails[{detail, o:errorCode}]`).
Two answers are not documented and are this server's assumption: a metadata request for an unknown record type
gets 404 `NONEXISTENT_ID`, and (when `unknown_select="error"`) a listing whose `select` names one gets 400
`INVALID_PARAMETER` on the `select` query parameter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlsplit

import duckdb
import jwt
import sqlglot
from sqlglot import exp

CATALOG = "/services/rest/record/v1/metadata-catalog"
SUITEQL = "/services/rest/query/v1/suiteql"
TOKEN = "/services/rest/auth/oauth2/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
RFC2616 = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
INVALID_LOGIN = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > "
    "User Management > View Login Audit Trail."
)
_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests"}
_ORACLE_TO_STRFTIME = (("YYYY", "%Y"), ("HH24", "%H"), ("MM", "%m"), ("DD", "%d"), ("MI", "%M"), ("SS", "%S"))


@dataclass
class RecordTypeFixture:
    """One record type of the fake account: its JSON Schema (as served) and its rows (SuiteQL names, Python values)."""

    name: str
    schema: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    in_suiteql: bool = True
    """False for REST record types SuiteQL knows under another table (a salesOrder is a row of `transaction`)."""

    def sql_columns(self) -> dict[str, str]:
        """DuckDB column types of the queryable fields, named as SuiteQL names them (lower case)."""
        props = self.schema["properties"]
        columns = {}
        for name in self.schema.get("x-ns-filterable", list(props)):
            prop = props[name]
            if name == "id" or "$ref" in prop or prop.get("type") == "integer":
                kind = "BIGINT"
            elif prop.get("type") == "number":
                kind = "DOUBLE"
            elif prop.get("format") == "date":
                kind = "DATE"
            elif prop.get("format") == "date-time":
                kind = "TIMESTAMP"
            else:
                kind = "VARCHAR"  # strings, and check boxes stored as SuiteQL returns them: 'T' / 'F'
            columns[name.lower()] = kind
        return columns


@dataclass
class Scripted:
    """An answer served instead of the normal one, `times` times, to requests whose path starts with `path`."""

    path: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


@dataclass
class Seen:
    """One request as the server received it, and what it answered."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str
    status: int = 0
    note: str = ""


class FakeNetsuite:
    """A NetSuite account on 127.0.0.1: use as a context manager; `url` is its REST domain."""

    def __init__(
        self,
        record_types: Sequence[RecordTypeFixture],
        *,
        account_id: str = "1234567_SB1",
        tba: dict[str, str] | None = None,
        oauth2: dict[str, str] | None = None,
        result_cap: int = 100_000,
        unknown_select: str = "omit",
    ) -> None:
        self.account_id = account_id
        self.types = {t.name.lower(): t for t in record_types}
        self.tba = tba or {}
        self.oauth2 = oauth2 or {}
        self.result_cap = result_cap
        self.unknown_select = unknown_select
        self.forbidden: set[str] = set()
        self.refuse_tokens = False
        self.accept_bearer = True
        self.suiteql_delay_s = 0.0
        self.log: list[Seen] = []
        self.tokens: dict[str, bool] = {}  # issued access token -> still valid
        self._scripted: list[Scripted] = []
        self._nonces: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()
        self._duckdb: duckdb.DuckDBPyConnection | None = None
        self._stopped = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        # A short poll interval: `shutdown` waits for the loop to notice, 0.5 s by default, in every test.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    # -- lifecycle and control ------------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Handler threads still at work (a delayed answer) must not start DuckDB work once the test is over: a
        # daemon thread inside DuckDB when the interpreter exits aborts the process.
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            if self._duckdb is not None:
                self._duckdb.close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def script(
        self, path: str, status: int, body: dict[str, Any], headers: dict[str, str] | None = None, times: int = 1
    ) -> None:
        self._scripted.append(Scripted(path, status, body, headers or {}, times))

    def expire_tokens(self) -> None:
        for token in self.tokens:
            self.tokens[token] = False

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.log if s.path.startswith(path)]

    # -- request handling -------------------------------------------------------------------------------------------

    def handle(self, seen: Seen, host: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        for scripted in self._scripted:
            if scripted.times > 0 and seen.path.startswith(scripted.path):
                scripted.times -= 1
                return scripted.status, scripted.body, scripted.headers
        if seen.path == TOKEN and seen.method == "POST":
            return self._token(seen, host)
        problem = self._authenticate(seen, host)
        if problem:
            seen.note = problem
            return error(401, INVALID_LOGIN, "INVALID_LOGIN")
        if seen.method == "GET" and seen.path == CATALOG:
            return self._listing(seen, host)
        if seen.method == "GET" and seen.path.startswith(CATALOG + "/"):
            return self._schema(seen, seen.path[len(CATALOG) + 1 :])
        if seen.method == "POST" and seen.path == SUITEQL:
            return self._suiteql(seen, host)
        return error(404, f"No resource at {seen.path}.", "NONEXISTENT_ID")

    def _listing(self, seen: Seen, host: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        wanted = [n for n in seen.query.get("select", "").split(",") if n] or list(self.types)
        unknown = [n for n in wanted if n.lower() not in self.types]
        if unknown and self.unknown_select == "error":
            body = error(400, f"Invalid value '{unknown[0]}' for query parameter 'select'.", "INVALID_PARAMETER")[1]
            body["o:errorDetails"][0]["o:errorQueryParam"] = "select"
            return 400, body, {}
        items = []
        for name in wanted:
            fixture = self.types.get(name.lower())
            if fixture is None:
                continue
            href = f"http://{host}{CATALOG}/{fixture.name}"
            items.append(
                {
                    "name": fixture.name,
                    "links": [
                        {"rel": "canonical", "href": href, "mediaType": "application/json"},
                        {"rel": "alternate", "href": href, "mediaType": "application/swagger+json"},
                        {"rel": "alternate", "href": href, "mediaType": "application/schema+json"},
                        {"rel": "describes", "href": f"http://{host}/services/rest/record/v1/{fixture.name}"},
                    ],
                }
            )
        return 200, {"items": items}, {}

    def _schema(self, seen: Seen, name: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        fixture = self.types.get(name.lower())
        if fixture is None:
            return error(404, f"Record type '{name}' does not exist.", "NONEXISTENT_ID")
        if fixture.name.lower() in self.forbidden:
            return error(
                403,
                "Permission Violation: You need a higher level of the 'Lists' permission to access this page. "
                "Please contact your account administrator.",
                "INSUFFICIENT_PERMISSION",
            )
        if "application/schema+json" not in seen.headers.get("accept", ""):
            return error(400, "This test server serves metadata as application/schema+json only.", "INVALID_HEADER")
        return 200, fixture.schema, {}

    def _suiteql(self, seen: Seen, host: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        if self._stopped.wait(self.suiteql_delay_s):
            return error(503, "The server is shutting down.", "UNEXPECTED_ERROR")
        if seen.headers.get("prefer", "").lower() != "transient":
            return error(400, "The request is missing the header 'Prefer: transient'.", "INVALID_HEADER")
        try:
            limit = int(seen.query.get("limit", "1000"))
            offset = int(seen.query.get("offset", "0"))
        except ValueError:
            return error(400, "limit and offset must be integers.", "INVALID_PARAMETER")
        if not 1 <= limit <= 1000 or offset < 0:
            return error(400, f"Invalid value for limit ({limit}) or offset ({offset}).", "INVALID_PARAMETER")
        try:
            statement = json.loads(seen.body)["q"]
            rows = self.execute(statement)[: self.result_cap]
        except SuiteQLError as failure:
            return error(
                400,
                f"Invalid search query. Detailed unprocessed description follows. Search error occurred: {failure}",
                "INVALID_PARAMETER",
            )
        page = rows[offset : offset + limit]
        total = len(rows)

        def href(at: int) -> str:
            return f"http://{host}{SUITEQL}?limit={limit}&offset={at}"

        links = []
        if offset > 0:
            links.append({"rel": "previous", "href": href(max(offset - limit, 0))})
        links.append({"rel": "first", "href": href(0)})
        if offset + limit < total:
            links.append({"rel": "next", "href": href(offset + limit)})
        links.append({"rel": "last", "href": href(max(total - 1, 0) // limit * limit)})
        links.append({"rel": "self", "href": href(offset)})
        body = {
            "links": links,
            "count": len(page),
            "hasMore": offset + len(page) < total,
            "items": [{"links": [], **row} for row in page],
            "offset": offset,
            "totalResults": total,
        }
        return 200, body, {}

    def execute(self, statement: str) -> list[dict[str, str]]:
        """Runs a SuiteQL statement over the fixtures; rows as SuiteQL returns them (strings, no nulls)."""
        try:
            tree = sqlglot.parse_one(statement, read="oracle")
        except sqlglot.errors.ParseError as failure:
            raise SuiteQLError(f"cannot parse the statement: {failure}") from None
        if not isinstance(tree, exp.Select):
            raise SuiteQLError("only SELECT statements are supported")
        for table in tree.find_all(exp.Table):
            if table.name.lower() not in self.types or not self.types[table.name.lower()].in_suiteql:
                raise SuiteQLError(f"Record '{table.name}' was not found.")
        for node in list(tree.find_all(exp.ToChar)):
            node.replace(exp.Anonymous(this="STRFTIME", expressions=[node.this, exp.Literal.string(_strftime(node))]))
        try:
            with self._lock:
                if self._stopped.is_set():
                    raise SuiteQLError("the server is shutting down")
                cursor = self._database().execute(tree.sql(dialect="duckdb"))
                names = [d[0].lower() for d in cursor.description]
                rows = cursor.fetchall()
        except duckdb.Error as failure:
            raise SuiteQLError(str(failure).splitlines()[0]) from None
        return [{name: _served(value) for name, value in zip(names, values) if value is not None} for values in rows]

    def _database(self) -> duckdb.DuckDBPyConnection:
        """The fixtures as DuckDB tables, loaded at the first statement (rows are fixed once the server runs)."""
        if self._duckdb is None:
            connection = duckdb.connect()
            for fixture in self.types.values():
                columns = fixture.sql_columns()
                connection.execute(
                    f"CREATE TABLE {fixture.name.lower()} ({', '.join(f'{c} {k}' for c, k in columns.items())})"
                )
                if fixture.rows:
                    connection.executemany(
                        f"INSERT INTO {fixture.name.lower()} VALUES ({', '.join('?' for _ in columns)})",
                        [[_stored(row.get(c)) for c in columns] for row in fixture.rows],
                    )
            self._duckdb = connection
        return self._duckdb

    # -- authentication -----------------------------------------------------------------------------------------------

    def _authenticate(self, seen: Seen, host: str) -> str:
        header = seen.headers.get("authorization", "")
        if header.startswith("OAuth ") and self.tba:
            return self._check_tba(seen, host, header)
        if header.startswith("Bearer ") and self.oauth2:
            valid = self.tokens.get(header[len("Bearer ") :])
            if valid and not self.accept_bearer:
                return "bearer tokens refused"
            return "" if valid else ("expired access token" if valid is False else "unknown access token")
        return "no usable Authorization header"

    def _check_tba(self, seen: Seen, host: str, header: str) -> str:
        params = {k: unquote(v) for k, v in re.findall(r'([A-Za-z_]+)="([^"]*)"', header)}
        if params.pop("realm", None) != self.account_id:
            return "wrong realm"
        if params.get("oauth_signature_method") != "HMAC-SHA256" or params.get("oauth_version", "1.0") != "1.0":
            return "unsupported signature method"
        if (
            params.get("oauth_consumer_key") != self.tba["consumer_key"]
            or params.get("oauth_token") != self.tba["token_id"]
        ):
            return "unknown consumer key or token"
        if abs(time.time() - int(params.get("oauth_timestamp", "0"))) > 300:
            return "timestamp outside the accepted window"
        nonce = params.get("oauth_nonce", "")
        key = (params["oauth_token"], nonce, params["oauth_timestamp"])
        with self._lock:
            if len(nonce) < 6 or key in self._nonces:
                return "nonce too short or already used"
            self._nonces.add(key)
        if seen.body:
            expected_hash = base64.b64encode(hashlib.sha1(seen.body.encode()).digest()).decode()
            if params.get("oauth_body_hash") != expected_hash:
                return "body hash mismatch"
        signature = params.pop("oauth_signature", "")
        pairs = parse_qsl(seen.headers.get(":raw-query", ""), keep_blank_values=True)
        pairs += list(params.items())
        normalized = "&".join(f"{k}={v}" for k, v in sorted((_enc(k), _enc(v)) for k, v in pairs))
        base_string = "&".join([seen.method.upper(), _enc(f"http://{host.lower()}{seen.path}"), _enc(normalized)])
        signing_key = f"{_enc(self.tba['consumer_secret'])}&{_enc(self.tba['token_secret'])}"
        expected = base64.b64encode(
            hmac.new(signing_key.encode(), base_string.encode(), hashlib.sha256).digest()
        ).decode()
        return "" if hmac.compare_digest(expected, signature) else "signature mismatch"

    def _token(self, seen: Seen, host: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        form = {k: v[0] for k, v in parse_qs(seen.body).items()}
        if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != ASSERTION_TYPE:
            return 400, {"error": "invalid_request"}, {}
        problem = self._check_assertion(form.get("client_assertion", ""), f"http://{host}{TOKEN}")
        if problem or self.refuse_tokens:
            seen.note = problem or "token requests refused"
            return 400, {"error": "invalid_grant"}, {}
        token = secrets.token_urlsafe(24)
        self.tokens[token] = True
        return 200, {"access_token": token, "expires_in": "3600", "token_type": "bearer"}, {}

    def _check_assertion(self, assertion: str, audience: str) -> str:
        try:
            header = jwt.get_unverified_header(assertion)
            if header.get("kid") != self.oauth2["certificate_id"]:
                return "unknown certificate id"
            claims = jwt.decode(
                assertion,
                self.oauth2["public_key"],
                algorithms=[header.get("alg", "")] if header.get("alg") in ("PS256", "RS256", "ES256") else [],
                audience=audience,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError as failure:
            return f"assertion rejected: {failure}"
        scope = claims.get("scope")
        scopes = scope if isinstance(scope, list) else str(scope or "").split(",")
        if claims["iss"] != self.oauth2["client_id"]:
            return "wrong issuer"
        if "rest_webservices" not in scopes:
            return "scope lacks rest_webservices"
        if claims["exp"] - claims["iat"] > 3600:
            return "assertion lives longer than an hour"
        return ""


class SuiteQLError(Exception):
    """The statement cannot run."""


def error(status: int, detail: str, code: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """NetSuite's error body (RFC 7807-like, with `o:errorDetails`)."""
    return (
        status,
        {
            "type": RFC2616,
            "title": _TITLES.get(status, "Error"),
            "status": status,
            "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
        },
        {},
    )


def _strftime(node: exp.ToChar) -> str:
    text = node.args["format"].name
    for oracle, python in _ORACLE_TO_STRFTIME:
        text = text.replace(oracle, python)
    if re.search(r"[A-Za-z]", re.sub(r"%[YmdHMS]", "", text)):
        raise SuiteQLError(f"unsupported TO_CHAR format {node.args['format'].name!r}")
    return text


def _stored(value: Any) -> Any:
    if isinstance(value, bool):
        return "T" if value else "F"
    return value


def _served(value: Any) -> str:
    if isinstance(value, datetime | date):
        return f"{value.month}/{value.day}/{value.year}"  # the user's display format, without the time
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _enc(text: str) -> str:
    return quote(text, safe="~-._")


def _handler(fake: FakeNetsuite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            headers = {k.lower(): v for k, v in self.headers.items()}
            headers[":raw-query"] = parts.query
            seen = Seen(self.command, parts.path, dict(parse_qsl(parts.query)), headers, body)
            with fake._lock:
                fake.log.append(seen)
            status, payload, extra = fake.handle(seen, self.headers.get("Host", ""))
            seen.status = status
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header(
                "Content-Type",
                "application/vnd.oracle.resource+json; type=error" if status >= 400 else "application/json",
            )
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


# -- documented-shape fixtures ----------------------------------------------------------------------------------------


def _ref(record_type: str, title: str, *, nullable: bool = True, custom: bool = False) -> dict[str, Any]:
    prop: dict[str, Any] = {"title": title, "$ref": f"{CATALOG}/{record_type}", "nullable": nullable}
    if custom:
        prop["x-ns-custom-field"] = True
    return prop


def customer_schema() -> dict[str, Any]:
    """A shortened `customer` JSON Schema with standard fields, custom fields, references and a sublist."""
    properties: dict[str, Any] = {
        "id": {"title": "Internal ID", "type": "string", "nullable": False},
        "entityId": {"title": "Customer ID", "type": "string", "nullable": True},
        "companyName": {"title": "Company Name", "type": "string", "nullable": True},
        "email": {"title": "Email", "type": "string", "nullable": True},
        "balance": {"title": "Balance", "type": "number", "format": "double", "nullable": True},
        "isInactive": {"title": "Inactive", "type": "boolean", "nullable": False},
        "startDate": {
            "title": "Start Date",
            "type": "string",
            "description": "<p>Enter the date this person or company became a customer, lead or prospect.</p>",
            "format": "date",
            "nullable": True,
        },
        "dateCreated": {"title": "Date Created", "type": "string", "format": "date-time", "nullable": True},
        "lastModifiedDate": {"title": "Last Modified Date", "type": "string", "format": "date-time", "nullable": True},
        "subsidiary": _ref("subsidiary", "Primary Subsidiary", nullable=False),
        "currency": _ref("currency", "Currency"),
        "addressBook": {"title": "Address Book", "$ref": f"{CATALOG}/customer-addressBookCollection"},
        "custentity_integer": {
            "title": "Integer Number",
            "type": "integer",
            "format": "int64",
            "nullable": True,
            "x-ns-custom-field": True,
        },
        "custentity_loyalty_tier": {
            "title": "Loyalty Tier",
            "type": "string",
            "nullable": True,
            "x-ns-custom-field": True,
        },
        "custentity_account_manager": _ref("employee", "Account Manager", custom=True),
    }
    filterable = [n for n in properties if n != "addressBook"]
    return {"type": "object", "properties": properties, "x-ns-filterable": filterable}


def subsidiary_schema() -> dict[str, Any]:
    properties = {
        "id": {"title": "Internal ID", "type": "string", "nullable": False},
        "name": {"title": "Name", "type": "string", "nullable": False},
        "parent": _ref("subsidiary", "Subsidiary Of"),
        "lastModifiedDate": {"title": "Last Modified Date", "type": "string", "format": "date-time", "nullable": True},
    }
    return {"type": "object", "properties": properties, "x-ns-filterable": list(properties)}


def employee_schema() -> dict[str, Any]:
    properties = {
        "id": {"title": "Internal ID", "type": "string", "nullable": False},
        "entityId": {"title": "Name", "type": "string", "nullable": True},
        "supervisor": _ref("employee", "Supervisor"),
        "subsidiary": _ref("subsidiary", "Subsidiary", nullable=False),
        "custentity_badge": {"title": "Badge Number", "type": "string", "nullable": True, "x-ns-custom-field": True},
    }
    return {"type": "object", "properties": properties, "x-ns-filterable": list(properties)}


def iter_pages(seen: Sequence[Seen]) -> Iterator[tuple[int, int]]:
    """(limit, offset) of each SuiteQL request in `seen`."""
    for s in seen:
        yield int(s.query["limit"]), int(s.query["offset"])
