"""The headless systemd service: render the unit, install it with its user and default
config, show it, query it.

``install`` (root) does, in order, printing each step:

1. create the system user (``useradd --system``, no home, no login shell) or add it to
   the groups ``audio dialout gpio`` (those that exist on this system);
2. write the default config (``cleartune.example.toml``) to the config path unless a
   file is already there (an existing one is kept and checked);
3. write ``/etc/systemd/system/cleartune.service`` (atomically);
4. ``systemctl daemon-reload``, ``systemctl enable cleartune.service`` and, unless
   ``start=False``, ``systemctl restart cleartune.service``.

``dry_run=True`` prints the same plan and the unit text and changes nothing (no root
needed).  Commands run through an injectable ``runner`` so tests never touch the system.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence, TextIO

from cleartune.edge.fileio import atomic_write_text

from .config import DEFAULT_CONFIG_PATH, RunConfig, load_toml, validate
from .errors import ConfigError, ServiceError

UNIT_NAME = "cleartune.service"
DEFAULT_USER = "cleartune"
DEFAULT_UNIT_DIR = "/etc/systemd/system"
GROUPS = ("audio", "dialout", "gpio")
HERE = Path(__file__).resolve().parent
UNIT_TEMPLATE = HERE / "systemd" / UNIT_NAME
EXAMPLE_CONFIG = HERE / "cleartune.example.toml"

Runner = Callable[[Sequence[str]], int]

_NAME_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


def cleartune_command() -> list[str]:
    """How the service starts cleartune: the ``cleartune`` script next to this Python
    (a venv's bin/), else the one on PATH, else ``python -m cleartune``."""
    cand = Path(sys.executable).parent / "cleartune"
    if cand.is_file() and os.access(cand, os.X_OK):
        return [str(cand)]
    found = shutil.which("cleartune")
    if found:
        return [str(Path(found).resolve())]
    return [sys.executable, "-m", "cleartune"]


def render_unit(*, user: str = DEFAULT_USER, config_path: str = DEFAULT_CONFIG_PATH,
                command: Optional[Sequence[str]] = None, groups: Sequence[str] = GROUPS,
                template: Optional[str] = None) -> str:
    """The unit file text for this user, config path, executable and supplementary groups."""
    check_user_name(user)
    text = template if template is not None else UNIT_TEMPLATE.read_text()
    cmd = list(command) if command is not None else cleartune_command()
    exec_line = "ExecStart=" + " ".join(shlex.quote(c) for c in [*cmd, "run", "--config", str(config_path)])
    repl = {"User": f"User={user}", "Group": f"Group={user}", "ExecStart": exec_line,
            "SupplementaryGroups": "SupplementaryGroups=" + " ".join(groups)}
    out = []
    for line in text.splitlines():
        key = line.split("=", 1)[0] if "=" in line and not line.lstrip().startswith("#") else None
        if key in repl:
            if key == "SupplementaryGroups" and not groups:
                continue
            line = repl[key]
        out.append(line)
    return "\n".join(out) + "\n"


def check_user_name(user: str) -> str:
    if not _NAME_RE.match(user or ""):
        raise ServiceError(f"bad user name {user!r}: use lower-case letters, digits, '-' or '_'")
    return user


def write_atomic(path: Path, text: str, *, mode: int = 0o644) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder, then rename."""
    atomic_write_text(path, text, mode=mode)


def _group_exists(name: str) -> bool:
    try:
        import grp

        grp.getgrnam(name)
        return True
    except (KeyError, ImportError):
        return False


def _user_exists(name: str) -> bool:
    try:
        import pwd

        pwd.getpwnam(name)
        return True
    except (KeyError, ImportError):
        return False


def systemd_running() -> bool:
    """sd_booted(): systemd is PID 1 when /run/systemd/system exists."""
    return Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None


def _default_runner(cmd: Sequence[str]) -> int:
    try:
        return subprocess.run(list(cmd), check=False).returncode
    except FileNotFoundError:
        raise ServiceError(f"{cmd[0]} not found: is this a systemd Linux system?") from None


@dataclass
class Plan:
    """What install will do: steps (text) and the unit text."""

    steps: list[str] = field(default_factory=list)
    unit_text: str = ""
    unit_path: Path = Path(DEFAULT_UNIT_DIR) / UNIT_NAME
    config_path: Path = Path(DEFAULT_CONFIG_PATH)
    write_config: bool = True
    groups: tuple[str, ...] = ()
    missing_groups: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)


def plan_install(*, user: str = DEFAULT_USER, config_path: str = DEFAULT_CONFIG_PATH,
                 unit_dir: str = DEFAULT_UNIT_DIR, start: bool = True, command: Optional[Sequence[str]] = None,
                 group_exists: Callable[[str], bool] = _group_exists,
                 user_exists: Callable[[str], bool] = _user_exists) -> Plan:
    check_user_name(user)
    cmd = list(command) if command is not None else cleartune_command()
    groups = tuple(g for g in GROUPS if group_exists(g))
    missing = tuple(g for g in GROUPS if g not in groups)
    p = Plan(unit_path=Path(unit_dir) / UNIT_NAME, config_path=Path(config_path), groups=groups,
             missing_groups=missing)
    p.unit_text = render_unit(user=user, config_path=str(config_path), command=cmd, groups=groups)
    if missing:
        p.warnings.append(f"group(s) {', '.join(missing)} do not exist here; the service runs without them")
    if cmd and (cmd[0].startswith("/home/") or cmd[0].startswith("/root/")):
        p.warnings.append(f"{cmd[0]} is under a home folder the service user may not read; "
                          "install cleartune in e.g. /opt/cleartune")
    if user_exists(user):
        if groups:
            p.steps.append(f"add user {user} to groups {','.join(groups)}: usermod -a -G {','.join(groups)} {user}")
    else:
        p.steps.append(f"create system user {user}" + (f" in groups {','.join(groups)}" if groups else "")
                       + ": " + " ".join(_useradd(user, groups)))
    p.write_config = not p.config_path.exists()
    if p.write_config:
        p.steps.append(f"write default config {p.config_path}")
    else:
        p.steps.append(f"keep existing config {p.config_path}")
    p.steps.append(f"write unit {p.unit_path}")
    p.steps.append("systemctl daemon-reload")
    p.steps.append(f"systemctl enable {UNIT_NAME}")
    if start:
        p.steps.append(f"systemctl restart {UNIT_NAME}")
    return p


def _useradd(user: str, groups: Sequence[str]) -> list[str]:
    cmd = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/var/lib/cleartune",
           "--shell", "/usr/sbin/nologin"]
    if groups:
        cmd += ["--groups", ",".join(groups)]
    return cmd + [user]


def install(*, user: str = DEFAULT_USER, config_path: str = DEFAULT_CONFIG_PATH, unit_dir: str = DEFAULT_UNIT_DIR,
            dry_run: bool = False, start: bool = True, out: Optional[TextIO] = None,
            runner: Runner = _default_runner, euid: Optional[int] = None, command: Optional[Sequence[str]] = None,
            group_exists: Callable[[str], bool] = _group_exists,
            user_exists: Callable[[str], bool] = _user_exists,
            systemd: Callable[[], bool] = systemd_running) -> Plan:
    """Install (or with ``dry_run`` only print) the service; see the module doc.

    Nothing is changed unless the checks pass first: root, systemd running, ``useradd``
    available.  Raises :class:`ServiceError` otherwise or when a command fails."""
    o = out if out is not None else sys.stdout
    plan = plan_install(user=user, config_path=config_path, unit_dir=unit_dir, start=start, command=command,
                        group_exists=group_exists, user_exists=user_exists)
    for w in plan.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if dry_run:
        print("dry run: nothing is changed. Would:", file=o)
        for i, s in enumerate(plan.steps, 1):
            print(f"  {i}. {s}", file=o)
        print(f"\n# {plan.unit_path}", file=o)
        o.write(plan.unit_text)
        return plan
    uid = os.geteuid() if euid is None else euid
    if uid != 0:
        raise ServiceError("installing the service needs root: run 'sudo cleartune service install' "
                           "(add --dry-run to see what it would do)")
    if not systemd():
        raise ServiceError("systemd is not running on this system (no /run/systemd/system): "
                           "cannot install the service (--dry-run shows the unit)")
    if runner is _default_runner and not user_exists(user) and shutil.which("useradd") is None:
        raise ServiceError("useradd not found: create the service user yourself, then run install again")

    def run(cmd: Sequence[str]) -> None:
        print("+ " + " ".join(shlex.quote(c) for c in cmd), file=o)
        rc = runner(list(cmd))
        if rc != 0:
            raise ServiceError(f"'{' '.join(cmd)}' failed with exit status {rc}")

    if user_exists(user):
        if plan.groups:
            run(["usermod", "-a", "-G", ",".join(plan.groups), user])
    else:
        run(_useradd(user, plan.groups))
    if plan.write_config:
        write_atomic(plan.config_path, EXAMPLE_CONFIG.read_text(), mode=0o644)
        print(f"wrote {plan.config_path} (edit it, then: sudo systemctl restart cleartune)", file=o)
    else:
        try:
            validate(RunConfig(**load_toml(plan.config_path)), where=str(plan.config_path))
            print(f"kept {plan.config_path}", file=o)
        except (ConfigError, TypeError) as e:
            print(f"warning: kept {plan.config_path} but it is not valid: {e}", file=sys.stderr)
    write_atomic(plan.unit_path, plan.unit_text, mode=0o644)
    print(f"wrote {plan.unit_path}", file=o)
    run(["systemctl", "daemon-reload"])
    run(["systemctl", "enable", UNIT_NAME])
    if start:
        run(["systemctl", "restart", UNIT_NAME])
    print(f"done: journalctl -u {UNIT_NAME.split('.')[0]} -f to follow it", file=o)
    return plan


def show(*, config_path: str = DEFAULT_CONFIG_PATH, unit_dir: str = DEFAULT_UNIT_DIR, user: str = DEFAULT_USER,
         out: Optional[TextIO] = None) -> int:
    """Print the installed unit (or the one install would write) and the effective config."""
    from .config import config_to_toml

    o = out if out is not None else sys.stdout
    unit_path = Path(unit_dir) / UNIT_NAME
    if unit_path.is_file():
        print(f"# {unit_path} (installed)", file=o)
        o.write(unit_path.read_text())
    else:
        print(f"# {unit_path} (not installed; 'cleartune service install' would write:)", file=o)
        o.write(render_unit(user=user, config_path=config_path,
                            groups=tuple(g for g in GROUPS if _group_exists(g))))
    cp = Path(config_path)
    if cp.is_file():
        cfg = validate(RunConfig(**load_toml(cp)), where=str(cp))
        print(f"\n# {cp}: effective configuration (defaults filled in)", file=o)
    else:
        cfg = RunConfig()
        print(f"\n# {cp}: not found; the defaults are", file=o)
    o.write(config_to_toml(cfg))
    return 0


def status(*, runner: Runner = _default_runner, lines: int = 10) -> int:
    """``systemctl status cleartune.service`` (its exit status: 0 running, 3 stopped, 4 unknown)."""
    if runner is _default_runner and not systemd_running():
        raise ServiceError("systemd is not running on this system: no service to query")
    return runner(["systemctl", "status", UNIT_NAME, "--no-pager", f"--lines={int(lines)}"])
