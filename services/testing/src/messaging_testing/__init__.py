"""Test helpers for the platform's suites; never a dependency of a service (see README.md here).

- `infra`: fresh PostgreSQL databases, Redis and RabbitMQ checks that fail saying "run
  `make infra-up`", live uvicorn servers on loopback, `wait_for`, broker clean-up, legacy users
- `private_stores`: private PostgreSQL/Redis/RabbitMQ servers for tests that crash them
- `tokens`: access tokens signed as auth signs them, with their JWKS served over HTTP
- `auth`: auth's stand-in (tokens, JWKS, `user.registered`) for suites that must not run auth
- `erasure`: publish auth's `user.deleted`, collect `user.erased`, scan stores for leftovers
"""
