"""The HTTP API: Flask with flask-smorest; `create_app` builds it."""

from api.app import create_app

__all__ = ["create_app"]
