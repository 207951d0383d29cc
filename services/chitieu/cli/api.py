"""`chitieu api serve`: the HTTP API (FastAPI + uvicorn)."""

from __future__ import annotations

import typer

from chitieu.settings import get_settings

api_app = typer.Typer(help="API HTTP / the HTTP API.", no_args_is_help=True)


@api_app.command("serve")
def serve(
    host: str | None = typer.Option(None, help="Địa chỉ / bind address (default API_HOST)"),
    port: int | None = typer.Option(None, help="Cổng / port (default API_PORT)"),
    workers: int = typer.Option(1, help="uvicorn worker processes"),
) -> None:
    """Serve the API (GET /health /targets /status /observations /alerts, POST /uploads)."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "chitieu.api.main:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        workers=workers,
        log_level="info",
    )


def register(app: typer.Typer) -> None:
    """Add `chitieu api ...` to the root app."""
    app.add_typer(api_app, name="api")
