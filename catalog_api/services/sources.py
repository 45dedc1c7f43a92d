"""Registering, updating, deleting and testing sources. Credentials only ever leave here as secret references."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from catalog_api.db.models import DataSource, Tag, utcnow
from catalog_api.errors import Conflict, FieldProblem, InvalidInput, SourceCheckFailed, clean_reason
from catalog_api.security.secrets import validate_reference
from catalog_api.services.browse import entity_by_urn
from catalog_api.services.context import ServiceContext
from catalog_api.services.events.outbox import record_event
from catalog_api.services.file_roots import check_path
from catalog_api.services.jobs.records import detach_source_jobs, enqueue_job
from catalog_api.services.search.documents import refresh_sources
from catalog_api.services.source_lookup import get_source, list_sources, source_row  # noqa: F401 - its API too
from catalog_api.services.text import free_text, reject_nul
from catalog_api.services.views import JobView, SourceView, source_view
from catalog_api.urns import EntityType, source_urn
from crawlers import available_kinds, get_connector_class
from crawlers.connector import Connector
from crawlers.errors import ConnectorError
from events.data import SourceDeleted, SourceRegistered, SourceUpdated

SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
MAX_SOURCE_NAME = 128
MAX_SOURCE_DESCRIPTION = 10_000


class SourceRegistration(BaseModel):
    """What a user sends to register a source. Raw credentials go in `secrets`, references in `secret_refs`."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: str
    description: str | None = Field(default=None, max_length=MAX_SOURCE_DESCRIPTION)
    config: dict[str, Any] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict)
    secret_refs: dict[str, str] = Field(default_factory=dict)
    test_connection: bool = True
    schedule_cron: str | None = Field(default=None, max_length=255, description="e.g. '0 2 * * *'")
    schedule_timezone: str = Field(default="UTC", max_length=64)


class SourceUpdate(BaseModel):
    """A partial update; `config` replaces the stored config as a whole when given, `config_patch` changes only the
    keys it names (merged with the stored config in the same transaction, so a concurrent update is not lost)."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(default=None, max_length=MAX_SOURCE_DESCRIPTION)
    config: dict[str, Any] | None = None
    config_patch: dict[str, Any] | None = Field(
        default=None, description="Top-level config keys to set; a null value drops the key (back to its default). "
                                  "Other keys keep their stored value. Not together with `config`; a refused value "
                                  "is named `config.<key>`.")
    secrets: dict[str, str] = Field(default_factory=dict)
    secret_refs: dict[str, str] = Field(default_factory=dict)
    test_connection: bool = True


@dataclass(frozen=True, slots=True)
class ConnectionTestResult:
    """The outcome of testing a source's connection: either `server` or an error code, message and field."""

    ok: bool
    server: str | None = None
    elapsed_ms: float | None = None
    error_code: str | None = None
    error_message: str | None = None
    error_field: str | None = None


def source_kinds() -> list[str]:
    """The kinds of source this installation can register (the connectors' `kind`, plugins included)."""
    return sorted(available_kinds())


def validate_source_name(name: str) -> str:
    if not name or len(name) > MAX_SOURCE_NAME:
        raise InvalidInput("name", f"a source name has 1 to {MAX_SOURCE_NAME} characters")
    if not SOURCE_NAME.match(name):
        raise InvalidInput(
            "name", "a source name starts with a letter or digit and holds only letters, digits, '_', '-' and '.'"
        )
    return name


def _connector_class(kind: str) -> type[Connector]:
    try:
        return get_connector_class(kind)
    except ConnectorError as error:
        raise InvalidInput("kind", error.message) from None


def _check_free_text(description: str | None, config: dict | None, secrets: dict, refs: dict) -> None:
    free_text("description", description, max_length=MAX_SOURCE_DESCRIPTION, noun="a description")
    for group, values in (("config", config or {}), ("secrets", secrets), ("secret_refs", refs)):
        reject_nul(group, values)


def _check_secret_fields(cls: type[Connector], config: dict, secrets: dict, refs: dict) -> None:
    problems: list[FieldProblem] = []
    for key in config:
        if key in cls.secret_fields:
            problems.append(FieldProblem(f"config.{key}", "credentials go in `secrets` (raw) or `secret_refs`"))
    for group, values in (("secrets", secrets), ("secret_refs", refs)):
        for key in values:
            if key not in cls.secret_fields:
                allowed = ", ".join(sorted(cls.secret_fields)) or "none"
                problems.append(FieldProblem(f"{group}.{key}", f"not a secret field of {cls.kind} (allowed: {allowed})"))
    for key in set(secrets) & set(refs):
        problems.append(FieldProblem(f"secret_refs.{key}", "give a secret either raw or as a reference, not both"))
    for key, ref in refs.items():
        if f"secret_refs.{key}" not in {p.field for p in problems}:
            try:
                validate_reference(ref, f"secret_refs.{key}")
            except InvalidInput as error:
                problems.extend(error.problems)
    if problems:
        raise InvalidInput(problems[0].field, problems[0].reason, problems=problems)


def _validated_config(cls: type[Connector], values: dict[str, Any]) -> BaseModel:
    try:
        return cls.config_model.model_validate(values)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            path = ".".join(str(p) for p in item["loc"])
            top = str(item["loc"][0]) if item["loc"] else ""
            group = "secrets" if top in cls.secret_fields else "config"
            reason = clean_reason(item["msg"])
            if item["type"] == "extra_forbidden":
                reason = "unknown field"
            problems.append(FieldProblem(f"{group}.{path}" if path else group, reason))
        raise InvalidInput(problems[0].field, problems[0].reason, problems=problems) from None


def _stored_config(config: BaseModel, secret_fields: frozenset[str]) -> dict[str, Any]:
    return config.model_dump(mode="json", exclude=set(secret_fields), exclude_defaults=False)


def _resolve_refs(ctx: ServiceContext, session: Session, refs: dict[str, str]) -> dict[str, str]:
    """Reads every reference now, bypassing caches: a registration proves each secret exists and is readable."""
    resolved = {}
    for key, ref in refs.items():
        try:
            resolved[key] = ctx.secrets.resolve(session, ref, fresh=True)
        except Exception as error:
            if getattr(error, "transient", False):
                raise  # the vault was busy or unreachable: nothing to fix in the request, try again later
            raise InvalidInput(f"secret_refs.{key}", getattr(error, "message", str(error))) from None
    return resolved


def open_connector(ctx: ServiceContext, cls: type[Connector], config: BaseModel) -> Connector:
    """The one way a connector is built: every local path it would open is checked against the file roots first
    (`services.file_roots`), before anything touches the disk."""
    connector = cls(config)
    for field, path in connector.local_paths().items():
        check_path(ctx.settings, field, path)
    return connector


def build_connector(ctx: ServiceContext, session: Session, source: DataSource, *, fresh: bool = False) -> Connector:
    """The source's connector with its secrets resolved; the resolved values live only in this object. `fresh`
    reads them from their stores instead of any cache."""
    cls = _connector_class(source.kind)
    values = dict(source.config)
    for key, ref in source.secret_refs.items():
        values[key] = ctx.secrets.resolve(session, ref, fresh=fresh)
    return open_connector(ctx, cls, cls.config_model.model_validate(values))


def _test(connector: Connector) -> None:
    try:
        connector.test_connection()
    except ConnectorError as error:
        raise SourceCheckFailed(error) from None


def _assert_unique_namespace(session: Session, connector: Connector, exclude_id: int | None) -> tuple[str, str]:
    lineage = connector.lineage_namespace()
    clash = session.scalars(
        select(DataSource).where(
            DataSource.lineage_namespace == lineage.namespace,
            DataSource.lineage_name_prefix == lineage.name_prefix,
            DataSource.id != (exclude_id or -1),
        )
    ).first()
    if clash is not None:
        raise Conflict(
            f"source {clash.name!r} already catalogs {lineage.namespace} {lineage.name_prefix}".rstrip()
            + "; widen its scope instead of registering the same database twice",
            field="config",
        )
    return lineage.namespace, lineage.name_prefix


def register_source(ctx: ServiceContext, registration: SourceRegistration) -> SourceView:
    """Validates, tests (unless opted out) and stores a source. On any error nothing is stored."""
    # Imported here: croniter and dateutil are for registration alone, not for the jobs this module queues (`crawl`).
    from catalog_api.services.jobs.cron import next_run, validate_schedule

    validate_source_name(registration.name)
    _check_free_text(registration.description, registration.config, registration.secrets, registration.secret_refs)
    cron, zone = validate_schedule(registration.schedule_cron, registration.schedule_timezone)
    cls = _connector_class(registration.kind)
    _check_secret_fields(cls, registration.config, registration.secrets, registration.secret_refs)
    with ctx.db.session() as session:
        if session.scalar(select(DataSource.id).where(DataSource.name == registration.name)) is not None:
            raise Conflict(f"a source named {registration.name!r} exists already", field="name")
        resolved = _resolve_refs(ctx, session, registration.secret_refs)
        config = _validated_config(cls, {**registration.config, **registration.secrets, **resolved})
        connector = open_connector(ctx, cls, config)
        namespace, prefix = _assert_unique_namespace(session, connector, None)
        if registration.test_connection:
            _test(connector)
        refs = dict(registration.secret_refs)
        for key, value in registration.secrets.items():
            refs[key] = ctx.secrets.put(session, value)
        source = DataSource(
            name=registration.name,
            urn=source_urn(registration.name),
            kind=registration.kind,
            description=registration.description,
            config=_stored_config(config, cls.secret_fields),
            secret_refs=refs,
            lineage_namespace=namespace,
            lineage_name_prefix=prefix,
            schedule_cron=cron,
            schedule_timezone=zone,
            next_run_at=next_run(cron, zone, utcnow()) if cron else None,
        )
        session.add(source)
        session.flush()
        refresh_sources(session, [source.id])
        record_event(session, SourceRegistered(name=source.name, kind=source.kind, description=source.description),
                     source.urn)
        return source_view(source)


def check_source_tables(session: Session, source: DataSource, table_urns: list[str] | None) -> None:
    """Refuses a job's table list unless every URN names a live table or view of `source` (field `tables.N`)."""
    for index, urn in enumerate(table_urns or []):
        table = entity_by_urn(session, urn, field=f"tables.{index}", expected=EntityType.DATASET)
        if table.source_id != source.id:
            raise InvalidInput(f"tables.{index}", f"{urn} does not belong to source {source.name!r}")
        if table.deleted_at is not None:
            raise InvalidInput(f"tables.{index}", f"{urn} no longer exists in its source")


def enqueue_source_job(ctx: ServiceContext, kind: str, source_ref: int | str, table_urns: list[str] | None = None, *,
                       trigger: str = "manual") -> JobView:
    """Queues a job of `kind` for a source (by id or name), of all its tables or of `table_urns`, each of which must
    be a live table of the source; or returns the kind's queued or running job for the source."""
    with ctx.db.session() as session:
        source = source_row(session, source_ref)
        check_source_tables(session, source, table_urns)
        source_id = source.id
    return enqueue_job(ctx, kind, source_id, trigger=trigger, params={"tables": list(table_urns)} if table_urns else None)


def _config_after(stored: dict[str, Any], update: SourceUpdate) -> dict[str, Any]:
    """The config an update asks for: `config` as given, or the stored one with `config_patch` merged in."""
    if update.config is not None:
        return update.config
    merged = dict(stored)
    for key, value in (update.config_patch or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def update_source(ctx: ServiceContext, ref: int | str, update: SourceUpdate) -> SourceView:
    """Changes the description, the config (replaced as a whole, or patched key by key) and secrets; a changed
    connection is tested first unless `test_connection` is off. Nothing is stored on any error.

    The row is locked (PostgreSQL) from the read to the commit: a patch merges into the config as it is now, and two
    concurrent updates apply one after the other instead of the later one overwriting the earlier. A refused config
    value is named `config.<key>` whether it came in `config` or `config_patch`, as connection tests name it."""
    if update.config is not None and update.config_patch is not None:
        raise InvalidInput("config_patch", "give either `config` (replaces the config) or `config_patch` (changes "
                                           "the keys it names), not both")
    _check_free_text(update.description, update.config, update.secrets, update.secret_refs)
    reject_nul("config_patch", update.config_patch or {})
    with ctx.db.session() as session:
        source = source_row(session, ref, for_update=True)
        cls = _connector_class(source.kind)
        config_in = _config_after(source.config, update)
        _check_secret_fields(cls, config_in, update.secrets, update.secret_refs)
        kept = {k: v for k, v in source.secret_refs.items() if k not in update.secrets and k not in update.secret_refs}
        resolved = _resolve_refs(ctx, session, {**kept, **update.secret_refs})
        config = _validated_config(cls, {**config_in, **update.secrets, **resolved})
        connector = open_connector(ctx, cls, config)
        namespace, prefix = _assert_unique_namespace(session, connector, source.id)
        config_given = update.config is not None or bool(update.config_patch)
        if update.test_connection and (config_given or update.secrets or update.secret_refs):
            _test(connector)
        refs = dict(kept)
        refs.update(update.secret_refs)
        for key, value in update.secrets.items():
            refs[key] = ctx.secrets.put(session, value)
        for key, old in source.secret_refs.items():
            if refs.get(key) != old:
                ctx.secrets.delete(session, old)
        stored = _stored_config(config, cls.secret_fields)
        changed = [name for name, differs in (
            ("description", update.description is not None and update.description != source.description),
            ("config", stored != source.config),
            ("secrets", refs != source.secret_refs),
        ) if differs]
        if update.description is not None:
            source.description = update.description
        source.config = stored
        source.secret_refs = refs
        source.lineage_namespace, source.lineage_name_prefix = namespace, prefix
        session.flush()
        if changed:
            refresh_sources(session, [source.id])
            record_event(session, SourceUpdated(name=source.name, kind=source.kind, changed_fields=changed),
                         source.urn)
        session.flush()
        return source_view(source)


def delete_source(ctx: ServiceContext, ref: int | str) -> None:
    """Removes the source with everything catalogued under it, its tags and its locally stored secrets."""
    with ctx.db.session() as session:
        source = source_row(session, ref)
        for reference in source.secret_refs.values():
            ctx.secrets.delete(session, reference)
        # Source names hold no '%' but may hold '_', a LIKE wildcard; escape it.
        name_part = source.name.replace("_", "\\_")
        child_urns = [f"urn:catalog:{kind}:{name_part}:%" for kind in ("schema", "dataset", "column")]
        session.execute(
            delete(Tag).where(
                or_(Tag.entity_urn == source.urn, *(Tag.entity_urn.like(p, escape="\\") for p in child_urns))
            )
        )
        record_event(session, SourceDeleted(name=source.name, kind=source.kind), source.urn)
        detach_source_jobs(session, source.id, source.name)
        session.delete(source)


def test_source(ctx: ServiceContext, ref: int | str) -> ConnectionTestResult:
    """Tests a registered source's connection; a failure is a result, not an error."""
    with ctx.db.session() as session:
        source = source_row(session, ref)
        try:
            connector = build_connector(ctx, session, source, fresh=True)
        except Exception as error:  # unresolvable secret or a config the connector no longer accepts
            return ConnectionTestResult(False, error_code=getattr(error, "code", "invalid_source_config"),
                                        error_message=getattr(error, "message", str(error)))
    try:
        check = connector.test_connection()
    except ConnectorError as error:
        return ConnectionTestResult(False, error_code=error.code, error_message=error.message, error_field=error.field)
    return ConnectionTestResult(True, server=check.server, elapsed_ms=check.elapsed_ms)
