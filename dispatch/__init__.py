"""Field-service dispatch. `dispatch:create_app` is the application factory (dispatch/app.py)."""

from .app import create_app

__all__ = ["create_app"]
