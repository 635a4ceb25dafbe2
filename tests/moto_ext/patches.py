"""Placeholder, filled in below."""


def apply():
    return None
