"""Who may cite a photo as evidence: a photo belongs to its uploader and, once attached, to its unit; a photo that
is evidence of one deposit refund is not evidence of another. Pure: the services load the facts and raise.

Without these rules a photo id (a client-chosen UUID that travels in reports, sync batches and refund lines) let
a report in another building claim someone else's photo, which then vanished for its uploader.
"""

from __future__ import annotations

from dataclasses import dataclass

PHOTO_NOT_YOURS = "PHOTO_NOT_YOURS"
PHOTO_OUT_OF_SCOPE = "PHOTO_OUT_OF_SCOPE"
PHOTO_OF_ANOTHER_UNIT = "PHOTO_OF_ANOTHER_UNIT"
PHOTO_OF_ANOTHER_REFUND = "PHOTO_OF_ANOTHER_REFUND"

#: HTTP status per refusal: someone else's photo or another building's is a scope refusal (403); the caller's
#: own or a visible photo cited for the wrong unit or refund is a bad request body (422).
REFUSAL_STATUS = {PHOTO_NOT_YOURS: 403, PHOTO_OUT_OF_SCOPE: 403, PHOTO_OF_ANOTHER_UNIT: 422,
                  PHOTO_OF_ANOTHER_REFUND: 422}

REFUSAL_MESSAGE = {
    PHOTO_NOT_YOURS: "the photo was uploaded by someone else and is not attached to this unit",
    PHOTO_OUT_OF_SCOPE: "the photo belongs to a unit of another building",
    PHOTO_OF_ANOTHER_UNIT: "the photo is attached to another unit",
    PHOTO_OF_ANOTHER_REFUND: "the photo is already evidence of another deposit refund",
}


@dataclass(frozen=True)
class PhotoFacts:
    """What a photo already belongs to."""

    uploaded_by_id: int
    unit_id: int | None
    building_id: int | None  # the building of ``unit_id``
    refund_ids: frozenset[int] = frozenset()  # refunds citing it (deduction lines, inspection report)


@dataclass(frozen=True)
class Citation:
    """Who cites the photo, for which unit (and refund)."""

    by_user_id: int
    unit_id: int
    building_id: int
    refund_id: int | None = None  # None: a status report


def _attached_elsewhere(photo: PhotoFacts, citation: Citation) -> str | None:
    if photo.unit_id is None or photo.unit_id == citation.unit_id:
        return None
    return PHOTO_OF_ANOTHER_UNIT if photo.building_id == citation.building_id else PHOTO_OUT_OF_SCOPE


def report_refusal(photo: PhotoFacts, citation: Citation) -> str | None:
    """A status report cites only its author's own photos, unattached or of the report's unit."""
    if photo.uploaded_by_id != citation.by_user_id:
        return _attached_elsewhere(photo, citation) or PHOTO_NOT_YOURS
    return _attached_elsewhere(photo, citation)


def refund_refusal(photo: PhotoFacts, citation: Citation) -> str | None:
    """A refund deduction cites a photo of the refund's unit (anyone's: the inspection report's photos are the
    usual evidence) or the actor's own unattached upload, and not one that is evidence of another refund."""
    elsewhere = _attached_elsewhere(photo, citation)
    if elsewhere:
        return elsewhere
    if photo.unit_id is None and photo.uploaded_by_id != citation.by_user_id:
        return PHOTO_NOT_YOURS
    if photo.refund_ids - {citation.refund_id}:
        return PHOTO_OF_ANOTHER_REFUND
    return None


def first_refusal(refusals: dict[str, str | None]) -> tuple[str, list[str]] | None:
    """(code, photo ids) of the most serious refusal among ``photo id → refusal``: scope (403) before body (422)."""
    found = {pid: code for pid, code in refusals.items() if code}
    if not found:
        return None
    code = min(found.values(), key=lambda c: (REFUSAL_STATUS[c], c))
    return code, sorted(pid for pid, c in found.items() if c == code)
