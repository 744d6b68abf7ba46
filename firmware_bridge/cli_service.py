"""``cleartune service install|show|status``: the headless systemd service.

    sudo cleartune service install [--user USER] [--config PATH] [--no-start] [--dry-run]
    cleartune service show [--config PATH]
    cleartune service status
"""
from __future__ import annotations

import argparse

from .config import DEFAULT_CONFIG_PATH


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .service import DEFAULT_UNIT_DIR, DEFAULT_USER

    sub = parser.add_subparsers(dest="service_command", metavar="ACTION", required=True)
    p = sub.add_parser("install", help="write the unit and default config, create the user, enable and start (root)",
                       description="Install the headless service: a system user in groups audio, dialout, gpio; "
                                   "the default config (kept if present); the systemd unit; enable and start.")
    p.add_argument("--user", default=DEFAULT_USER, help=f"service user (default {DEFAULT_USER})")
    p.add_argument("--config", default=DEFAULT_CONFIG_PATH, metavar="PATH",
                   help=f"config file the service reads (default {DEFAULT_CONFIG_PATH})")
    p.add_argument("--unit-dir", default=DEFAULT_UNIT_DIR, metavar="DIR", help=argparse.SUPPRESS)
    p.add_argument("--no-start", action="store_true", help="enable but do not (re)start it now")
    p.add_argument("--dry-run", action="store_true", help="print what would be done and the unit; change nothing")
    p = sub.add_parser("show", help="print the unit and the effective configuration")
    p.add_argument("--config", default=DEFAULT_CONFIG_PATH, metavar="PATH", help="config file to show")
    p.add_argument("--unit-dir", default=DEFAULT_UNIT_DIR, metavar="DIR", help=argparse.SUPPRESS)
    p = sub.add_parser("status", help="systemctl status of the service")
    p.add_argument("--lines", type=int, default=10, metavar="N", help="journal lines to show (default 10)")


def run(args: argparse.Namespace) -> int:
    from . import service

    if args.service_command == "install":
        service.install(user=args.user, config_path=args.config, unit_dir=args.unit_dir, dry_run=args.dry_run,
                        start=not args.no_start)
        return 0
    if args.service_command == "show":
        return service.show(config_path=args.config, unit_dir=args.unit_dir)
    return service.status(lines=args.lines)
