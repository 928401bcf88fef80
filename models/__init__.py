"""All Tortoise models live in this package, one module per domain, under the single app label "models".

Add a new module to MODEL_MODULES; the migrations in models/migrations are generated from this list.
"""

MODEL_MODULES: list[str] = [
    "models.accounts",
    "models.portfolio",
    "models.leasing",
    "models.workorders",
    "models.alerts",
    "models.iot",
    "models.inspections",
    "models.notifications",
    "models.refunds",
    "models.reminders",
    "models.changes",
    "models.occupancy",
    "models.arrears",
    "models.reconciliation",
    "models.payments",
    "models.contracts",
    "models.audit",
    "models.leasehealth",
]
