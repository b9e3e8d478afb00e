"""The `crm` console script: Flask's CLI bound to this app (`crm db upgrade`, `crm user …`)."""

from __future__ import annotations

from flask.cli import FlaskGroup

from crm import create_app

cli = FlaskGroup(create_app=lambda: create_app(), help="科技红娘 CRM 命令行。")


def main() -> None:
    cli(prog_name="crm")


if __name__ == "__main__":
    main()
