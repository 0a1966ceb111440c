"""Shared service kit: every service imports this, never another service.

One module per concern: settings, logs, request_context, problems, metrics, app, db,
migrations, tokens, cli, validation, monolith, and events/ (envelope, outbox,
relay, consumer, broker). services/README.md says how to use them. Test helpers are not here:
they are `messaging_testing` (services/testing), a dev dependency that no image installs.
"""
