"""Qa models."""
