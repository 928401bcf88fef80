"""Tenant parties: found again by their keys when a new lease is created, so a renewing tenant is the same party
(its leases, payments and history in one place). Keys, strongest first: a company's USCC, a person's ID-number
hash, else the same normalised phone and name."""

from __future__ import annotations

from typing import Any

from core.errors import Conflict, ValidationFailed
from leasing.choices import PartyKind
from leasing.parties import (
    id_last4,
    id_number_hash,
    id_number_problem,
    normalize_name,
    normalize_phone,
    normalize_uscc,
    uscc_problem,
)
from leasing.schemas import PartyIn
from models.leasing import Tenant


def party_errors(party: PartyIn, *, prefix: str = "tenant_") -> list[dict[str, str]]:
    """Field errors of a party's identifiers (422 details), empty when they are valid."""
    errors = []
    if party.kind == PartyKind.COMPANY:
        if not party.uscc:
            errors.append({"field": f"{prefix}uscc", "message": "a company needs its 统一社会信用代码",
                           "type": "missing"})
        elif problem := uscc_problem(party.uscc):
            errors.append({"field": f"{prefix}uscc", "message": f"not a valid credit code: {problem}",
                           "type": "INVALID_USCC"})
        if party.id_number:
            errors.append({"field": f"{prefix}id_number", "message": "a company has no ID number",
                           "type": "value_error"})
    else:
        if party.uscc:
            errors.append({"field": f"{prefix}uscc", "message": "a person has no credit code", "type": "value_error"})
        if party.id_number and (problem := id_number_problem(party.id_number)):
            errors.append({"field": f"{prefix}id_number", "message": f"not a valid ID number: {problem}",
                           "type": "INVALID_ID_NUMBER"})
    return errors


def check_party(party: PartyIn) -> None:
    errors = party_errors(party)
    if errors:
        code = errors[0]["type"] if errors[0]["type"].startswith("INVALID_") else "VALIDATION_ERROR"
        raise ValidationFailed("the tenant's identifiers are not valid", code=code, details={"fields": errors})


async def find_party(party: PartyIn, *, salt: str) -> Tenant | None:
    """The existing party these keys name, or None. A key naming a party of the other kind is a conflict."""
    found = None
    if party.kind == PartyKind.COMPANY and party.uscc:
        found = await Tenant.get_or_none(uscc=normalize_uscc(party.uscc))
    elif party.id_number:
        found = await Tenant.get_or_none(id_number_hash=id_number_hash(party.id_number, salt))
    else:
        phone = normalize_phone(party.phone)
        if phone:
            candidates = await Tenant.filter(phone=phone, name=normalize_name(party.name), kind=party.kind,
                                             uscc__isnull=True, id_number_hash__isnull=True).order_by("id")
            found = candidates[0] if len(candidates) == 1 else None
    if found is not None and found.kind != party.kind:
        raise Conflict("these identifiers belong to a party of another kind", code="PARTY_KIND_MISMATCH",
                       details={"tenant_id": found.id, "kind": found.kind})
    return found


async def find_or_create_party(party: PartyIn, *, salt: str) -> tuple[Tenant, bool]:
    """(party, created). An existing party keeps its identity; a newly given phone or ID is added to it."""
    check_party(party)
    existing = await find_party(party, salt=salt)
    phone = normalize_phone(party.phone)
    if existing is not None:
        changes = {}
        if phone and not existing.phone:
            changes["phone"] = phone
        if party.id_number and not existing.id_number_hash:
            changes.update(id_number_hash=id_number_hash(party.id_number, salt), id_last4=id_last4(party.id_number))
        if changes:
            await Tenant.filter(id=existing.id).update(**changes)
            existing = await Tenant.get(id=existing.id)
        return existing, False
    values: dict[str, Any] = {"kind": party.kind, "name": normalize_name(party.name), "phone": phone}
    if party.kind == PartyKind.COMPANY:
        values["uscc"] = normalize_uscc(party.uscc or "")
    elif party.id_number:
        values.update(id_number_hash=id_number_hash(party.id_number, salt), id_last4=id_last4(party.id_number))
    return await Tenant.create(**values), True


def serialize_party(tenant: Tenant) -> dict:
    """The phone masked and only the ID number's last 4 (PIPL): leases are listed to every desk role."""
    from core.pii import mask_phone

    return {"id": tenant.id, "kind": tenant.kind, "name": tenant.name, "phone": mask_phone(tenant.phone),
            "uscc": tenant.uscc, "id_last4": tenant.id_last4 or None,
            "payer_aliases": list(tenant.payer_aliases or [])}
