from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service
from app.auth.deps import RequireAdmin
from app.auth.models import ApiKey
from app.auth.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyList, ApiKeyOut
from app.auth.signing import signing_secret
from app.db import SessionDep
from app.errors import AUTH_RESPONSES, NotFound, responses

router = APIRouter(prefix="/api/v1/admin/api-keys", tags=["admin"], dependencies=[RequireAdmin])


def _out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key, from_attributes=True)


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Create an API key",
    description="Creates a key with the given scopes for a pushing system (`source`). The "
    "secret is returned once, in this response; only its HMAC is stored.",
    responses=AUTH_RESPONSES,
)
async def create_key(
    request: Request, data: ApiKeyIn, session: AsyncSession = SessionDep
) -> ApiKeyCreated:
    key, secret = await service.create(
        session=session, data=data, server_secret=request.app.state.hashing_secret
    )
    signing = signing_secret(request.app.state.hashing_secret, key.id) if key.signing else None
    return ApiKeyCreated(**_out(key).model_dump(), key=secret, signing_secret=signing)


@router.get(
    "",
    response_model=ApiKeyList,
    summary="List API keys (without secrets)",
    responses=AUTH_RESPONSES,
)
async def list_keys(
    include_revoked: bool = Query(False, description="Also list revoked keys."),
    session: AsyncSession = SessionDep,
) -> ApiKeyList:
    return ApiKeyList(
        keys=[
            _out(k)
            for k in await service.list_all(session=session, include_revoked=include_revoked)
        ]
    )


@router.delete(
    "/{key_id}",
    status_code=204,
    summary="Revoke an API key",
    description="Revocation takes effect at once, on every worker.",
    responses={**AUTH_RESPONSES, **responses(NotFound)},
)
async def revoke_key(key_id: str, session: AsyncSession = SessionDep) -> Response:
    if await service.revoke(session=session, key_id=key_id) is None:
        raise NotFound(f"no API key with id '{key_id}'")
    return Response(status_code=204)
