"""Builds the notifications service's ASGI app."""

from messaging_kit.app import create_app

from notifications_service import SERVICE

app = create_app(SERVICE)
