"""Shared service kit: every service imports this, never another service."""
