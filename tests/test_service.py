"""Headless service: unit rendering, install --dry-run, install with fake system commands
(never touches the real system), show, status."""
from __future__ import annotations

import io

import pytest

from cleartune.firmware_bridge import service
from cleartune.firmware_bridge.config import RunConfig, load_toml
from cleartune.firmware_bridge.errors import ServiceError


class Recorder:
    def __init__(self, fail_on=None):
        self.cmds = []
        self.fail_on = fail_on

    def __call__(self, cmd):
        self.cmds.append(list(cmd))
        return 1 if self.fail_on and self.fail_on in cmd else 0


def unit_lines(text):
    return [ln for ln in text.splitlines() if ln and not ln.startswith("#")]


def test_render_unit():
    text = service.render_unit(user="tuner", config_path="/etc/cleartune/cleartune.toml",
                               command=["/opt/cleartune/bin/cleartune"], groups=("audio", "dialout", "gpio"))
    lines = unit_lines(text)
    assert "User=tuner" in lines and "Group=tuner" in lines
    assert "SupplementaryGroups=audio dialout gpio" in lines
    assert "ExecStart=/opt/cleartune/bin/cleartune run --config /etc/cleartune/cleartune.toml" in lines
    for want in ("Restart=on-failure", "StandardOutput=journal", "StandardError=journal", "KillSignal=SIGTERM",
                 "WantedBy=multi-user.target", "[Unit]", "[Service]", "[Install]"):
        assert want in lines
    assert "DISPLAY" not in text and "graphical" not in text  # headless: no display, no login session
    no_groups = service.render_unit(user="tuner", command=["x"], groups=())
    assert "SupplementaryGroups" not in "\n".join(unit_lines(no_groups))


def test_template_file_defaults():
    lines = unit_lines(service.UNIT_TEMPLATE.read_text())
    assert "ExecStart=/usr/local/bin/cleartune run --config /etc/cleartune/cleartune.toml" in lines
    assert "User=cleartune" in lines and "SupplementaryGroups=audio dialout gpio" in lines


def test_paths_with_spaces_are_quoted():
    text = service.render_unit(command=["/opt/my tuner/cleartune"], config_path="/etc/ct/a b.toml")
    assert "ExecStart='/opt/my tuner/cleartune' run --config '/etc/ct/a b.toml'" in text


def test_bad_user_name():
    with pytest.raises(ServiceError, match="bad user name"):
        service.render_unit(user="Bad User", command=["x"])


def test_install_dry_run_via_cli(tmp_path, capsys):
    from cleartune.cli import main

    cfg = tmp_path / "etc" / "cleartune.toml"
    rc = main(["service", "install", "--dry-run", "--user", "bob", "--config", str(cfg), "--unit-dir",
               str(tmp_path / "units")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "dry run" in out and "User=bob" in out and f"run --config {cfg}" in out
    assert "systemctl enable cleartune.service" in out
    assert not cfg.exists() and not (tmp_path / "units").exists()


def test_install_needs_root(tmp_path):
    with pytest.raises(ServiceError, match="needs root.*sudo") as ei:
        service.install(config_path=str(tmp_path / "c.toml"), unit_dir=str(tmp_path), euid=1000,
                        runner=Recorder(), out=io.StringIO(), systemd=lambda: True)
    assert "\n" not in str(ei.value)
    assert list(tmp_path.iterdir()) == []


def test_install_refuses_without_systemd(tmp_path):
    rec = Recorder()
    with pytest.raises(ServiceError, match="systemd is not running"):
        service.install(config_path=str(tmp_path / "c.toml"), unit_dir=str(tmp_path), euid=0, runner=rec,
                        out=io.StringIO(), systemd=lambda: False, user_exists=lambda u: False)
    assert rec.cmds == [] and list(tmp_path.iterdir()) == []


def test_install_as_root_with_fakes(tmp_path):
    rec, out = Recorder(), io.StringIO()
    cfg = tmp_path / "etc" / "cleartune" / "cleartune.toml"
    units = tmp_path / "systemd"
    service.install(user="cleartune", config_path=str(cfg), unit_dir=str(units), euid=0, runner=rec, out=out,
                    command=["/opt/cleartune/bin/cleartune"], systemd=lambda: True,
                    user_exists=lambda u: False, group_exists=lambda g: g != "gpio")
    assert rec.cmds[0][:2] == ["useradd", "--system"] and rec.cmds[0][-1] == "cleartune"
    assert "audio,dialout" in rec.cmds[0]
    assert rec.cmds[1:] == [["systemctl", "daemon-reload"], ["systemctl", "enable", "cleartune.service"],
                            ["systemctl", "restart", "cleartune.service"]]
    assert cfg.read_text() == service.EXAMPLE_CONFIG.read_text()
    RunConfig(**load_toml(cfg))  # the default config is valid
    unit = (units / "cleartune.service").read_text()
    assert f"ExecStart=/opt/cleartune/bin/cleartune run --config {cfg}" in unit
    assert "SupplementaryGroups=audio dialout\n" in unit
    assert not [p for p in units.iterdir() if p.name.startswith(".")]  # no temporary files left

    # again, user exists now and the config was edited: it is kept, user gets the groups
    cfg.write_text('[serial]\nwire = "binary"\n')
    rec2 = Recorder()
    service.install(config_path=str(cfg), unit_dir=str(units), euid=0, runner=rec2, out=io.StringIO(),
                    command=["/x/cleartune"], start=False, systemd=lambda: True, user_exists=lambda u: True,
                    group_exists=lambda g: True)
    assert cfg.read_text() == '[serial]\nwire = "binary"\n'
    assert rec2.cmds == [["usermod", "-a", "-G", "audio,dialout,gpio", "cleartune"],
                         ["systemctl", "daemon-reload"], ["systemctl", "enable", "cleartune.service"]]


def test_install_command_failure_is_one_line(tmp_path):
    with pytest.raises(ServiceError, match="daemon-reload.*exit status 1"):
        service.install(config_path=str(tmp_path / "c.toml"), unit_dir=str(tmp_path / "u"), euid=0,
                        runner=Recorder(fail_on="daemon-reload"), out=io.StringIO(), command=["/x"],
                        systemd=lambda: True, user_exists=lambda u: True, group_exists=lambda g: True)


def test_show(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[analysis]\na4 = 442.0\n[output]\noutputs = ["gpio"]\n')
    out = io.StringIO()
    assert service.show(config_path=str(cfg), unit_dir=str(tmp_path), out=out) == 0
    text = out.getvalue()
    assert "not installed" in text and f"run --config {cfg}" in text
    assert "a4 = 442.0" in text and 'outputs = ["gpio"]' in text and "wire = \"text\"" in text
    (tmp_path / "cleartune.service").write_text("[Unit]\nDescription=installed one\n")
    out = io.StringIO()
    service.show(config_path=str(tmp_path / "missing.toml"), unit_dir=str(tmp_path), out=out)
    assert "(installed)" in out.getvalue() and "installed one" in out.getvalue() and "not found" in out.getvalue()


def test_status_passes_systemctl_exit_status():
    rec = Recorder()
    assert service.status(runner=lambda cmd: rec(cmd) or 3, lines=5) == 3
    assert rec.cmds == [["systemctl", "status", "cleartune.service", "--no-pager", "--lines=5"]]
