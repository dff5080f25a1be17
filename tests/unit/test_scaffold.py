"""``mediastack init``'s .env: the apps' log-in wire gives Sonarr, Radarr and Prowlarr."""

from __future__ import annotations

from pathlib import Path

from mediastack.render.environment import read_secrets
from mediastack.scaffold import write_secrets_file


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
