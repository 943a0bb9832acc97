"""Bridgenote: a bilingual lifestyle social platform."""

__version__ = "0.1.0"
