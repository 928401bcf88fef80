from accounts.permissions import RECONCILIATION_READERS, RECONCILIATION_WRITERS
from reconciliation.demo import Row, bank_csv
from tests.route_cases import RouteCase


def statement_form(w, s):
    text = bank_csv([Row(w.now.replace(tzinfo=None), 12300, f"范围{s.label}", "", "scope", f"SCOPE-{s.label}")])
    return {"files": {"file": ("statement.csv", text.encode("gbk"), "text/csv")}}


def reason(w, s):
    return {"reason": "scope test"}


CASES = {
    "statements.statements_import": RouteCase(
        "POST", lambda w, s: f"/api/v1/statements/import?building_id={s.building.id}", roles=RECONCILIATION_WRITERS,
        form=statement_form),
    "statements.statements_imports": RouteCase("GET", lambda w, s: "/api/v1/statements/imports",
                                               roles=RECONCILIATION_READERS, scoped=False),
    "statements.statements_feed": RouteCase("GET", lambda w, s: f"/api/v1/statements/feed?building_id={s.building.id}",
                                            roles=RECONCILIATION_READERS),
    "statements.statements_lines": RouteCase("GET", lambda w, s: "/api/v1/statements/lines",
                                             roles=RECONCILIATION_READERS, scoped=False),
    "statements.statements_line": RouteCase(
        "GET", lambda w, s: f"/api/v1/statements/lines/{s.extra['line_to_confirm'].id}", roles=RECONCILIATION_READERS),
    "statements.statements_line_confirm": RouteCase(
        "POST", lambda w, s: f"/api/v1/statements/lines/{s.extra['line_to_confirm'].id}/confirm",
        roles=RECONCILIATION_WRITERS, body=lambda w, s: {}),
    "statements.statements_line_reverse": RouteCase(
        "POST", lambda w, s: f"/api/v1/statements/lines/{s.extra['line_to_reverse'].id}/reverse",
        roles=RECONCILIATION_WRITERS, body=reason, notes="the first allowed role reverses it; again changes nothing"),
    "statements.statements_line_reject": RouteCase(
        "POST", lambda w, s: f"/api/v1/statements/lines/{s.extra['line_to_reject'].id}/reject",
        roles=RECONCILIATION_WRITERS, body=reason),
    "statements.statements_matches": RouteCase("GET", lambda w, s: "/api/v1/statements/matches",
                                               roles=RECONCILIATION_READERS, scoped=False),
    "discrepancies.discrepancies_list": RouteCase("GET", lambda w, s: "/api/v1/discrepancies",
                                                  roles=RECONCILIATION_READERS, scoped=False),
    "discrepancies.discrepancies_confirm": RouteCase(
        "POST", lambda w, s: f"/api/v1/discrepancies/{s.extra['discrepancy_to_confirm'].id}/confirm",
        roles=RECONCILIATION_WRITERS, body=reason),
    "discrepancies.discrepancies_dismiss": RouteCase(
        "POST", lambda w, s: f"/api/v1/discrepancies/{s.extra['discrepancy_to_dismiss'].id}/dismiss",
        roles=RECONCILIATION_WRITERS, body=reason),
    "discrepancies.discrepancies_reassign": RouteCase(
        "POST", lambda w, s: f"/api/v1/discrepancies/{s.extra['discrepancy_to_reassign'].id}/reassign",
        roles=RECONCILIATION_WRITERS, body=lambda w, s: {"reason": "scope test", "lease_id": s.lease.id}),
}
