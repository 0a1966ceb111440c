"""Builds the media service's ASGI app."""

from messaging_kit.app import create_app

from media_service import SERVICE

app = create_app(SERVICE)
