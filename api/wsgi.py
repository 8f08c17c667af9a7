"""The WSGI entry point for gunicorn (`casework api` uses it): one engine per worker process."""

from api.app import create_app

app = create_app()
