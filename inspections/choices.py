"""Field-inspection constants: report categories, report states, sync results, flags."""

from enum import StrEnum

from portfolio.choices import UnitStatus


class ReportCategory(StrEnum):
    ROUTINE = "ROUTINE"  # 例行巡检
    STATUS_UPDATE = "STATUS_UPDATE"  # 状态更新
    DAMAGE = "DAMAGE"  # 损坏/报修
    CLEANING_CHECK = "CLEANING_CHECK"  # 保洁验收
    #: Move-out / deposit-refund inspection (现场查验). The refunds domain uses a report of this category,
    #: with its photos, as the INSPECTED deliverable. Always needs photo evidence.
    REFUND_INSPECTION = "REFUND_INSPECTION"


class ReportState(StrEnum):
    ACCEPTED = "ACCEPTED"  # no_change inspection recorded (or a change a reviewer released without confirmation)
    PENDING_CONFIRMATION = "PENDING_CONFIRMATION"  # waits for a MANAGER/ADMIN on site
    AWAITING_MEDIA = "AWAITING_MEDIA"  # waits for referenced photos to be uploaded
    HELD_FOR_REVIEW = "HELD_FOR_REVIEW"  # suspicious (e.g. mock location); a manager decides on site
    CONFLICT = "CONFLICT"  # stale base_status_version; never applied silently
    CONFIRMED = "CONFIRMED"  # the change was confirmed and applied to the unit
    REJECTED = "REJECTED"  # the confirmer rejected it (with a reason)
    EXPIRED = "EXPIRED"  # nobody confirmed within the window; the author was notified


OPEN_REPORT_STATES = frozenset({ReportState.PENDING_CONFIRMATION, ReportState.AWAITING_MEDIA,
                                ReportState.HELD_FOR_REVIEW})
#: States a confirmer can decide on.
DECIDABLE_STATES = frozenset({ReportState.PENDING_CONFIRMATION, ReportState.HELD_FOR_REVIEW})


class SyncResult(StrEnum):
    ACCEPTED = "ACCEPTED"
    PENDING_CONFIRMATION = "PENDING_CONFIRMATION"
    AWAITING_MEDIA = "AWAITING_MEDIA"
    HELD_FOR_REVIEW = "HELD_FOR_REVIEW"
    CONFIRMED = "CONFIRMED"  # a confirmation item that applied a change
    DUPLICATE = "DUPLICATE"
    CONFLICT = "CONFLICT"
    REJECTED = "REJECTED"


class CoordSystem(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"


class Decision(StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"


class Flag(StrEnum):
    SUSPECTED_MOCK_LOCATION = "SUSPECTED_MOCK_LOCATION"
    PHOTO_TIME_MISMATCH = "PHOTO_TIME_MISMATCH"
    PHOTO_PLACE_MISMATCH = "PHOTO_PLACE_MISMATCH"
    PHOTO_EXIF_UNREADABLE = "PHOTO_EXIF_UNREADABLE"  # a photo's EXIF time or GPS is there but unreadable


#: Statuses an inspection may ask for (lease-driven and commercial states are not a field finding).
REQUESTABLE_STATUSES = frozenset({UnitStatus.VACANT, UnitStatus.OCCUPIED, UnitStatus.MOVE_OUT_PENDING,
                                  UnitStatus.UNDER_REPAIR, UnitStatus.RENOVATION, UnitStatus.OFF_MARKET,
                                  UnitStatus.INTERNAL_USE})
#: Requested statuses that need photo evidence.
EVIDENCE_STATUSES = frozenset({UnitStatus.UNDER_REPAIR, UnitStatus.MOVE_OUT_PENDING})
EVIDENCE_CATEGORIES = frozenset({ReportCategory.REFUND_INSPECTION})


def needs_evidence(category: str, requested_status: str | None) -> bool:
    return category in EVIDENCE_CATEGORIES or (requested_status is not None and requested_status in EVIDENCE_STATUSES)
