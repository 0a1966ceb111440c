"""Builds the groups service's ASGI app."""

from messaging_kit.app import create_app

from groups_service import SERVICE

app = create_app(SERVICE)
