"""Shared service kit: every service imports this, never another service.

One module per concern: settings, logs, problems, metrics, request_context, app, db,
migrations, tokens, cli, events/ (envelope, outbox, relay, consumer, broker).
"""
