"""Builds the users service's ASGI app."""

from messaging_kit.app import create_app

from users_service import SERVICE

app = create_app(SERVICE)
