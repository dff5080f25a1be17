"""The reconciler against an in-memory Sonarr: makes what is missing, reads it back, makes
no write on a second run, repairs drift without touching secrets, keeps the user's own."""

from __future__ import annotations

from pathlib import Path

from fake_arr import MASK, FakeArr

from mediastack.links.api import AppApi
from mediastack.links.arr_links import RootFolderLink
from mediastack.links.desired import Wanted, download_client_spec
from mediastack.links.link import Context, Link, LinkStatus
from mediastack.links.providers import ProviderLink
from mediastack.links.reconcile import reconcile

PASSWORD = "qbit-secret-1234"


def _links() -> list[Link]:
    wanted = Wanted(
        enabled=frozenset({"sonarr", "qbittorrent"}),
        secrets={"SONARR_API_KEY": "sonarr-key"},
        qbittorrent_url="http://unused",
        qbittorrent_username="admin",
        qbittorrent_password=PASSWORD,
    )
    return [
        RootFolderLink("sonarr", "/data/media/tv"),
        ProviderLink(download_client_spec(wanted, "sonarr"), "qBittorrent download client"),
    ]


def _context(fake: FakeArr, data: Path | None = None) -> Context:
    api = AppApi("sonarr", "http://sonarr.test", fake.api_key, transport=fake.transport())
    return Context(apis={"sonarr": api}, data_folder=data)


def _client(fake: FakeArr) -> dict[str, object]:
    [client] = fake.resources["downloadclient"]
    return {entry["name"]: entry.get("value") for entry in client["fields"]}


def test_a_fresh_app_gets_every_link_and_reads_back_ok(tmp_path: Path) -> None:
    fake = FakeArr()
    report = reconcile(_links(), _context(fake, tmp_path / "data"), dry_run=False)
    assert [link.status for link in report.links] == [LinkStatus.MADE, LinkStatus.MADE]
    assert (tmp_path / "data" / "media" / "tv").is_dir()  # made on disk before the POST
    assert fake.resources["rootfolder"][0]["path"] == "/data/media/tv"
    fields = _client(fake)
    assert fields["tvCategory"] == "tv-sonarr" and fields["password"] == PASSWORD
    # Fields mediastack does not set keep the schema's defaults (the whole resource was sent).
    assert fields["initialState"] == 0 and fields["recentTvPriority"] == 0


def test_a_second_run_sends_no_write_and_reads_each_resource_once() -> None:
    fake = FakeArr()
    reconcile(_links(), _context(fake), dry_run=False)
    fake.writes.clear()
    fake.reads = 0
    report = reconcile(_links(), _context(fake), dry_run=False)
    assert fake.writes == []
    assert [link.status for link in report.links] == [LinkStatus.OK, LinkStatus.OK]
    assert fake.reads == 2  # rootfolder, downloadclient: the masked password is not compared


def test_drift_is_put_back_whole_and_the_users_own_settings_stay() -> None:
    fake = FakeArr()
    reconcile(_links(), _context(fake), dry_run=False)
    [client] = fake.resources["downloadclient"]
    client["priority"] = 7  # the user's choice: not mediastack's to change
    for entry in client["fields"]:
        if entry["name"] == "tvCategory":
            entry["value"] = "tv"
    report = reconcile(_links(), _context(fake), dry_run=False)
    assert report.links[1].status is LinkStatus.REPAIRED
    assert "tvCategory is 'tv', not 'tv-sonarr'" in report.links[1].detail
    assert fake.writes[-1] == ("PUT", "/api/v3/downloadclient/1")
    assert _client(fake)["tvCategory"] == "tv-sonarr"
    assert fake.resources["downloadclient"][0]["priority"] == 7


def test_a_deleted_client_is_made_again() -> None:
    fake = FakeArr()
    reconcile(_links(), _context(fake), dry_run=False)
    fake.resources["downloadclient"].clear()
    report = reconcile(_links(), _context(fake), dry_run=False)
    assert report.links[1].status is LinkStatus.MADE
    assert len(fake.resources["downloadclient"]) == 1


def test_a_dry_run_writes_nothing_and_lists_the_requests_with_secrets_masked() -> None:
    fake = FakeArr()
    report = reconcile(_links(), _context(fake), dry_run=True)
    assert fake.writes == []
    shown = report.as_json()["requests"]
    assert [(item["method"], item["path"]) for item in shown] == [
        ("POST", "/api/v3/rootfolder"),
        ("POST", "/api/v3/downloadclient"),
    ]
    assert PASSWORD not in str(shown)
    fields = {entry["name"]: entry.get("value") for entry in shown[1]["body"]["fields"]}
    assert fields["password"] == MASK and fields["host"] == "localhost"
    assert report.drifted


def test_warnings_alone_are_saved_with_force_save_and_reported() -> None:
    fake = FakeArr(warn_once=True)
    report = reconcile(_links(), _context(fake), dry_run=False)
    assert report.links[1].status is LinkStatus.MADE
    assert "saved despite warnings: Queueing not enabled" in report.links[1].detail
    assert fake.writes[-1] == ("POST", "/api/v3/downloadclient")
    assert [path for _, path in fake.writes].count("/api/v3/downloadclient") == 2


def test_a_users_client_with_the_same_name_is_left_alone_and_said() -> None:
    fake = FakeArr()
    theirs = {"id": 4, "name": "qBittorrent", "implementation": "Transmission", "fields": []}
    fake.resources["downloadclient"] = [dict(theirs)]
    report = reconcile(_links()[1:], _context(fake), dry_run=False)
    assert report.links[0].status is LinkStatus.BROKEN
    assert "Transmission" in report.links[0].detail and "rename it" in report.links[0].detail
    assert fake.writes == [] and fake.resources["downloadclient"] == [theirs]


def test_a_wrong_api_key_is_broken_with_the_fix() -> None:
    api = AppApi("sonarr", "http://s.test", "wrong", transport=FakeArr().transport())
    report = reconcile(_links(), Context(apis={"sonarr": api}), dry_run=False)
    assert report.links[0].status is LinkStatus.BROKEN
    assert "refused the API key" in report.links[0].detail
    assert "SONARR_API_KEY" in report.links[0].detail


def test_a_link_waits_for_what_it_needs() -> None:
    api = AppApi("sonarr", "http://s.test", "wrong", transport=FakeArr().transport())
    root = RootFolderLink("sonarr", "/data/media/tv")
    client = _links()[1]
    assert isinstance(client, ProviderLink)
    dependent = ProviderLink(client.spec, client.title, needs=(root.key,))
    report = reconcile([root, dependent], Context(apis={"sonarr": api}), dry_run=False)
    assert report.links[0].status is LinkStatus.BROKEN
    assert report.links[1].status is LinkStatus.WAITING
    assert "waits for sonarr root folder /data/media/tv" in report.links[1].detail


def test_an_action_that_changes_an_app_behind_its_api_is_read_back_fresh() -> None:
    from mediastack.links.arr_links import QualityProfilesLink

    fake = FakeArr()

    class Recyclarr:
        def run_in(self, service: str, command: list[str], timeout_seconds: float) -> None:
            fake.resources["qualityprofile"] = [{"id": 1, "name": "WEB-1080p"}]

        def restart(self, service: str) -> None:
            raise AssertionError("not restarted")

    context = _context(fake)
    context.runner = Recyclarr()
    link = QualityProfilesLink({"sonarr": ("WEB-1080p",)})
    report = reconcile([link], context, dry_run=False)
    assert report.links[0].status is LinkStatus.MADE
    assert report.links[0].actions == ("recyclarr sync",)


def test_an_answer_of_another_shape_breaks_that_link_only() -> None:
    import httpx

    def html(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>a login page of some proxy</html>")

    api = AppApi("sonarr", "http://s.test", "sonarr-key", transport=httpx.MockTransport(html))
    report = reconcile(_links(), Context(apis={"sonarr": api}), dry_run=False)
    assert [link.status for link in report.links] == [LinkStatus.BROKEN, LinkStatus.BROKEN]
    assert "answered something mediastack does not know" in report.links[0].detail


def _host_config(username: str) -> dict[str, object]:
    # As Sonarr 4's GET /api/v3/config/host answers: its own API key and the proxy and
    # certificate passwords in clear.
    return {"id": 1, "authenticationMethod": "none", "username": username, "password": "",
            "apiKey": "sonarr-own-key", "proxyPassword": "proxy-secret",
            "sslCertPassword": "cert-secret", "port": 8989}


def test_a_login_plan_masks_every_secret_the_app_answered_in_clear() -> None:
    from mediastack.links.arr_links import LoginLink

    fake = FakeArr()
    fake.resources["host"] = [_host_config("")]
    link = LoginLink("sonarr", "/api/v3", "admin", "apps-password")
    report = reconcile([link], _context(fake), dry_run=True)
    assert report.links[0].status is LinkStatus.MISSING
    shown = str(report.as_json())
    for secret in ("apps-password", "sonarr-own-key", "proxy-secret", "cert-secret"):
        assert secret not in shown
    assert report.as_json()["requests"][0]["body"]["username"] == "admin"


def test_a_login_the_user_chose_is_kept() -> None:
    from mediastack.links.arr_links import LoginLink

    fake = FakeArr()
    fake.resources["host"] = [_host_config("alice")]
    report = reconcile([LoginLink("sonarr", "/api/v3", "admin", "p")], _context(fake),
                       dry_run=False)
    assert report.links[0].status is LinkStatus.OK
    assert "'alice' is yours: kept" in report.links[0].detail
    assert fake.writes == []


def test_a_dry_run_plans_what_waits_on_links_it_would_make() -> None:
    root = RootFolderLink("sonarr", "/data/media/tv")
    client = _links()[1]
    assert isinstance(client, ProviderLink)
    dependent = ProviderLink(client.spec, client.title, needs=(root.key,))
    report = reconcile([root, dependent], _context(FakeArr()), dry_run=True)
    assert [link.status for link in report.links] == [LinkStatus.MISSING, LinkStatus.MISSING]
    assert [request.path for request in report.requests] == [
        "/api/v3/rootfolder", "/api/v3/downloadclient",
    ]


def test_a_password_changed_in_env_is_sent_again_though_the_app_masks_it(
    tmp_path: Path,
) -> None:
    from mediastack.links.secret_memory import SecretMemory

    fake = FakeArr()

    def run(password: str) -> LinkStatus:
        wanted = Wanted(frozenset({"sonarr", "qbittorrent"}), {}, "http://unused", "admin",
                        password)
        link = ProviderLink(download_client_spec(wanted, "sonarr"), "qBittorrent download client")
        context = _context(fake)
        context.secrets = SecretMemory(tmp_path / "memory.json")
        return reconcile([link], context, dry_run=False).links[0].status

    assert run("first-password") is LinkStatus.MADE
    assert run("first-password") is LinkStatus.OK
    assert run("rotated-password") is LinkStatus.REPAIRED
    assert _client(fake)["password"] == "rotated-password"
    assert run("rotated-password") is LinkStatus.OK


def test_an_app_answering_404_is_not_waited_for() -> None:
    import httpx

    def missing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404)

    api = AppApi("sonarr", "http://s.test", "k", transport=httpx.MockTransport(missing))
    slept: list[float] = []
    api.wait_until_answering(60.0, clock=lambda: 0.0, sleep=slept.append)
    assert slept == []
