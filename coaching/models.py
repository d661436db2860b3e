"""Coaching models."""
