"""Input rules every service uses for text that reaches PostgreSQL."""

from __future__ import annotations

# PostgreSQL text cannot hold NUL. As a pattern (not a validator) the rule shows in the OpenAPI
# schema, so clients and fuzzers know it, and NUL is refused as a 422 instead of failing a query.
NO_NUL = r"^[^\x00]*$"
