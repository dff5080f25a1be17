"""``mediastack init``'s .env: the apps' log-in wire gives Sonarr, Radarr and Prowlarr."""

from __future__ import annotations

from pathlib import Path

from mediastack.render.environment import read_secrets
from mediastack.scaffold import add_generated_variables, write_secrets_file


def test_init_writes_the_apps_login_user_admin_and_a_random_password(tmp_path: Path) -> None:
    first, second = tmp_path / "one.env", tmp_path / "two.env"
    write_secrets_file(first)
    write_secrets_file(second)
    one, two = read_secrets(first), read_secrets(second)
    assert one["APPS_USERNAME"] == "admin"
    assert len(one["APPS_PASSWORD"]) >= 16
    assert one["APPS_PASSWORD"] != two["APPS_PASSWORD"]


def test_re_init_keeps_the_apps_login_the_user_has(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("APPS_USERNAME=me\nAPPS_PASSWORD=my-own-password\n", encoding="utf-8")
    write_secrets_file(path)
    kept = read_secrets(path)
    assert (kept["APPS_USERNAME"], kept["APPS_PASSWORD"]) == ("me", "my-own-password")
    assert path.read_text(encoding="utf-8").count("APPS_PASSWORD=") == 1


def test_re_init_keeps_a_generated_apps_password(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    write_secrets_file(path)
    before = read_secrets(path)["APPS_PASSWORD"]
    write_secrets_file(path)
    assert read_secrets(path)["APPS_PASSWORD"] == before


def test_init_generates_the_read_only_status_token(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    write_secrets_file(path)
    assert len(read_secrets(path)["MEDIASTACK_STATUS_TOKEN"]) >= 16


def test_an_older_env_gets_the_status_token_and_keeps_every_value(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("APPS_PASSWORD=mine-mine-mine\nMY_OWN=1\n", encoding="utf-8")
    path.chmod(0o600)
    added = add_generated_variables(path)
    values = read_secrets(path)
    assert "MEDIASTACK_STATUS_TOKEN" in added and "APPS_PASSWORD" not in added
    assert values["APPS_PASSWORD"] == "mine-mine-mine" and values["MY_OWN"] == "1"
    assert len(values["MEDIASTACK_STATUS_TOKEN"]) >= 16
    assert path.stat().st_mode & 0o777 == 0o600
    assert add_generated_variables(path) == []  # once


def test_adding_the_status_token_leaves_every_existing_line_exactly_as_it_was(
    tmp_path: Path,
) -> None:
    path = tmp_path / ".env"
    before = "# my notes\nQBITTORRENT_PASSWORD='my pass #1'\nAPPS_PASSWORD=x\n"
    path.write_text(before, encoding="utf-8")
    add_generated_variables(path)
    after = path.read_text(encoding="utf-8")
    assert after.startswith(before)
    assert read_secrets(path)["QBITTORRENT_PASSWORD"] == "my pass #1"
