"""Blueprints, one per resource. Each domain appends its blueprint here; create_app groups them under /api/v1."""

from api.routes.admin import bp as admin_bp
from api.routes.auth import bp as auth_bp
from api.routes.collections import bp as collections_bp
from api.routes.collections import me_bp as me_collections_bp
from api.routes.contracts import bp as contracts_bp
from api.routes.health import bp as health_bp
from api.routes.health import metrics_bp
from api.routes.inspections import bp as inspections_bp
from api.routes.iot import alerts_bp
from api.routes.iot import bp as iot_bp
from api.routes.lease_health import bp as lease_health_bp
from api.routes.leases import bp as leases_bp
from api.routes.leases import me_bp as me_leases_bp
from api.routes.ledger import bp as receivables_bp
from api.routes.ledger import failures_bp as schedule_failures_bp
from api.routes.occupancy import bp as occupancy_bp
from api.routes.payments import me_bp as me_payments_bp
from api.routes.payments import me_transfer_bp as me_wechatpay_transfers_bp
from api.routes.payments import notify_bp as wechatpay_notify_bp
from api.routes.payments import payout_bp as wechatpay_payouts_bp
from api.routes.reconciliation import bp as statements_bp
from api.routes.reconciliation import discrepancies_bp
from api.routes.refunds import bp as refunds_bp
from api.routes.refunds import me_bp as me_refunds_bp
from api.routes.refunds import public_bp as refund_progress_bp
from api.routes.units import bp as units_bp
from api.routes.workorders import bp as workorders_bp

BLUEPRINTS = [health_bp, metrics_bp, auth_bp, units_bp, leases_bp, me_leases_bp, workorders_bp, admin_bp,
              inspections_bp, refunds_bp, me_refunds_bp, refund_progress_bp]
BLUEPRINTS += [alerts_bp, iot_bp]
BLUEPRINTS += [receivables_bp, schedule_failures_bp]
BLUEPRINTS += [collections_bp, me_collections_bp]  # collections (arrears/)
BLUEPRINTS += [occupancy_bp]  # occupancy truth (docs/occupancy.md)
BLUEPRINTS += [statements_bp, discrepancies_bp]  # bank reconciliation
BLUEPRINTS += [me_payments_bp, wechatpay_notify_bp, wechatpay_payouts_bp,  # WeChat Pay (payments/)
               me_wechatpay_transfers_bp]
BLUEPRINTS += [contracts_bp]  # paper contracts in (docs/contracts.md)
BLUEPRINTS += [lease_health_bp]  # lease health (leasehealth/)
