"""Which WeChat template each notification kind uses, and how payload keys map to template fields.

Defaults live here; ``RW_NOTIFY_TEMPLATES`` (JSON: kind → {template_id, page, fields}) overrides them per kind
and must supply the real template ids (a kind without a template id is marked UNDELIVERABLE, not retried).
Field keys carry WeChat's type (``thing1``, ``phrase2``, ``time3``); values are payload keys (``a|b`` for a
fallback, ``=text`` for a literal). See docs/notifications.md.
"""

from __future__ import annotations

from typing import Any

from config.settings import Settings
from notifications.choices import NotificationKind

K = NotificationKind
#: Pages are mini program routes (miniprogram/app.json ``pages``; a test keeps them in step). Staff handle refund
#: steps outside the mini program, which has no staff refund page: their messages open its home page.
STAFF_HOME = "pages/index/index"
#: a tenant's payment notice or collection message opens their statement on that receivable, ready to pay
TENANT_STATEMENT = "pages/statement/statement?lease_id={lease_id}&receivable_id={receivable_id}"
DEFAULT_TEMPLATES: dict[str, dict[str, Any]] = {
    K.REFUND_STEP: {"template_id": "", "page": "pages/refund/refund?id={refund_id}",
                    "fields": {"character_string1": "unit_code", "phrase2": "step_phrase", "time3": "at",
                               "date4": "expected_completion|at", "thing5": "note|step_label"}},
    K.REFUND_ASSIGNED: {"template_id": "", "page": STAFF_HOME,
                        "fields": {"character_string1": "unit_code", "thing2": "task", "time3": "due_at"}},
    K.REFUND_ESCALATED: {"template_id": "", "page": STAFF_HOME,
                         "fields": {"character_string1": "unit_code", "thing2": "task", "time3": "since",
                                    "thing4": "owner_name"}},
    K.LEASE_REMINDER: {"template_id": "", "page": "pages/workorders/workorders?id={work_order_id}",
                       "fields": {"character_string1": "unit_code", "thing2": "title", "date3": "end_date",
                                  "number4": "days_left", "thing5": "renewal|=续约建议:尚无画像"}},
    K.INSPECTION_EXPIRED: {"template_id": "", "page": "pages/report/report?id={report_id}",
                           "fields": {"character_string1": "unit_code", "thing2": "title|=状态变更确认已过期",
                                      "time3": "deadline|captured_at"}},
    K.WORK_ORDER_OVERDUE: {"template_id": "", "page": "pages/workorders/workorders?id={work_order_id}",
                           "fields": {"character_string1": "unit_code", "thing2": "title|=工单已超时",
                                      "time3": "due_at"}},
    K.SCHEDULE_FAILED: {"template_id": "", "page": STAFF_HOME,
                        "fields": {"character_string1": "contract_no", "thing2": "title", "time3": "at"}},
    K.SCHEDULE_READY: {"template_id": "", "page": STAFF_HOME,
                       "fields": {"character_string1": "contract_no", "thing2": "title", "time3": "at"}},
    # the payment notice carries the receivable's payment code (缴费码, ≤ 9 ASCII characters) for the 附言
    K.RENT_DUE: {"template_id": "", "page": TENANT_STATEMENT,
                 "fields": {"character_string1": "unit_code", "thing2": "title", "amount3": "amount_fen",
                            "date4": "due_date", "character_string5": "payment_code", "thing6": "remark"}},
    # collections (arrears/): the tier's note is the template's short text, fitted to a thing field (≤ 20)
    K.COLLECTION_FRIENDLY: {"template_id": "", "page": TENANT_STATEMENT,
                            "fields": {"character_string1": "contract_no|unit_code", "amount2": "outstanding_fen",
                                       "date3": "due_date", "number4": "days_past_due", "thing5": "note"}},
    K.COLLECTION_LEGAL: {"template_id": "", "page": TENANT_STATEMENT,
                         "fields": {"character_string1": "contract_no|unit_code", "amount2": "outstanding_fen",
                                    "date3": "due_date", "number4": "days_past_due", "thing5": "note"}},
    K.COLLECTION_FINAL: {"template_id": "", "page": TENANT_STATEMENT,
                         "fields": {"character_string1": "contract_no|unit_code", "amount2": "outstanding_fen",
                                    "time3": "deadline", "number4": "days_past_due", "thing5": "note"}},
    K.COLLECTION_TASK: {"template_id": "", "page": STAFF_HOME,
                        "fields": {"character_string1": "unit_code", "thing2": "title", "amount3": "outstanding_fen",
                                   "time4": "due_at"}},
    K.GRACE_DECISION: {"template_id": "", "page": STAFF_HOME,
                       "fields": {"character_string1": "contract_no|unit_code", "phrase2": "decision",
                                  "date3": "ends_on|decided_on", "thing4": "note"}},
    K.OCCUPANCY_INCOMPLETE: {"template_id": "", "page": STAFF_HOME,
                             "fields": {"date1": "day", "thing2": "title", "time3": "at"}},
    K.STATEMENT_REFUSED: {"template_id": "", "page": STAFF_HOME,
                          "fields": {"character_string1": "error_code", "thing2": "title", "time3": "at"}},
}
del K


def template_for(settings: Settings, kind: str) -> dict[str, Any] | None:
    """The merged template config for ``kind``, or None when nothing is configured for it."""
    base = dict(DEFAULT_TEMPLATES.get(kind, {}))
    override = settings.notify_templates.get(kind)
    if override:
        base.update(override)
    return base or None


def render_page(page: str | None, payload: dict[str, Any]) -> str | None:
    if not page:
        return None
    try:
        return page.format(**payload)
    except (KeyError, IndexError, ValueError):
        return page.split("?", 1)[0]
