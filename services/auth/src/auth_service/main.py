"""Builds the auth service's ASGI app."""

from messaging_kit.app import create_app

from auth_service import SERVICE

app = create_app(SERVICE)
