"""Console blueprints, one per page group. A domain adds its page by appending its blueprint here
(docs/console.md: "Adding a page")."""

from console.views.admin import bp as admin_bp
from console.views.alerts import bp as alerts_bp
from console.views.auth import bp as auth_bp
from console.views.board import bp as board_bp
from console.views.contracts import bp as contracts_bp
from console.views.devices import bp as devices_bp
from console.views.leases import bp as leases_bp
from console.views.refunds import bp as refunds_bp
from console.views.units import bp as units_bp
from console.views.workorders import bp as workorders_bp

BLUEPRINTS = [auth_bp, board_bp, units_bp, alerts_bp, workorders_bp, refunds_bp, leases_bp, devices_bp, admin_bp]
BLUEPRINTS += [contracts_bp]  # contract review (docs/contracts.md)
