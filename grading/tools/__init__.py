"""Maintainer tools for the kata (stub generation)."""
