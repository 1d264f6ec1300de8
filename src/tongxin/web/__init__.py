"""Web face: FastAPI app with server-rendered pages and a JSON API. Thin over the services."""
