"""The Chamelio face of the local service, mounted at `/chamelio` in the same Starlette app.

It speaks Chamelio's documented task API (`GET /tasks/{id}`, `GET /tasks/{id}/approval-details`,
`POST /tasks/{id}/approve`, `POST /tasks/{id}/cancel`) with `X-API-Key` keys, `{"detail": ...}`
errors and its own rate limit, keeps its workflows and tasks in their own tables of the
service's SQLite file, and can send signed webhooks. See `workflows` for the task lifecycle
and `admin` for the admin endpoints.
"""

from __future__ import annotations

from .admin import chamelio_admin_routes
from .face import ChamelioFace, open_face
from .routes import chamelio_app

__all__ = ["ChamelioFace", "chamelio_admin_routes", "chamelio_app", "open_face"]
