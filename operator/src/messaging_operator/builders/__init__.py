"""Pure functions from a Platform to the plain dicts of its child objects (no API calls)."""
