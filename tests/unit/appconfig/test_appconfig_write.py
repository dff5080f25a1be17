"""Planning and writing the apps' config files: enabled apps only, secrets 0600, never under
a running app (qBittorrent not even when missing), a user's own file left alone."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml

from mediastack.appconfig.write import AppConfigResult, apply_app_configs, plan_app_configs
from mediastack.config import ConfigError, LoadedConfig, load_config
from mediastack.render.environment import read_secrets

SECRETS = (
    "GLUETUN_API_KEY=k\nSONARR_API_KEY=sonarrkey\nRADARR_API_KEY=radarrkey\n"
    "PROWLARR_API_KEY=p\nQBITTORRENT_PASSWORD=secret-password\nBAZARR_API_KEY=bazarrkey\n"
)
FILES = {
    "qbittorrent/qBittorrent/qBittorrent.conf": ("qbittorrent", 0o600),
    "qbittorrent/qBittorrent/categories.json": ("qbittorrent", 0o644),
    "cross-seed/config.js": ("cross-seed", 0o600),
    "recyclarr/recyclarr.yml": ("recyclarr", 0o644),
    "bazarr/config/config.yaml": ("bazarr", 0o600),
}


def make_config(tmp_path: Path, text: str = "", secrets: str = SECRETS) -> LoadedConfig:
    (tmp_path / "mediastack.yaml").write_text(text)
    (tmp_path / ".env").write_text(secrets)
    return load_config(tmp_path / "mediastack.yaml")


def apply(
    loaded: LoadedConfig, running: frozenset[str] = frozenset(), dry_run: bool = False
) -> dict[str, AppConfigResult]:
    """Plan from the files on disk and apply; return the results by path below config/."""
    planned = plan_app_configs(loaded, read_secrets(loaded.env_file))
    results = apply_app_configs(planned, set(running), dry_run)
    return {str(result.path.relative_to(loaded.config_folder)): result for result in results}


def test_every_enabled_app_gets_its_file_with_the_right_mode(tmp_path: Path) -> None:
    loaded = make_config(tmp_path)
    results = apply(loaded)
    assert {name: result.action for name, result in results.items()} == {
        name: "created" for name in FILES
    }
    for name, (service, mode) in FILES.items():
        path = loaded.config_folder / name
        assert results[name].service == service
        assert stat.S_IMODE(path.stat().st_mode) == mode, name


def test_rendering_again_rewrites_nothing(tmp_path: Path) -> None:
    loaded = make_config(tmp_path)
    apply(loaded)
    before = {name: (loaded.config_folder / name).stat().st_mtime_ns for name in FILES}
    assert {result.action for result in apply(loaded).values()} == {"unchanged"}
    after = {name: (loaded.config_folder / name).stat().st_mtime_ns for name in FILES}
    assert before == after


def test_the_files_carry_the_config_and_the_secrets(tmp_path: Path) -> None:
    loaded = make_config(tmp_path, "portsync: {qbittorrent_username: seeder}\n")
    apply(loaded)
    config = loaded.config_folder
    conf = (config / "qbittorrent/qBittorrent/qBittorrent.conf").read_text()
    assert "WebUI\\Username=seeder\n" in conf
    assert "WebUI\\HostHeaderValidation" not in conf
    categories = yaml.safe_load((config / "qbittorrent/qBittorrent/categories.json").read_text())
    assert categories == {
        "radarr": {"save_path": "/data/torrents/movies"},
        "tv-sonarr": {"save_path": "/data/torrents/tv"},
    }
    cross_seed = (config / "cross-seed/config.js").read_text()
    assert '"qbittorrent:http://seeder:secret-password@localhost:8080"' in cross_seed
    assert '"http://localhost:7878/?apikey=radarrkey"' in cross_seed
    assert "!env_var SONARR_API_KEY" in (config / "recyclarr/recyclarr.yml").read_text()
    bazarr = yaml.safe_load((config / "bazarr/config/config.yaml").read_text())
    assert bazarr["auth"]["apikey"] == "bazarrkey"
    assert bazarr["sonarr"]["apikey"] == "sonarrkey"


def test_a_switched_off_app_gets_no_file_and_others_forget_it(tmp_path: Path) -> None:
    loaded = make_config(
        tmp_path,
        "services: {bazarr: {enabled: false}, sonarr: {enabled: false}}\n",
        SECRETS.replace("BAZARR_API_KEY=bazarrkey\n", "").replace("SONARR_API_KEY", "UNUSED"),
    )
    results = apply(loaded)
    assert "bazarr/config/config.yaml" not in results
    recyclarr = yaml.safe_load(
        (loaded.config_folder / "recyclarr/recyclarr.yml").read_text().replace("!env_var", "")
    )
    assert set(recyclarr) == {"radarr"}
    categories = (loaded.config_folder / "qbittorrent/qBittorrent/categories.json").read_text()
    assert "tv-sonarr" not in categories


def test_a_web_ui_on_another_host_port_turns_host_header_validation_off(tmp_path: Path) -> None:
    loaded = make_config(tmp_path, "services: {qbittorrent: {ports: {webui: 8081}}}\n")
    apply(loaded)
    conf = (loaded.config_folder / "qbittorrent/qBittorrent/qBittorrent.conf").read_text()
    assert "WebUI\\HostHeaderValidation=false\n" in conf
    assert "WebUI\\Port=8080\n" in conf  # the port inside the namespace stays


def test_nothing_is_written_under_a_running_qbittorrent_not_even_a_missing_file(
    tmp_path: Path,
) -> None:
    loaded = make_config(tmp_path)
    results = apply(loaded, running=frozenset({"qbittorrent"}))
    for name in (
        "qbittorrent/qBittorrent/qBittorrent.conf",
        "qbittorrent/qBittorrent/categories.json",
    ):
        assert results[name].action == "skipped-running"
        assert "mediastack down qbittorrent" in results[name].reason
        assert not (loaded.config_folder / name).exists()
    assert results["cross-seed/config.js"].action == "created"


def test_a_running_app_gets_a_missing_file_but_a_changed_one_waits(tmp_path: Path) -> None:
    loaded = make_config(tmp_path)
    assert (
        apply(loaded, running=frozenset({"bazarr"}))["bazarr/config/config.yaml"].action
        == "created"
    )
    changed = make_config(tmp_path, "", SECRETS.replace("bazarrkey", "rotated"))
    result = apply(changed, running=frozenset({"bazarr"}))["bazarr/config/config.yaml"]
    assert result.action == "skipped-running"
    assert apply(changed)["bazarr/config/config.yaml"].action == "updated"


def test_a_users_own_file_is_left_alone_and_reported(tmp_path: Path) -> None:
    loaded = make_config(tmp_path)
    own = loaded.config_folder / "cross-seed" / "config.js"
    own.parent.mkdir(parents=True)
    own.write_text("module.exports = { torznab: [] };\n")
    result = apply(loaded)["cross-seed/config.js"]
    assert result.action == "skipped-user-file"
    assert "a file of your own" in result.reason
    assert own.read_text() == "module.exports = { torznab: [] };\n"


def test_a_dry_run_reports_and_writes_nothing(tmp_path: Path) -> None:
    loaded = make_config(tmp_path)
    results = apply(loaded, dry_run=True)
    assert {result.action for result in results.values()} == {"created"}
    assert not loaded.config_folder.exists()


def test_as_root_files_and_created_folders_belong_to_puid_pgid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = make_config(tmp_path, "identity: {puid: 1234, pgid: 5678}\n")
    (loaded.config_folder / "bazarr").mkdir(parents=True)  # as init leaves it
    owned: dict[Path, tuple[int, int]] = {}
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(os, "chown", lambda path, uid, gid: owned.update({Path(path): (uid, gid)}))
    apply(loaded)
    config = loaded.config_folder
    assert owned[config / "bazarr/config"] == (1234, 5678)
    assert owned[config / "bazarr/config/config.yaml"] == (1234, 5678)
    assert owned[config / "qbittorrent/qBittorrent"] == (1234, 5678)
    assert config / "bazarr" not in owned  # it existed: not ours to change


def test_missing_secrets_are_all_named_with_the_fix(tmp_path: Path) -> None:
    loaded = make_config(
        tmp_path, "", "SONARR_API_KEY=s\nRADARR_API_KEY=r\nQBITTORRENT_PASSWORD=CHANGE_ME_x\n"
    )
    with pytest.raises(ConfigError) as caught:
        plan_app_configs(loaded, read_secrets(loaded.env_file))
    problems = {problem.path: problem for problem in caught.value.problems}
    assert set(problems) == {"QBITTORRENT_PASSWORD", "BAZARR_API_KEY"}
    assert "qbittorrent, cross-seed" in problems["QBITTORRENT_PASSWORD"].message
    assert "mediastack init" in problems["BAZARR_API_KEY"].fix
    assert not loaded.config_folder.exists()


def test_the_password_variable_follows_the_config(tmp_path: Path) -> None:
    loaded = make_config(
        tmp_path,
        "portsync: {qbittorrent_password_variable: QBT_SECRET}\n",
        SECRETS.replace("QBITTORRENT_PASSWORD=secret-password", "QBT_SECRET=other-password"),
    )
    apply(loaded)
    assert "admin:other-password@" in (loaded.config_folder / "cross-seed/config.js").read_text()


def test_torznab_urls_from_the_wiring_step_are_written_and_then_kept(tmp_path: Path) -> None:
    loaded = make_config(tmp_path)
    secrets = read_secrets(loaded.env_file)
    url = "http://localhost:9696/3/api?apikey=p"
    apply_app_configs(plan_app_configs(loaded, secrets, cross_seed_torznab=[url]), set(), False)
    assert apply(loaded)["cross-seed/config.js"].action == "unchanged"
    assert f'"{url}"' in (loaded.config_folder / "cross-seed/config.js").read_text()


def test_a_user_name_qbittorrent_cannot_store_plainly_is_a_config_problem(tmp_path: Path) -> None:
    loaded = make_config(tmp_path, "portsync: {qbittorrent_username: jürgen}\n")
    with pytest.raises(ConfigError) as caught:
        plan_app_configs(loaded, read_secrets(loaded.env_file))
    assert [problem.path for problem in caught.value.problems] == ["portsync.qbittorrent_username"]
