"""``skindeep serve``: the REST API and web page (FastAPI; extra ``[serve]``)."""

from __future__ import annotations

from skindeep.serve.app import ServeConfig, create_app

__all__ = ["ServeConfig", "create_app"]
