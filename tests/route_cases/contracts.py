from accounts.permissions import CONTRACT_INTAKE, CONTRACT_LEASE_CREATORS
from tests.route_cases import RouteCase


def not_a_contract(w, s):
    """Refused after the role and building checks (400 UNSUPPORTED_FILE): nothing is stored or read."""
    return {"files": {"file": ("notes.txt", b"not a contract", "text/plain")},
            "data": {"building_id": str(s.building.id)}}


def doc(s):
    return s.extra["contract_document"].id


def draft(s):
    return s.extra["contract_draft"].id


CASES = {
    "contracts.contracts_upload": RouteCase("POST", lambda w, s: "/api/v1/contracts/documents", roles=CONTRACT_INTAKE,
                                            form=not_a_contract, notes="own building: 400 UNSUPPORTED_FILE"),
    "contracts.contracts_documents": RouteCase("GET", lambda w, s: "/api/v1/contracts/documents",
                                               roles=CONTRACT_INTAKE, scoped=False),
    "contracts.contracts_document": RouteCase("GET", lambda w, s: f"/api/v1/contracts/documents/{doc(s)}",
                                              roles=CONTRACT_INTAKE),
    "contracts.contracts_page_image": RouteCase(
        "GET", lambda w, s: f"/api/v1/contracts/documents/{doc(s)}/pages/1/image", roles=CONTRACT_INTAKE,
        notes="world documents have no files: own building answers 410 PAGE_IMAGE_MISSING"),
    "contracts.contracts_draft": RouteCase("GET", lambda w, s: f"/api/v1/contracts/drafts/{draft(s)}",
                                           roles=CONTRACT_INTAKE),
    "contracts.contracts_review": RouteCase("POST", lambda w, s: f"/api/v1/contracts/drafts/{draft(s)}/review",
                                            roles=CONTRACT_INTAKE, body=lambda w, s: {"confirm": []}),
    "contracts.contracts_create_lease": RouteCase(
        "POST", lambda w, s: f"/api/v1/contracts/drafts/{draft(s)}/lease", roles=CONTRACT_LEASE_CREATORS,
        notes="the world's draft is empty: own building answers 422 DRAFT_NOT_READY"),
    "console_contracts.contract_draft": RouteCase("GET", lambda w, s: f"/console/contracts/drafts/{draft(s)}",
                                                  roles=CONTRACT_INTAKE),
    "console_contracts.contract_page_image": RouteCase(
        "GET", lambda w, s: f"/console/contracts/documents/{doc(s)}/pages/1/image", roles=CONTRACT_INTAKE,
        notes="world documents have no files: own building answers 410 PAGE_IMAGE_MISSING"),
    "console_contracts.contract_confirm": RouteCase(
        "POST", lambda w, s: f"/console/contracts/drafts/{draft(s)}/confirm", roles=CONTRACT_INTAKE,
        form=lambda w, s: {"data": {"field": ""}}, notes="nothing to confirm: redirected back (303)"),
}
