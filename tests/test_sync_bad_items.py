"""A bad sync item is that item's REJECTED result with a reason; the rest of the batch applies (it used to
fail the whole batch with a 500: OverflowError on year 1/9999, TypeError on ``"kind": [1]``)."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from models.inspections import StatusReport
from tests.support.inspections_helpers import report_body


def bad_items(a, t):
    year_one = report_body(a, t)
    year_one["location"]["captured_at"] = datetime(1, 1, 1, tzinfo=UTC).isoformat()
    year_9999 = report_body(a, t)
    year_9999["location"]["captured_at"] = "9999-12-31T23:59:59+00:00"
    return [
        (year_one, "location.captured_at"),
        (year_9999, "location.captured_at"),
        ({**report_body(a, t), "kind": [1]}, None),
        ({**report_body(a, t), "kind": {"a": 1}}, None),
        (report_body(a, t, unit=a.units[2], requested="OFF_MARKET", base_version=10**30), "base_status_version"),
        ({**report_body(a, t), "client_id": [1, 2]}, "client_id"),
        ({**decision_for(a, t), "report_id": 10**20}, "report_id"),
        ({**report_body(a, t), "note": "x" * 5000}, "note"),
        (7, None),
        (10**30, None),
        ("x" * 20_000, None),
        (None, None),
    ]


def decision_for(a, t):
    from tests.support.inspections_helpers import decision_body

    return {**decision_body(a, t), "kind": "confirmation"}


@pytest.mark.parametrize("position", ["first", "last"])
async def test_bad_items_are_rejected_and_the_rest_applies(client, world, position):
    a = world.a
    t = world.now - timedelta(hours=2)
    good = [report_body(a, t, unit=a.units[3]), report_body(a, t + timedelta(minutes=3))]
    bad = bad_items(a, t)
    items = [b for b, _ in bad] + good if position == "first" else good + [b for b, _ in bad]
    before = await StatusReport.all().count()
    _, response = await client.post("/api/v1/sync", content=json.dumps({"items": items}),
                                    headers=world.auth(a.inspector))
    assert response.status == 200, response.text
    results = response.json["results"]
    assert len(results) == len(items) and [r["index"] for r in results] == list(range(len(items)))
    offset = 0 if position == "first" else len(good)
    for i, (_, field) in enumerate(bad):
        result = results[offset + i]
        assert result["result"] == "REJECTED", result
        assert result["error"]["code"] == "VALIDATION_ERROR" and result["error"]["message"]
        if field:
            assert field in {f["field"] for f in result["error"]["details"]["fields"]}, result
    good_results = results[len(bad):] if position == "first" else results[:len(good)]
    assert [r["result"] for r in good_results] == ["ACCEPTED", "ACCEPTED"]
    assert response.json["summary"] == {"REJECTED": len(bad), "ACCEPTED": 2}
    # nothing half written: exactly the good items' reports exist, none of the bad ones
    assert await StatusReport.all().count() == before + 2
    stored = set(await StatusReport.filter(client_id__in=[uuid.UUID(g["client_id"]) for g in good])
                 .values_list("client_id", flat=True))
    assert len(stored) == 2


async def test_replaying_the_batch_changes_nothing(client, world):
    a = world.a
    t = world.now - timedelta(hours=2)
    items = [report_body(a, t)] + [b for b, _ in bad_items(a, t)]
    for expected in ("ACCEPTED", "DUPLICATE"):
        _, response = await client.post("/api/v1/sync", content=json.dumps({"items": items}),
                                        headers=world.auth(a.inspector))
        assert response.status == 200, response.text
        assert response.json["results"][0]["result"] == expected
        assert {r["result"] for r in response.json["results"][1:]} == {"REJECTED"}
