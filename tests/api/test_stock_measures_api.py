"""PUT of a stock record's measures through the API (issue 15): any subset with a reason,
the answer's supply and measures, and the 400s, on both engines; under the default formula
(onHand) a measure outside it moves nothing available."""

from __future__ import annotations

from tests.support.api_client import HandlerClient

LEVEL = "/inventory/MEAS/locations/WH1"


def test_any_subset_of_measures_is_written_and_answered(api: HandlerClient) -> None:
    first = api.put(LEVEL, {"onHand": 8, "inbound": 5, "reason": "count", "reference": "C-7"})
    assert first.status == 200, first.text
    assert first.json["measures"] == {"onHand": 8, "inbound": 5}
    assert (first.json["supply"], first.json["available"], first.json["version"]) == (8, 8, 1)
    body = {"id": "m1", "items": [{"sku": "MEAS", "location": "WH1", "quantity": 3}]}
    assert api.post("/reservations", body).status == 201
    second = api.put(LEVEL, {"safetyStock": 2}, headers={"Idempotency-Key": "m-2"})
    assert second.status == 200, second.text
    assert second.json["measures"] == {"onHand": 8, "inbound": 5, "safetyStock": 2}
    assert (second.json["reserved"], second.json["available"], second.json["supply"]) == (
        3,
        5,
        8,
    )
    again = api.put(LEVEL, {"safetyStock": 2}, headers={"Idempotency-Key": "m-2"})
    assert again.json == second.json
    read = api.get(LEVEL)
    assert read.json["measures"] == second.json["measures"]
    assert read.json["version"] == 2
    # A keyed write of a measure the record has: conditioned on the value it read.
    third = api.put(LEVEL, {"inbound": 7}, headers={"Idempotency-Key": "m-3"})
    assert third.status == 200, third.text
    assert (third.json["measures"]["inbound"], third.json["available"]) == (7, 5)


def test_a_body_without_a_measure_or_with_an_unknown_one_is_a_400(api: HandlerClient) -> None:
    for body, field in [
        ({"reason": "nothing"}, "body"),
        ({"quarantined": 3}, "body.quarantined"),
        ({"inbound": -1}, "body.inbound"),
        ({"onHand": 1, "reason": ""}, "body.reason"),
    ]:
        refused = api.put(LEVEL, body)
        assert refused.status == 400, (body, refused.text)
        assert refused.json["error"] == "VALIDATION_ERROR"
        fields = [detail["field"] for detail in refused.json.get("details", [])]
        assert field in fields or refused.json["message"].startswith(field), refused.json
