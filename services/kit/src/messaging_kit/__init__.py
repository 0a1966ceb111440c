"""Shared service kit: every service imports this, never another service.

One module per concern: settings, logs, request_context, problems, metrics, app, db,
migrations, tokens, cli, validation, monolith, testing, and events/ (envelope, outbox,
relay, consumer, broker). services/README.md says how to use them.
"""
