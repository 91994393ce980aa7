"""Hardening the app as a whole: numbers too large for the store, security headers."""

from __future__ import annotations

import re

import pytest

HUGE = "9" * 20  # past SQLite's 64-bit integers
BIGGEST = str(2**63 - 1)  # the largest the store holds: a number like any other


def int_routes(app) -> list[tuple[str, str]]:
    """(method, rule) of every route with an ``<int:...>`` part."""
    return [
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if "<int:" in rule.rule
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


def filled(rule: str, number: str) -> str:
    return re.sub(r"<int:\w+>", number, rule)


def test_every_route_with_a_number_is_probed(labelling_app):
    rules = {rule for _, rule in int_routes(labelling_app)}
    assert "/admin/crops/<int:crop_id>/image.png" in rules
    assert "/admin/models/<int:version_id>/eigenfaces/<int:number>.png" in rules
    assert len(rules) >= 13


@pytest.mark.parametrize("number", [HUGE, BIGGEST, "1" + "0" * 400])
def test_numbers_too_large_for_the_store_are_404_in_every_route(
    labelling_app, admin_client, number
):
    for method, rule in int_routes(labelling_app):
        url = filled(rule, number)
        response = admin_client.open(url, method=method, json={"label": "target"})
        assert response.status_code == 404, (method, url, response.status_code)
        if url.startswith("/api/"):
            assert response.get_json()["error"]
        else:
            assert b"Traceback" not in response.data


@pytest.mark.parametrize(
    ("method", "url", "form", "status"),
    [
        ("get", f"/admin/browse?page={HUGE}", None, 400),
        ("get", f"/admin/browse?page={BIGGEST}", None, 400),
        ("get", f"/admin/browse?video={HUGE}", None, 400),
        ("get", f"/admin/browse?video={BIGGEST}", None, 200),
        ("get", f"/admin/label?crop={HUGE}", None, 404),
        ("get", f"/admin/label?crop={BIGGEST}", None, 404),
        ("get", f"/admin/grid?size={HUGE}", None, 400),
        ("get", f"/api/admin/crops/next?exclude=1,{HUGE}", None, 200),
        ("post", "/admin/label", {"decision": "target", "crop_id": HUGE}, 400),
        ("post", "/admin/label", {"decision": "skip", "crop_id": BIGGEST}, 404),
        ("post", "/admin/grid", {f"label-{HUGE}": "target"}, 400),
        ("post", "/admin/grid", {"label-\u00b2": "target"}, 400),
        ("post", "/admin/grid", {f"label-{BIGGEST}": "target"}, 404),
        ("post", "/admin/grid", {"label-1": "target", "size": HUGE}, 302),
    ],
)
def test_numbers_too_large_for_the_store_in_queries_and_forms(
    admin_client, method, url, form, status
):
    response = getattr(admin_client, method)(url, data=form)
    assert response.status_code == status
    if url.startswith("/api/"):
        assert response.is_json
    assert b"Traceback" not in response.data
