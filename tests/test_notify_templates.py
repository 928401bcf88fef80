"""Every notification's deep link opens a page the mini program really has."""

import json
from pathlib import Path

import pytest

from notifications.choices import NotificationKind
from notifications.templates import DEFAULT_TEMPLATES, render_page

APP_JSON = Path(__file__).resolve().parents[1] / "miniprogram" / "app.json"


def mini_program_pages() -> set[str]:
    app = json.loads(APP_JSON.read_text(encoding="utf-8"))
    pages = set(app["pages"])
    for package in app.get("subPackages", app.get("subpackages", [])):
        pages |= {f"{package['root'].rstrip('/')}/{page}" for page in package["pages"]}
    return pages


def test_every_kind_has_a_default_template():
    assert set(DEFAULT_TEMPLATES) == set(NotificationKind)


@pytest.mark.parametrize("kind", sorted(DEFAULT_TEMPLATES))
def test_template_page_exists_in_the_mini_program(kind):
    page = DEFAULT_TEMPLATES[kind]["page"]
    assert page.split("?", 1)[0] in mini_program_pages(), f"{kind}: {page}"


def test_expired_report_opens_the_report_page():
    page = DEFAULT_TEMPLATES[NotificationKind.INSPECTION_EXPIRED]["page"]
    assert render_page(page, {"report_id": 7}) == "pages/report/report?id=7"
