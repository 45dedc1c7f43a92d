"""REST routes for API keys (admin only) and for the caller's own identity."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from catalog_api.rest.contract import checked_by_service
from catalog_api.rest.deps import QUERY_SESSION, context
from catalog_api.rest.models import rest_model
from catalog_api.rest.security import allow
from catalog_api.security.identity import ROLE_NAMES, Permission
from catalog_api.services import api_keys
from catalog_api.services.authentication import IdentityView, identity_view, scope_identity
from catalog_api.services.context import ServiceContext

router = APIRouter(prefix="/api/v1")

Role = Literal[ROLE_NAMES]  # type: ignore[valid-type]
KeyId = Annotated[str, Path(max_length=64, description="The key's id.")]

ApiKeyOut = rest_model("ApiKeyOut", api_keys.ApiKeyView, "An API key: never its secret.")
IdentityOut = rest_model("IdentityOut", IdentityView, "Who the catalog takes the caller for, and what they may do.")
CreatedApiKeyOut = rest_model("CreatedApiKeyOut", api_keys.CreatedApiKey,
                              "A new API key with, this once, the whole key (`secret`): store it now.")


class ApiKeyIn(BaseModel):
    """A new API key: a name people recognise in the audit, its roles and an optional expiry."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=api_keys.MAX_NAME, **checked_by_service(r"\S"), examples=["nightly-etl"])
    roles: list[Role] = Field(min_length=1, max_length=len(ROLE_NAMES), examples=[["operator"]])
    expires_at: datetime | None = Field(default=None, description="ISO 8601 with a zone, in the future; none: never "
                                                                  "expires.")


@router.get("/me", dependencies=[allow(Permission.READ)], response_model=IdentityOut, tags=["security"])
def whoami(request: Request) -> IdentityOut:
    return IdentityOut.of(identity_view(scope_identity(request.scope)))


@router.get("/keys", dependencies=[allow(Permission.ADMIN)], response_model=list[ApiKeyOut], tags=["security"])
def list_keys(include_revoked: bool = False, session: Session = QUERY_SESSION) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(key) for key in api_keys.list_keys(session, include_revoked)]


@router.post("/keys", dependencies=[allow(Permission.ADMIN)], response_model=CreatedApiKeyOut,
             status_code=status.HTTP_201_CREATED, tags=["security"])
def create_key(body: ApiKeyIn, ctx: ServiceContext = Depends(context)) -> CreatedApiKeyOut:
    """Creates a key; the answer holds the whole key, which is not shown again."""
    return CreatedApiKeyOut.of(api_keys.create_key(ctx, body.name, body.roles, body.expires_at))


@router.delete("/keys/{key_id}", dependencies=[allow(Permission.ADMIN)], response_model=ApiKeyOut, tags=["security"])
def revoke_key(key_id: KeyId, ctx: ServiceContext = Depends(context)) -> ApiKeyOut:
    """Revokes a key: requests made with it answer 401 from now on. The key stays listed (`include_revoked`)."""
    return ApiKeyOut.of(api_keys.revoke_key(ctx, key_id))
