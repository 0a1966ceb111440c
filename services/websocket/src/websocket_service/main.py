"""Builds the websocket service's ASGI app."""

from messaging_kit.app import create_app

from websocket_service import SERVICE

app = create_app(SERVICE)
