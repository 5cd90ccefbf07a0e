"""Maintenance tools for the book: notebook refresh, environment setup, test helpers."""
