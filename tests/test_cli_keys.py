"""``onestop api-key create|list|rotate|revoke``: straight on the database, usable by the API at
once, and audited like the admin routes."""

from __future__ import annotations

from typing import Any

import httpx

from tests.cli_helpers import run_cli


async def test_create_prints_a_secret_the_api_accepts(
    database_url: str, client: httpx.AsyncClient
) -> None:
    result = await run_cli(database_url, ["api-key", "create", "--name", "bi", "--scope", "read"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("osk_")
    r = await client.get("/api/v1/units", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200


async def test_create_keeps_the_source_and_scopes(
    database_url: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    result = await run_cli(
        database_url,
        ["api-key", "create", "--name", "igate-2", "--scope", "ingest", "--source", "igate"],
    )
    assert result.exit_code == 0, result.output
    keys = (await client.get("/api/v1/admin/api-keys", headers=admin)).json()["keys"]
    assert [(k["name"], k["source"], k["scopes"]) for k in keys] == [
        ("igate-2", "igate", ["ingest"])
    ]


async def test_list_shows_keys_without_secrets(
    database_url: str, client: httpx.AsyncClient
) -> None:
    created = await run_cli(
        database_url, ["api-key", "create", "--name", "sở tư pháp", "--scope", "read"]
    )
    secret = created.stdout.strip().splitlines()[-1]
    listed = await run_cli(database_url, ["api-key", "list"])
    assert listed.exit_code == 0, listed.output
    assert "sở tư pháp" in listed.stdout
    assert secret not in listed.output
    assert secret[:10] in listed.stdout  # the visible prefix tells keys apart


async def test_revoke_stops_the_key_at_once(
    database_url: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    created = await run_cli(database_url, ["api-key", "create", "--name", "old", "--scope", "read"])
    secret = created.stdout.strip().splitlines()[-1]
    key_id = (await client.get("/api/v1/admin/api-keys", headers=admin)).json()["keys"][0]["id"]
    revoked = await run_cli(database_url, ["api-key", "revoke", key_id])
    assert revoked.exit_code == 0, revoked.output
    r = await client.get("/api/v1/units", headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 401


async def test_revoking_an_unknown_id_fails_with_a_message(
    database_url: str, client: httpx.AsyncClient
) -> None:
    result = await run_cli(database_url, ["api-key", "revoke", "nope"])
    assert result.exit_code == 1
    assert "no API key with id 'nope'" in result.output


async def test_a_bad_name_is_refused_before_touching_the_database(
    database_url: str, client: httpx.AsyncClient
) -> None:
    result = await run_cli(database_url, ["api-key", "create", "--name", "a\tb", "--scope", "read"])
    assert result.exit_code == 1
    assert "name" in result.output


async def test_an_unreachable_database_is_one_clear_line(unused_tcp_port: int) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{unused_tcp_port}/nowhere"
    listed = await run_cli(url, ["api-key", "list"])
    migrating = await run_cli(url, ["api-key", "list"], no_migrate=False)
    assert (listed.exit_code, migrating.exit_code) == (1, 1)
    assert "ConnectionRefusedError" in listed.output
    assert "cannot migrate ONESTOP_DATABASE_URL" in migrating.output
    assert "Traceback" not in listed.output + migrating.output


async def test_list_shows_full_ids_units_and_expiry_and_rotate_gives_a_new_secret(
    database_url: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"name": "P", "level": "province", "parent_code": None}
    assert (await client.put("/api/v1/units/P", json=body, headers=admin)).is_success
    created = await run_cli(
        database_url,
        [
            *("api-key", "create", "--name", "tinh", "--scope", "read", "--unit", "P"),
            *("--expires-at", "2099-01-01T00:00:00+07:00"),
        ],
    )
    assert created.exit_code == 0, created.output
    old = created.stdout.strip().splitlines()[-1]
    key_id = (await client.get("/api/v1/admin/api-keys", headers=admin)).json()["keys"][0]["id"]
    listed = await run_cli(database_url, ["api-key", "list"])
    assert key_id in listed.stdout  # the whole id, not cut
    assert "2099-01-01" in listed.stdout and " P " in listed.stdout
    rotated = await run_cli(database_url, ["api-key", "rotate", key_id])
    assert rotated.exit_code == 0, rotated.output
    new = rotated.stdout.strip().splitlines()[-1]
    statuses = [
        (await client.get("/api/v1/units", headers={"Authorization": f"Bearer {s}"})).status_code
        for s in (old, new)
    ]
    assert statuses == [401, 200]


async def test_create_refuses_an_unregistered_unit(database_url: str) -> None:
    result = await run_cli(
        database_url, ["api-key", "create", "--name", "x", "--scope", "read", "--unit", "NOPE"]
    )
    assert result.exit_code != 0
    assert "NOPE" in result.output


async def _created_id(database_url: str, name: str) -> str:
    created = await run_cli(database_url, ["api-key", "create", "--name", name, "--scope", "read"])
    assert created.exit_code == 0, created.output
    return created.stderr.split("created key ")[1].split()[0]


async def test_list_shows_full_ids_in_a_narrow_terminal(database_url: str) -> None:
    key_id = await _created_id(database_url, "hệ thống một cửa tỉnh nghệ an")
    listed = await run_cli(database_url, ["api-key", "list"], COLUMNS="60")
    assert key_id in listed.stdout.replace("│", " ").split()


async def test_revoke_takes_a_unique_prefix_and_says_when_already_revoked(
    database_url: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    key_id = await _created_id(database_url, "to-revoke")
    first = await run_cli(database_url, ["api-key", "revoke", key_id[:8]])
    second = await run_cli(database_url, ["api-key", "revoke", key_id])
    keys = (await client.get("/api/v1/admin/api-keys", headers=admin)).json()["keys"]
    assert (first.exit_code, f"revoked {key_id}" in first.stderr) == (0, True)
    assert (second.exit_code, "already revoked" in second.stderr) == (0, True)
    assert keys == []  # the listing shows live keys only


async def test_revoke_refuses_an_ambiguous_or_unknown_prefix(database_url: str) -> None:
    ids = [await _created_id(database_url, f"k{i}") for i in range(2)]
    common = ""
    for a, b in zip(*ids, strict=True):
        if a != b:
            break
        common += a
    ambiguous = await run_cli(database_url, ["api-key", "revoke", common])
    unknown = await run_cli(database_url, ["api-key", "revoke", "zz-no-such-key"])
    assert (ambiguous.exit_code, all(i in ambiguous.stderr for i in ids)) == (1, True)
    assert (unknown.exit_code, "no API key" in unknown.stderr) == (1, True)


AUDIT = "/api/v1/admin/audit"


async def _audited(client: httpx.AsyncClient, admin: dict[str, str], key_id: str) -> Any:
    """The key's ``api_key.*`` audit entries, newest first."""
    response = await client.get(AUDIT, params={"action": "api_key.*", "limit": 1000}, headers=admin)
    assert response.status_code == 200, response.text
    return [e for e in response.json()["items"] if e["target"] == key_id]


async def test_create_rotate_and_revoke_are_audited_with_the_cli_and_its_os_user(
    database_url: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    user = {"LOGNAME": "ops-thanh"}
    created = await run_cli(
        database_url, ["api-key", "create", "--name", "bi-cli", "--scope", "read"], **user
    )
    key_id = created.stderr.split("created key ")[1].split()[0]
    rotated = await run_cli(
        database_url, ["api-key", "rotate", key_id, "--grace-seconds", "60"], **user
    )
    revoked = await run_cli(database_url, ["api-key", "revoke", key_id], **user)
    assert (created.exit_code, rotated.exit_code, revoked.exit_code) == (0, 0, 0)
    items = await _audited(client, admin, key_id)
    assert [e["action"] for e in items] == ["api_key.revoke", "api_key.rotate", "api_key.create"]
    cli = {"kind": "cli", "id": None, "name": "cli:ops-thanh"}
    assert [e["actor"] for e in items] == [cli, cli, cli]
    assert [e["details"] for e in items[:2]] == [{"name": "bi-cli"}, {"grace_seconds": 60}]
    assert (items[2]["details"]["scopes"], items[2]["request_id"]) == (["read"], None)
    listing = (await client.get(AUDIT, headers=admin)).text
    secrets = [created.stdout.strip().splitlines()[-1], rotated.stdout.strip().splitlines()[-1]]
    assert not any(s in listing for s in secrets)


async def test_a_cli_create_records_the_details_the_admin_route_records(
    database_url: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"name": "twin", "scopes": ["ingest", "read"], "source": "igate"}
    over_http = (await client.post("/api/v1/admin/api-keys", json=body, headers=admin)).json()
    args = ["--name", "twin", "--scope", "read", "--scope", "ingest", "--source", "igate"]
    created = await run_cli(database_url, ["api-key", "create", *args])
    key_id = created.stderr.split("created key ")[1].split()[0]
    (http_entry,) = await _audited(client, admin, over_http["id"])
    (cli_entry,) = await _audited(client, admin, key_id)
    assert cli_entry["details"] == http_entry["details"]
    assert (cli_entry["actor"]["kind"], http_entry["actor"]["kind"]) == ("cli", "admin_token")


async def test_revoking_an_already_revoked_key_from_the_cli_records_nothing_more(
    database_url: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    key_id = await _created_id(database_url, "twice")
    for _ in range(2):
        assert (await run_cli(database_url, ["api-key", "revoke", key_id])).exit_code == 0
    items = await _audited(client, admin, key_id)
    assert [e["action"] for e in items] == ["api_key.revoke", "api_key.create"]


async def test_the_cli_and_the_admin_route_agree_on_a_key_revoked_by_the_other(
    database_url: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    by_http = await _created_id(database_url, "revoked-over-http")
    by_cli = await _created_id(database_url, "revoked-from-the-cli")
    assert (
        await client.delete(f"/api/v1/admin/api-keys/{by_http}", headers=admin)
    ).status_code == 204
    again_from_cli = await run_cli(database_url, ["api-key", "revoke", by_http])
    assert (again_from_cli.exit_code, "already revoked" in again_from_cli.stderr) == (0, True)
    assert (await run_cli(database_url, ["api-key", "revoke", by_cli])).exit_code == 0
    again_over_http = await client.delete(f"/api/v1/admin/api-keys/{by_cli}", headers=admin)
    assert again_over_http.status_code == 204
    kinds = {
        key_id: [(e["action"], e["actor"]["kind"]) for e in await _audited(client, admin, key_id)]
        for key_id in (by_http, by_cli)
    }
    assert kinds == {
        by_http: [("api_key.revoke", "admin_token"), ("api_key.create", "cli")],
        by_cli: [("api_key.revoke", "cli"), ("api_key.create", "cli")],
    }
