"""`chitieu serve`, `chitieu api openapi|upload-worker`, `chitieu apikey create|list|revoke`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from chitieu.settings import get_settings

api_app = typer.Typer(help="API HTTP / the HTTP API.", no_args_is_help=True)
key_app = typer.Typer(help="Khóa API / API keys (stored hashed).", no_args_is_help=True)
console = Console()


def serve(
    host: Annotated[
        str | None, typer.Option(help="Địa chỉ / bind address (default CHITIEU_API_HOST)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Cổng / port (default CHITIEU_API_PORT)")] = None,
    workers: Annotated[
        int | None, typer.Option(help="uvicorn worker processes (default CHITIEU_API_WORKERS)")
    ] = None,
) -> None:
    """Serve the HTTP API with uvicorn: /api/v1/... (documentation at /api/v1/docs)."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "chitieu.api.main:create_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        workers=workers or settings.api_workers,
        log_level="info",
        proxy_headers=True,
    )


@api_app.command("upload-worker")
def upload_worker() -> None:
    """Load background uploads (one at a time) until stopped; the API starts one itself unless
    CHITIEU_API_UPLOAD_WORKER=false. Several may run: each job is run by one of them."""
    from chitieu.uploads.worker import main

    main()


@api_app.command("openapi")
def openapi(indent: Annotated[int, typer.Option(help="JSON indentation")] = 2) -> None:
    """Print the OpenAPI document (JSON). Needs no database."""
    from chitieu.api import create_app

    typer.echo(json.dumps(create_app().openapi(), ensure_ascii=False, indent=indent or None))


@key_app.command("create")
def create(
    role: Annotated[str, typer.Option(help="viewer | engineer | admin")],
    name: Annotated[str, typer.Option(help="Who or what uses the key")],
    expires: Annotated[datetime | None, typer.Option(help="Expiry (ISO 8601); default never")] = None,
) -> None:
    """Create a key and print its token once (only its hash is stored)."""
    from chitieu.api.keys import ApiKeyError, create_key
    from chitieu.db.connect import connect

    try:
        with connect(autocommit=True) as conn:
            token, row = create_key(conn, role=role, name=name, created_by="cli", expires_at=expires)
    except ApiKeyError as exc:
        console.print(f"[red]{exc.both()}[/red]")
        raise typer.Exit(2) from exc
    console.print(
        f"khóa / key #{row['id']} ({row['role']}, {row['name']}), prefix {row['prefix']}", style="green"
    )
    console.print("Lưu lại ngay, sẽ không hiện lại / store it now, it is not shown again:", style="yellow")
    typer.echo(token)


@key_app.command("list")
def list_cmd(include_revoked: Annotated[bool, typer.Option(help="Also revoked keys")] = False) -> None:
    """The keys (never their tokens)."""
    from chitieu.api.keys import list_keys
    from chitieu.db.connect import connect

    with connect() as conn:
        rows = list_keys(conn, include_revoked=include_revoked)
    table = Table("id", "prefix", "role", "name", "created", "expires", "revoked", "last used")
    for r in rows:
        table.add_row(*(str(r[k] or "") for k in ("id", "prefix", "role", "name", "created_at", "expires_at",
                                                  "revoked_at", "last_used_at")))  # fmt: skip
    console.print(table)


@key_app.command("revoke")
def revoke(ref: Annotated[str, typer.Argument(help="Key id or prefix")]) -> None:
    """Revoke a key; every API process stops accepting it at once."""
    from chitieu.api.keys import revoke_key
    from chitieu.db.connect import connect

    with connect(autocommit=True) as conn:
        row = revoke_key(conn, ref)
    if row is None:
        console.print(f"[red]không có khóa đang hiệu lực '{ref}' / no active key '{ref}'[/red]")
        raise typer.Exit(1)
    console.print(f"thu hồi / revoked key #{row['id']} ({row['name']})")


def register(app: typer.Typer) -> None:
    """Add `chitieu serve`, `chitieu api ...` and `chitieu apikey ...` to the root app."""
    app.command("serve")(serve)
    api_app.command("serve")(serve)
    app.add_typer(api_app, name="api")
    app.add_typer(key_app, name="apikey")
