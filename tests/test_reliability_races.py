"""Races: many concurrent batches, through two app instances on one database, touching the
same dossiers in random order with overlaps and resends. Every distinct event is stored once
and every dossier row equals the sequential fold of its events."""

from __future__ import annotations

import asyncio
import random

import httpx
from fastapi import FastAPI

from app.db import Database
from reliability.workload import StoreReport, check_store, make_batches, make_events
from tests.test_auth_hardening import other_instance

BATCH = "/api/v1/events/batch"
SINGLE = "/api/v1/events"


async def test_concurrent_batches_from_two_instances_store_each_event_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    db: Database,
    database_url: str,
    ingest_headers: dict[str, str],
) -> None:
    rng = random.Random(20261129)
    events = make_events(rng, dossiers=12, per_dossier=12, tag="race")
    batches = make_batches(rng, events, min_size=3, max_size=12)
    async with other_instance(database_url) as worker2:
        workers = [client, worker2]
        responses = await asyncio.gather(
            *(
                workers[i % 2].post(BATCH, json={"events": batch}, headers=ingest_headers)
                for i, batch in enumerate(batches)
            )
        )
    assert [r.status_code for r in responses] == [200] * len(batches)
    assert sum(r.json()["accepted"] for r in responses) == len(events)
    report = await check_store(db.engine, events, source="igate", zone=db.settings.zone)
    assert report == StoreReport(
        distinct_sent=144, stored=144, lost=0, counted_twice=0, dossiers=12
    )


async def test_concurrent_single_events_from_two_instances_fold_like_a_sequence(
    app: FastAPI,
    client: httpx.AsyncClient,
    db: Database,
    database_url: str,
    ingest_headers: dict[str, str],
) -> None:
    # One event per request (the path without a session): shuffled, a fifth of them resent,
    # so late events reach folded dossiers and resends meet their first copy in flight.
    rng = random.Random(20261130)
    events = make_events(rng, dossiers=8, per_dossier=10, tag="single-race")
    sends = events + rng.sample(events, len(events) // 5)
    rng.shuffle(sends)
    async with other_instance(database_url) as worker2:
        workers = [client, worker2]
        responses = await asyncio.gather(
            *(
                workers[i % 2].post(SINGLE, json=event, headers=ingest_headers)
                for i, event in enumerate(sends)
            )
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * (len(sends) - len(events)) + [201] * len(events)
    report = await check_store(db.engine, events, source="igate", zone=db.settings.zone)
    assert report == StoreReport(distinct_sent=80, stored=80, lost=0, counted_twice=0, dossiers=8)
