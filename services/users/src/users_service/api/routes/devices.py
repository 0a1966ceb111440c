"""/api/v1/users/.../devices: device public keys for end-to-end encryption."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Response, status
from fastapi.responses import JSONResponse

from users_service import crud, device_keys
from users_service.api.deps import SessionDep, ViewerId
from users_service.schemas import DeviceKeyIn, DeviceKeyOut

router = APIRouter(prefix="/api/v1/users", tags=["devices"])


@router.put(
    "/me/devices/{device_id}",
    responses={201: {"model": DeviceKeyOut, "description": "a new device"}},
)
def publish(
    device_id: uuid.UUID,
    body: Annotated[DeviceKeyIn, Body()],
    viewer: ViewerId,
    session: SessionDep,
) -> Response:
    key, created = device_keys.publish_device_key(
        session, viewer, device_id, body.algorithm, body.public_key
    )
    out = DeviceKeyOut.model_validate(key, from_attributes=True)
    return JSONResponse(
        out.model_dump(mode="json"),
        status_code=201 if created else 200,
        headers={"Location": f"/api/v1/users/me/devices/{device_id}"},
    )


@router.get("/me/devices")
def my_devices(viewer: ViewerId, session: SessionDep) -> list[DeviceKeyOut]:
    keys = device_keys.device_keys(session, viewer)
    return [DeviceKeyOut.model_validate(k, from_attributes=True) for k in keys]


@router.delete("/me/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
def withdraw(device_id: uuid.UUID, viewer: ViewerId, session: SessionDep) -> Response:
    device_keys.withdraw_device_key(session, viewer, device_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{user_id}/devices")
def devices_of(user_id: uuid.UUID, viewer: ViewerId, session: SessionDep) -> list[DeviceKeyOut]:
    """Someone's device keys, visible to whoever may see their profile."""
    crud.visible_profile(session, viewer, user_id)
    keys = device_keys.device_keys(session, user_id)
    return [DeviceKeyOut.model_validate(k, from_attributes=True) for k in keys]
