"""Builds the messages service's ASGI app."""

from messaging_kit.app import create_app

from messages_service import SERVICE

app = create_app(SERVICE)
