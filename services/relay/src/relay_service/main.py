"""Builds the relay service's ASGI app."""

from messaging_kit.app import create_app

from relay_service import SERVICE

app = create_app(SERVICE)
