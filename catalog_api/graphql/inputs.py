"""GraphQL input types and their conversion into the services' own input models.

The pydantic models in `catalog_api.services.sources` stay the single definition of what a registration or an
update may hold; GraphQL inputs are only transported into them, and their validation errors keep the services'
field names (`secret_refs.password`, `config.port`), the same as REST reports them.
"""

from __future__ import annotations

from typing import Any, TypeVar

import strawberry
from pydantic import BaseModel, ValidationError
from strawberry.scalars import JSON

from catalog_api.errors import invalid_input_from_validation
from catalog_api.services.sources import SourceRegistration, SourceUpdate

M = TypeVar("M", bound=BaseModel)


@strawberry.input
class RegisterSourceInput:
    """A new source. Raw credentials go in `secrets` (stored encrypted), references in `secretRefs`."""

    name: str
    kind: str
    description: str | None = None
    config: JSON | None = None
    secrets: JSON | None = None
    secret_refs: JSON | None = None
    test_connection: bool = True
    schedule_cron: str | None = None
    schedule_timezone: str | None = None


@strawberry.input
class UpdateSourceInput:
    """A partial update of a source; `config`, when given, replaces the stored config as a whole; `configPatch` sets
    (or, with null, drops) only the keys it names."""

    description: str | None = None
    config: JSON | None = None
    config_patch: JSON | None = None
    secrets: JSON | None = None
    secret_refs: JSON | None = None
    test_connection: bool = True


def _service_model(model: type[M], values: dict[str, Any]) -> M:
    # An omitted (null) field takes the service model's own default instead of being validated as null.
    try:
        return model.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as error:
        raise invalid_input_from_validation(list(error.errors()), skip_prefixes=()) from None


def registration(data: RegisterSourceInput) -> SourceRegistration:
    return _service_model(SourceRegistration, {
        "name": data.name, "kind": data.kind, "description": data.description, "config": data.config,
        "secrets": data.secrets, "secret_refs": data.secret_refs, "test_connection": data.test_connection,
        "schedule_cron": data.schedule_cron, "schedule_timezone": data.schedule_timezone,
    })


def source_update(data: UpdateSourceInput) -> SourceUpdate:
    return _service_model(SourceUpdate, {
        "description": data.description, "config": data.config, "config_patch": data.config_patch,
        "secrets": data.secrets, "secret_refs": data.secret_refs, "test_connection": data.test_connection,
    })
