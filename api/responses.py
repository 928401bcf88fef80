"""Response bodies of the API, as the serializers produce them: documented in /docs/openapi.json (api.openapi) and
checked against real responses (tests/test_openapi.py, the schemathesis pass). Routes that answer the same body
share one model (the aliases at the end); a body that is another one plus fields extends it (a subclass's fields
come after its parent's, so its schema is the one it had written out)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Out(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class Page(Out):
    items: list[Any]
    total: int
    page: int
    page_size: int


class AdminPortfolioImportCreated(Out):
    cities: int
    buildings: int
    units: int


class AdminPortfolioImport(Out):
    rows: int
    applied: bool
    rejected: list[Any]
    created: AdminPortfolioImportCreated
    updated: AdminPortfolioImportCreated


class AdminUsersBindingCode(Out):
    binding_code: str | None
    expires_at: str | None


class AdminUsersCreate(Out):
    id: int
    name: str
    role: str
    phone: Any
    is_active: bool
    bound: bool
    supervisor_id: int | None


class AdminUsersList(Out):
    items: list[AdminUsersCreate]
    total: int
    page: int
    page_size: int


class AlertsAcknowledge(Out):
    id: int
    type: str
    unit_id: int | None
    unit_code: str | None
    building_id: int | None
    subject: str
    severity: str
    status: str
    explanation: str
    evidence: dict[str, Any]
    first_seen: str
    last_seen: str
    count: int
    acknowledged_at: str | None
    resolved_at: str | None
    resolution_note: str


class AlertsList(Out):
    items: list[AlertsAcknowledge]
    total: int
    page: int
    page_size: int
    types: list[str]


class AuthDevLoginUser(Out):
    id: int
    name: str
    role: str


class AuthDevLogin(Out):
    bound: bool
    token: str
    token_type: str
    expires_in: int
    user: AuthDevLoginUser


class AuthMe(Out):
    id: int
    name: str
    role: str
    building_ids: list[int] | None
    tenant_id: int | None


class CollectionsAddNote(Out):
    id: int
    lease_id: int | None
    receivable_id: Any
    kind: str | None
    note: str
    actor: int
    at: str
    promise: Any


class CollectionsGraceApprove(Out):
    id: int
    lease_id: int | None
    tenant_id: int | None
    building_id: int | None
    receivable_id: Any
    status: str
    requested_via: str
    requested_by: int | None
    requested_at: str | None
    days: int
    reason: str
    starts_on: str | None
    ends_on: str | None
    decided_by: int | None
    decided_at: str | None
    decision_note: str


class CollectionsLateFeeClauseClause(Out):
    kind: str | None
    daily_rate: str | None
    cap_rate: str | None
    cap_fen: Any
    fixed_fen: Any
    grace_days: int | None
    clause_ref: str


class CollectionsLateFeeClause(Out):
    lease_id: int | None
    clause: CollectionsLateFeeClauseClause


class CollectionsReceivablesItemsItemTenant(Out):
    id: int
    name: str


class CollectionsReceivablesItemsItemTask(Out):
    id: int
    level: int
    assignee_id: int | None
    due_at: str | None


class CollectionsReceivablesItemsItem(Out):
    receivable_id: int | None
    lease_id: int | None
    contract_no: Any
    unit_code: str | None
    building_id: int | None
    tenant: CollectionsReceivablesItemsItemTenant
    charge: str
    label: str
    due_date: str | None
    days_past_due: int
    tier: str
    level: int
    handled_level: int
    amount_fen: int
    outstanding_fen: int
    late_fee_fen: int
    grace_active: bool
    promise_pending: bool
    task: CollectionsReceivablesItemsItemTask | None


class CollectionsReceivables(Out):
    items: list[CollectionsReceivablesItemsItem]
    total: int
    outstanding_fen: int
    page: int
    page_size: int
    as_of: str


class CollectionsSummaryTotalBucketsValue(Out):
    count: int
    outstanding_fen: int


class CollectionsSummaryTotal(Out):
    overdue_count: int
    overdue_fen: int
    buckets: dict[str, CollectionsSummaryTotalBucketsValue]
    due_30d_fen: int
    collected_30d_fen: int
    average_days_overdue: str | None
    collection_rate_30d: str | None


class CollectionsSummaryCitiesItem(Out):
    id: int
    code: str
    name: str
    overdue_count: int
    overdue_fen: int
    buckets: dict[str, CollectionsSummaryTotalBucketsValue]
    due_30d_fen: int
    collected_30d_fen: int
    average_days_overdue: str | None
    collection_rate_30d: str | None


class CollectionsSummaryBuildingsItem(Out):
    id: int
    code: str
    name: str
    city_id: int | None
    overdue_count: int
    overdue_fen: int
    buckets: dict[str, CollectionsSummaryTotalBucketsValue]
    due_30d_fen: int
    collected_30d_fen: int
    average_days_overdue: str | None
    collection_rate_30d: str | None


class CollectionsSummary(Out):
    as_of: str
    buckets: list[str]
    total: CollectionsSummaryTotal
    cities: list[CollectionsSummaryCitiesItem]
    buildings: list[CollectionsSummaryBuildingsItem]


class CollectionsTaskDone(Out):
    id: int
    receivable_id: int | None
    lease_id: int | None
    tenant_id: int | None
    building_id: int | None
    level: int
    tier: str
    title: str
    assignee_id: int | None
    status: str
    due_at: str | None
    opened_at: str | None
    closed_at: str | None
    note: str


class CollectionsTenantHistoryTenant(Out):
    id: int
    name: str
    kind: str | None
    phone: str


class CollectionsTenantHistory(Out):
    tenant: CollectionsTenantHistoryTenant
    lease_ids: list[int]
    messages: list[Any]
    notes: list[CollectionsAddNote]
    steps: list[Any]
    grace_periods: list[CollectionsGraceApprove]
    tasks: list[CollectionsTaskDone]


class CollectionsWaiveLateFee(Out):
    receivable_id: int | None
    fee_fen: int
    waived_reason: str
    waived_by: int | None
    waived_at: str | None


class ContractsDocumentPagesItem(Out):
    index: int
    source: str | None
    width: int
    height: int
    rotation: int
    skew: float
    lines: int
    problem: Any


class ContractsDocument(Out):
    id: int
    sha256: str
    kind: str | None
    status: str
    building_id: int | None
    uploaded_by: Any
    filename: str
    page_count: int
    error: Any
    read_seconds: Any
    draft_id: int | None
    pages: list[ContractsDocumentPagesItem]
    created_at: str | None


class ContractsDocuments(Out):
    items: list[ContractsDocument]
    total: int
    page: int
    page_size: int


class ContractsDraftFieldsItemDetail(Out):
    pass


class ContractsDraftFieldsItemReview(Out):
    state: str


class ContractsDraftFieldsItem(Out):
    name: str
    value: Any
    source: str | None
    page: Any
    box: Any
    confidence: float
    flags: list[Any]
    detail: ContractsDraftFieldsItemDetail
    needs_review: bool
    review: ContractsDraftFieldsItemReview


class ContractsDraftBlockersItem(Out):
    field: str
    code: str
    message: str


class ContractsDraft(Out):
    id: int
    document_id: int | None
    status: str
    fields: list[ContractsDraftFieldsItem]
    blockers: list[ContractsDraftBlockersItem]
    ready: bool
    unit_candidates: list[Any]
    unit_id: Any
    lease_id: Any
    lease: Any


class DiscrepanciesConfirm(Out):
    id: int
    kind: str | None
    status: str
    building_id: int | None
    line_id: int | None
    receivable_id: Any
    payment_id: Any
    lease_id: Any
    amount_fen: int
    expected_fen: Any
    explanation: str
    details: dict[str, Any]
    detected_at: str | None
    resolved_by: int | None
    resolved_at: str | None
    resolution_note: str


class DiscrepanciesList(Out):
    items: list[DiscrepanciesConfirm]
    total: int
    page: int
    page_size: int


class InspectionsContradictionsItemsItem(Out):
    unit_code: str | None
    building_id: int | None
    recorded_status: str
    observed_status: str
    report_id: int | None
    report_state: str
    captured_at: str | None
    author_id: int | None


class InspectionsContradictions(Out):
    items: list[InspectionsContradictionsItemsItem]


class InspectionsDueItemsItem(Out):
    code: str
    name: str
    building_id: int | None
    status: str
    last_inspected_at: Any
    days_since: Any


class InspectionsDue(Out):
    interval_days: int | None
    items: list[InspectionsDueItemsItem]


class PhotosUpload(Out):
    id: str
    unit_id: int | None
    uploaded_by: int | None
    sha256: str
    content_type: str
    size_bytes: int
    width: int
    height: int
    exif_taken_at: Any
    exif_gps: Any
    captured_at: Any
    distance_m: Any
    exif_flags: list[Any]
    created_at: str | None


class ScanUnit(Out):
    code: str
    name: str
    property_type: str
    unit_type: str
    floor: int
    status: str
    status_version: int | None
    last_inspected_at: Any


class ScanBuilding(Out):
    id: int
    code: str
    name: str


class ScanPendingReportsItem(Out):
    id: int
    state: str
    category: str
    requested_status: str
    no_change: bool
    author_id: int | None
    captured_at: str | None
    confirm_deadline: str


class ScanGeofenceCentre(Out):
    lat: float
    lng: float
    coord_system: str


class ScanGeofenceCentreGcj02(Out):
    lat: float
    lng: float


class ScanGeofence(Out):
    centre: ScanGeofenceCentre
    centre_gcj02: ScanGeofenceCentreGcj02
    radius_m: float


class ScanOnSiteLimits(Out):
    max_accuracy_m: float
    max_speed_kmh: float


class Scan(Out):
    unit: ScanUnit
    building: ScanBuilding
    lease: Any
    open_work_orders: list[Any]
    active_alerts: list[Any]
    last_inspection: Any
    pending_reports: list[ScanPendingReportsItem]
    geofence: ScanGeofence
    on_site_limits: ScanOnSiteLimits
    requestable_statuses: list[str]
    can_confirm: bool


class StatusReportsCreateReportLocation(Out):
    lat: float
    lng: float
    coord_system: str
    accuracy_m: float
    distance_m: float


class StatusReportsCreateReport(Out):
    id: int
    client_id: str | None
    unit_id: int | None
    author_id: int | None
    category: str
    requested_status: str | None
    no_change: bool
    observed_status: str
    state: str
    state_reason: str
    flags: list[str]
    note: str
    photo_ids: list[Any]
    location: StatusReportsCreateReportLocation
    captured_at: str | None
    client_created_at: Any
    base_status_version: int | None
    applied_version: Any
    confirm_deadline: str | None
    decided_at: str | None
    expired_at: Any
    via_sync: bool
    created_at: str | None


class StatusReportsCreate(Out):
    result: str
    report: StatusReportsCreateReport


class StatusReportsDecideConfirmation(Out):
    id: int
    client_id: str | None
    report_id: int | None
    actor_id: int | None
    decision: str
    reason: str
    outcome: str
    distance_m: float
    captured_at: str | None
    created_at: str | None


class StatusReportsDecide(Out):
    result: str
    report: StatusReportsCreateReport
    confirmation: StatusReportsDecideConfirmation


class StatusReportsList(Out):
    items: list[StatusReportsCreateReport]
    total: int
    page: int
    page_size: int


class SyncResultsItemError(Out):
    code: str
    message: str
    details: dict[str, Any]
    status: int


class SyncResultsItem(Out):
    index: int
    kind: str | None
    client_id: str | None
    result: str
    report: StatusReportsCreateReport | None = None
    error: SyncResultsItemError | None = None


class Sync(Out):
    results: list[SyncResultsItem]
    summary: dict[str, int]


class UnitsSticker(Out):
    unit_code: str | None
    qr_version: int | None
    url: str
    label_url: str


class UnitsStickerReissue(Out):
    unit_code: str | None
    qr_version: int | None
    url: str


class UnitsTimelineEventsItem(Out):
    at: str
    kind: str | None
    photo_id: str | None = None
    uploaded_by: int | None = None
    distance_m: float | None = None
    report_id: int | None = None
    state: str | None = None
    category: str | None = None
    requested_status: str | None = None
    no_change: bool | None = None
    author_id: int | None = None
    flags: list[str] | None = None
    photo_ids: list[Any] | None = None
    decision: str | None = None
    outcome: str | None = None
    actor_id: int | None = None
    reason: str | None = None


class UnitsTimeline(Out):
    unit_code: str | None
    status: str
    status_version: int | None
    events: list[UnitsTimelineEventsItem]


class DevicesDetailAvailability(Out):
    online: Any
    at: Any


class DevicesDetail(Out):
    id: int
    external_id: str | None
    format: str
    kind: str | None
    unit_id: int | None
    unit_code: str | None
    building_id: int | None
    installed_at: Any
    last_seen: Any
    online: Any
    battery: Any
    battery_low: bool
    invert: bool
    report_period_s: Any
    availability: DevicesDetailAvailability
    heartbeat_at: Any


class DevicesImport(Out):
    rows: int
    rejected: list[Any]
    created: int
    updated: int
    dry_run: bool


class DevicesList(Out):
    items: list[DevicesDetail]
    total: int
    page: int
    page_size: int


class IotCleaningConfirm(Out):
    work_order_id: int | None
    work_order_status: str
    unit_code: str | None
    unit_status: str
    distance_m: float


class UnitsOccupancyDaysItem(Out):
    day: str
    state: str
    evidence: dict[str, Any]


class UnitsOccupancy(Out):
    unit_code: str | None
    days: list[UnitsOccupancyDaysItem]


class UnitsReadings(Out):
    unit_code: str | None
    bucket: str
    start: str
    end: str
    series: ContractsDraftFieldsItemDetail


class LeaseHealthDetailFindingsItemEvidenceItem(Out):
    receivable_id: int | None
    label: str
    due_date: str | None
    amount_fen: int
    paid_on: Any
    working_days_late: int


class LeaseHealthDetailFindingsItem(Out):
    indicator: str
    period: str
    level: str
    count: int
    threshold: str
    action: str
    evidence: list[LeaseHealthDetailFindingsItemEvidenceItem]


class LeaseHealthListItemsItem(Out):
    lease_id: int | None
    contract_no: Any
    unit_id: int | None
    unit_code: str | None
    tenant_id: int | None
    status: str
    building_id: int | None
    building_code: str | None
    building: str
    city_id: int | None
    city_code: str | None
    city: str
    as_of: str
    level: str
    level_label: str
    counts: dict[str, int]
    findings: list[LeaseHealthDetailFindingsItem]


class LeaseHealthDetail(LeaseHealthListItemsItem):
    flags: list[Any]


class LeaseHealthList(Out):
    as_of: str
    items: list[LeaseHealthListItemsItem]
    total: int
    page: int
    page_size: int


class LeaseHealthTenantProfileTenant(Out):
    id: int
    name: str
    kind: str


class LeaseHealthTenantProfileReason(Out):
    measure: str
    label: str
    value: str
    rule: str
    effect: int
    hard_stop: bool
    text: str


class LeaseHealthTenantProfileProfile(Out):
    tenant_id: int
    score: int
    recommendation: str
    recommendation_label: str
    reasons: list[LeaseHealthTenantProfileReason]
    metrics: dict[str, Any]
    as_of: str
    computed_at: str


class LeaseHealthTenantProfile(Out):
    tenant: LeaseHealthTenantProfileTenant
    lease_ids: list[int]
    profile: LeaseHealthTenantProfileProfile | None


class LeaseHealthReportByBuildingItem(Out):
    building_id: int | None
    name: str
    leases: int
    levels: dict[str, int]


class LeaseHealthReportByCityItem(Out):
    city_id: int | None
    name: str
    leases: int
    levels: dict[str, int]


class LeaseHealthReportThresholds(Out):
    late_working_days: int | None
    deviations_per_quarter: int
    changes_per_year: int
    work_orders_per_month: int


class LeaseHealthReport(Out):
    title: str
    month: str
    as_of: str
    complete: bool
    leases: int
    levels: dict[str, int]
    by_building: list[LeaseHealthReportByBuildingItem]
    by_city: list[LeaseHealthReportByCityItem]
    items: list[LeaseHealthListItemsItem]
    thresholds: LeaseHealthReportThresholds


class LeasesAmendLeaseTerms(Out):
    start_date: str | None
    end_date: str | None
    frequency: str
    rent_basis: str
    monthly_rent_fen: int
    unit_price: Any
    area_m2: Any
    days_per_month: str
    timing: str
    timing_days: int | None
    timing_day: Any
    deposit_months: Any
    deposit_fen: int
    billing_anchor: Any
    free_periods: list[Any]
    escalations: list[Any]
    rent_steps: list[Any]
    charges: list[Any]


class LeasesAmendLease(Out):
    id: int
    unit_id: int | None
    unit_code: str | None
    status: str
    contract_no: Any
    property_type: str
    start_date: str | None
    end_date: str | None
    monthly_rent_fen: int
    deposit_fen: int
    payment_frequency: str
    terms: LeasesAmendLeaseTerms
    terms_version: int | None
    signed_at: str | None
    first_rent_paid_at: str | None
    handed_over_at: str | None
    renewal_of: Any
    tenant_id: int | None


class LeasesAmendChangeSchedule(Out):
    created: int
    updated: int
    superseded: int
    kept_paid: int
    adjusted: int


class LeasesAmendChange(Out):
    id: int
    kind: str | None
    from_version: int | None
    to_version: int | None
    effective_date: str | None
    reason: str
    actor_id: int | None
    at: str
    schedule: LeasesAmendChangeSchedule
    before: LeasesAmendLeaseTerms
    after: LeasesAmendLeaseTerms


class LeasesAmend(Out):
    lease: LeasesAmendLease
    change: LeasesAmendChange


class LeasesAmendments(Out):
    items: list[LeasesAmendChange]


class LeasesHandover(Out):
    lease: LeasesAmendLease
    handed_over_now: bool
    unit_status: str


class LeasesImportErrorsItem(Out):
    row: int
    field: str
    code: str
    message: str


class LeasesImport(Out):
    rows: int
    valid_rows: int
    unchanged_rows: list[Any]
    rejected_rows: list[int]
    errors: list[LeasesImportErrorsItem]
    applied: bool
    imported: int
    created: list[Any]


class LeasesInForceSchedule(Out):
    id: int
    lease_id: int | None
    terms_version: int | None
    status: str
    attempts: int
    error_code: Any
    error_message: str
    error_details: ContractsDraftFieldsItemDetail
    next_attempt_at: Any
    last_attempt_at: str | None
    succeeded_at: str | None
    summary: LeasesAmendChangeSchedule


class LeasesInForce(Out):
    lease: LeasesAmendLease
    unit_status: str
    schedule: LeasesInForceSchedule


class LeasesList(Out):
    items: list[LeasesAmendLease]
    total: int
    page: int
    page_size: int


class LeasesPaymentPayment(Out):
    id: int
    lease_id: int | None
    amount_fen: int
    unallocated_fen: int
    paid_at: str | None
    method: str
    source: str | None
    payer_name: str
    reference: str
    note: str


class LeasesPaymentAllocationsItem(Out):
    receivable_id: int | None
    amount_fen: int


class LeasesPayment(Out):
    payment: LeasesPaymentPayment
    allocations: list[LeasesPaymentAllocationsItem]


class LeasesSchedule(Out):
    lease_id: int | None
    terms_version: int | None
    current: LeasesInForceSchedule
    jobs: list[LeasesInForceSchedule]


class LeasesSign(Out):
    lease: LeasesAmendLease
    signed_now: bool
    unit_status: str
    schedule: LeasesInForceSchedule


class LeasesStatementTotals(Out):
    billed_fen: int
    paid_fen: int
    waived_fen: int
    outstanding_fen: int
    overdue_fen: int
    scheduled_fen: int
    future_fen: int
    received_fen: int
    credit_fen: int
    deposit_held_fen: int


class LeasesStatementReceivablesItemBreakdown(Out):
    deposit_months: Any = None
    base_fen: int | None = None
    escalation_fen: int | None = None
    free_fen: int | None = None
    days: int | None = None
    nominal_days: int | None = None
    months: int | None = None
    prorated: bool | None = None
    monthly_fen: str | None = None


class LeasesStatementReceivablesItem(Out):
    id: int
    lease_id: int | None
    tenant_id: int | None
    building_id: int | None
    charge: str
    charge_type: str
    label: str
    period_start: str
    period_end: str
    due_date: str | None
    amount_fen: int
    paid_fen: int
    outstanding_fen: int
    state: str
    status: str
    breakdown: LeasesStatementReceivablesItemBreakdown
    schedule_version: int | None
    paid_at: str | None
    payment_code: str | None
    waived: Any


class LeasesStatement(Out):
    lease_id: int | None
    contract_no: Any
    as_of: str
    totals: LeasesStatementTotals
    receivables: list[LeasesStatementReceivablesItem]
    payments: list[LeasesPaymentPayment]


class MeCollectionMessages(Out):
    items: list[Any]


class MeLeases(Out):
    items: list[LeasesAmendLease]


class MePaymentsOrderDetailReceivablesItem(Out):
    receivable_id: int | None
    lease_id: int | None
    amount_fen: int
    label: str


class MePaymentsOrderDetail(Out):
    id: int
    out_trade_no: str
    status: str
    amount_fen: int
    description: str
    receivables: list[MePaymentsOrderDetailReceivablesItem]
    expires_at: str | None
    placed_at: str | None
    paid_at: Any
    paid_fen: Any
    closed_at: Any


class MeRefundsCancelDeductionsItem(Out):
    id: int
    category: str
    amount_fen: int
    description: str
    evidence: list[Any]
    quote_document_id: int | None
    has_quote: bool


class MeRefundsCancelTimelineItem(Out):
    action: str
    from_step: str | None
    step: str
    at: str
    role: str
    reason: str | None = None


class MeRefundsCancelDocumentsItem(Out):
    id: int
    kind: str | None
    filename: str
    size_bytes: int


class MeRefundsListItemsItem(Out):
    id: int
    lease_id: int | None
    unit_code: str | None
    unit_name: str
    step: str
    step_label: str
    pending_step: Any
    step_entered_at: str | None
    step_due_at: Any
    applied_at: str | None
    expected_completion: Any
    deposit_fen: int
    deductions_fen: int
    refund_fen: Any
    debt_fen: int
    move_out_date: Any
    paid_at: Any
    completed_at: Any
    completed_by: Any
    cancelled_at: str | None
    cancel_reason: str
    payee_account: str
    overdue: bool
    red_flag: bool


class MeRefundsCancel(MeRefundsListItemsItem):
    deductions: list[MeRefundsCancelDeductionsItem]
    timeline: list[MeRefundsCancelTimelineItem]
    documents: list[MeRefundsCancelDocumentsItem]


class MeRefundsList(Out):
    items: list[MeRefundsListItemsItem]


class OccupancyAuditKindsValue(Out):
    count: int
    rate: str
    label: str
    process_step: str
    action: str


class OccupancyAuditBuildingsItemKindsValue(Out):
    count: int
    rate: str


class OccupancyAuditBuildingsItem(Out):
    id: int
    name: str
    units: int
    units_with_differences: int
    rate: str
    kinds: dict[str, OccupancyAuditBuildingsItemKindsValue]


class OccupancyAuditFindingsItemDetail(Out):
    status: str


class OccupancyAuditFindingsItem(Out):
    unit_id: int | None
    unit_code: str | None
    building_id: int | None
    building: str
    city_id: int | None
    kind: str | None
    label: str
    process_step: str
    action: str
    since: Any
    days: int
    detail: OccupancyAuditFindingsItemDetail


class OccupancyAudit(Out):
    month: str
    as_of: str
    as_of_note: str
    generated_at: str | None
    units: int
    units_with_differences: int
    rate: str
    kinds: dict[str, OccupancyAuditKindsValue]
    buildings: list[OccupancyAuditBuildingsItem]
    cities: list[OccupancyAuditBuildingsItem]
    findings: list[OccupancyAuditFindingsItem]
    previous: Any


class OccupancyAuditsAuditsItem(Out):
    month: str
    as_of: str
    generated_at: str | None
    units: int
    units_with_differences: int
    rate: str
    kinds: dict[str, int]


class OccupancyAudits(Out):
    audits: list[OccupancyAuditsAuditsItem]


class OccupancyDayPeriodDaysMissingItem(Out):
    day: str
    reasons: list[str]


class OccupancyDayPeriod(Out):
    kind: str | None
    requested: str | None = None
    day: Any = None
    month: str | None = None
    complete_days: int | None = None
    days_missing: list[OccupancyDayPeriodDaysMissingItem] | None = None


class OccupancyDayStale(Out):
    requested_day: str
    reasons: list[str]
    shown_day: Any
    label: str


class OccupancyDay(Out):
    period: OccupancyDayPeriod
    complete: bool
    stale: OccupancyDayStale
    level: str
    total: Any


class OccupancyDaysDaysItem(Out):
    day: str
    state: str
    units: int
    reasons: list[str]


class OccupancyDays(Out):
    days: list[OccupancyDaysDaysItem]


class OccupancyFlagAdd(Out):
    id: int
    unit_id: int | None
    lease_id: int | None
    kind: str | None
    label: str
    valid_from: str
    valid_to: str | None
    reason: str
    reference: str
    recorded_by: int | None
    ended_by: int | None
    ended_at: str | None
    recorded_at: str | None


class OccupancyFlags(Out):
    unit_code: str | None
    flags: list[OccupancyFlagAdd]


class OccupancyTrendMonthsItem(Out):
    month: str
    complete_days: int | None
    missing_days: int | None
    figures: Any
    reason: str


class OccupancyTrend(Out):
    period: dict[str, str]
    months: list[OccupancyTrendMonthsItem]


class ReceivablesListTotals(Out):
    amount_fen: int
    paid_fen: int


class ReceivablesList(Out):
    items: list[LeasesStatementReceivablesItem]
    total: int
    page: int
    page_size: int
    as_of: str
    totals: ReceivablesListTotals


class RefundProgressPublicStepsItem(Out):
    step: str
    label: str
    date: str | None


class RefundProgressPublic(Out):
    step: str
    step_label: str
    steps: list[RefundProgressPublicStepsItem]
    cancelled: bool
    applied_on: str | None
    expected_completion: str | None


class RefundsBoardByStepValueItem(Out):
    id: int
    unit_code: str | None
    entered_at: str | None
    due_at: str | None
    assignee_id: int | None
    hours_in_step: float
    overdue: bool
    red_flag: bool
    escalated: bool


class RefundsBoardSlaComplianceValue(Out):
    taken: int
    on_time: int
    rate: Any
    overdue_now: int


class RefundsBoard(Out):
    as_of: str
    counts: dict[str, int]
    red_flags: int
    by_step: dict[str, list[RefundsBoardByStepValueItem]]
    sla_compliance: dict[str, RefundsBoardSlaComplianceValue]
    completed: int
    average_cycle_days: Any
    average_days_to_payment: Any


class RefundsCancelDeductionsItem(Out):
    id: int
    category: str
    amount_fen: int
    description: str
    photo_ids: list[Any]
    document_id: int | None


class RefundsCancelTimelineItem(Out):
    action: str
    from_step: str | None
    step: str
    at: str
    role: str
    actor_id: int | None
    reason: str
    due_at: Any
    on_time: Any
    details: dict[str, Any]


class RefundsCancelDocumentsItem(MeRefundsCancelDocumentsItem):
    sha256: str


class RefundsListItemsItem(MeRefundsListItemsItem):
    building_id: int | None
    tenant_id: int | None
    assignee_id: Any
    version: int
    inspection_report_id: Any
    inspection_note: str
    approved_by: Any
    approved_at: Any
    approved_amount_fen: Any
    bank_receipt_ref: str
    receipt_document_id: Any
    payee_name: str
    payee_bank: str
    escalated: bool


class RefundsCancel(RefundsListItemsItem):
    deductions: list[RefundsCancelDeductionsItem]
    timeline: list[RefundsCancelTimelineItem]
    documents: list[RefundsCancelDocumentsItem]


class RefundsList(Out):
    items: list[RefundsListItemsItem]
    total: int
    page: int
    page_size: int


class RefundsUploadDocument(Out):
    id: int
    kind: str | None
    sha256: str
    size_bytes: int
    content_type: str


class StatementsFeed(Out):
    key: str
    last_good_at: Any
    stale: bool
    last_error_code: Any


class StatementsImportReconcile(Out):
    decided: int
    applied: int
    proposed: int
    unmatched: int
    skipped: int | None = None
    confirmed: int | None = None
    paid_without_bank_line: int


class StatementsImport(Out):
    import_id: int | None
    format: str
    source: str | None
    encoding: str
    lines_read: int
    lines_new: int
    lines_duplicate: int
    skipped_rows: list[int]
    reconcile: StatementsImportReconcile


class StatementsImportsItemsItemSummary(Out):
    encoding: str | None = None
    skipped_rows: list[int] | None = None
    reconcile: StatementsImportReconcile | None = None


class StatementsImportsItemsItem(Out):
    id: int
    format: str
    source: str | None
    filename: str
    building_id: int | None
    status: str
    imported_at: str | None
    imported_by: int | None
    lines_read: int
    lines_new: int
    lines_duplicate: int
    error_code: Any
    error_details: ContractsDraftFieldsItemDetail
    summary: StatementsImportsItemsItemSummary


class StatementsImports(Out):
    items: list[StatementsImportsItemsItem]
    total: int
    page: int
    page_size: int


class StatementsLineMatchesItem(Out):
    id: int
    line_id: int | None
    lease_id: int | None
    building_id: int | None
    receivable_id: int | None
    amount_fen: int
    rule: str
    confidence: int
    status: str
    explanation: str
    details: dict[str, Any]
    payment_id: Any
    decided_by: Any
    decided_at: Any


class StatementsLine(Out):
    id: int
    import_id: int | None
    building_id: int | None
    source: str | None
    format: str
    serial: str
    row: int
    booked_at: str | None
    direction: str
    amount_fen: int
    balance_fen: Any
    counterparty_name: str
    counterparty_account: str
    reference: str
    status: str
    allocated_fen: int
    explanation: ContractsDraftFieldsItemDetail
    matches: list[StatementsLineMatchesItem]


class StatementsLineConfirmExplanationFindingsItem(Out):
    kind: str | None
    amount_fen: int
    expected_fen: Any
    explanation: str


class StatementsLineConfirmExplanationRejected(Out):
    by: int
    at: str
    why: str


class StatementsLineConfirmExplanation(Out):
    rule: Any = None
    confidence: int | None = None
    explanation: str | None = None
    allocations: list[Any] | None = None
    recorded_payment_id: Any = None
    findings: list[StatementsLineConfirmExplanationFindingsItem] | None = None
    candidates: list[Any] | None = None
    rejected: StatementsLineConfirmExplanationRejected | None = None
    reversed: list[dict[str, Any]] | None = None  # who, when, why and what of each reversal of an applied match


class StatementsLineConfirm(Out):
    id: int
    import_id: int | None
    building_id: int | None
    source: str | None
    format: str
    serial: str
    row: int
    booked_at: str | None
    direction: str
    amount_fen: int
    balance_fen: int | None
    counterparty_name: str
    counterparty_account: str
    reference: str
    status: str
    allocated_fen: int
    explanation: StatementsLineConfirmExplanation


class StatementsLines(Out):
    items: list[StatementsLineConfirm]
    total: int
    page: int
    page_size: int


class UnitsChangeStatusUnit(Out):
    code: str
    name: str
    building_id: int | None
    property_type: str
    unit_type: str
    area_m2: str
    floor: int
    compliant_rentable: bool
    lat: Any
    lng: Any
    status: str
    status_version: int | None
    status_changed_at: str | None
    last_inspected_at: str | None


class UnitsChangeStatus(Out):
    unit: UnitsChangeStatusUnit
    change: dict[str, str | int]


class UnitsListItemsItem(UnitsChangeStatusUnit):
    building: ScanBuilding


class UnitsDetail(UnitsListItemsItem):
    status_history: list[dict[str, str | int]]


class UnitsList(Out):
    items: list[UnitsListItemsItem]
    total: int
    page: int
    page_size: int


class WorkordersCreateTrigger(Out):
    source: str | None
    ref: str


class WorkordersCreate(Out):
    id: int
    type: str
    status: str
    title: str
    description: str
    building_id: int | None
    unit_id: int | None
    unit_code: str | None
    trigger: WorkordersCreateTrigger
    assignee_id: int | None
    due_at: str | None
    completed_at: str | None
    visit_result: Any
    created_at: str | None


class WorkordersDetail(WorkordersCreate):
    history: list[dict[str, str | int | None]]


class WorkordersList(Out):
    items: list[WorkordersCreate]
    total: int
    page: int
    page_size: int


# ------------------------------------------------------------------ written by hand (routes the samples missed)


class CollectionsSend(Out):
    sent: bool  # False: this tier was already sent today (200); True: sent now (201)
    tier: str
    messages: list[Any]


class HealthBroker(Out):
    reachable: bool
    host: str
    port: int
    embedded: bool


class HealthDatabase(Out):
    ok: bool


class Health(Out):
    status: str
    database: HealthDatabase
    broker: HealthBroker
    ingest: dict[str, Any] | None = None


class AuthWechatLogin(Out):
    """Bound: an access token (as dev-login). Not bound yet: a binding token for /auth/bind."""

    bound: bool
    token: str | None = None
    token_type: str | None = None
    expires_in: int | None = None
    user: AuthDevLoginUser | None = None
    binding_token: str | None = None


class MePaymentsOrderPayment(Out):
    appId: str
    timeStamp: str
    nonceStr: str
    package: str
    signType: str
    paySign: str


class MePaymentsOrder(Out):
    order: MePaymentsOrderDetail
    payment: MePaymentsOrderPayment


class RefundWechatPayout(Out):
    """A refund to the deposit's original payment (method REFUND) or a 商家转账 to the tenant's balance (TRANSFER)."""

    id: int
    method: str
    refund_id: int | None
    status: str
    amount_fen: int
    requested_at: str | None
    succeeded_at: str | None
    last_error: str | None
    out_refund_no: str | None = None
    transaction_id: str | None = None
    wechat_refund_id: str | None = None
    out_bill_no: str | None = None
    transfer_bill_no: str | None = None
    recipient_id: int | None = None


class RefundWechatTransferCancel(Out):
    """The refund's 商家转账 after 撤销转账 was asked for: CANCELING while WeChat Pay cancels it, then CANCELLED."""

    id: int
    method: str
    refund_id: int
    out_bill_no: str
    status: str
    amount_fen: int
    transfer_bill_no: str
    recipient_id: int | None
    requested_at: str
    succeeded_at: str | None
    last_error: str


class MeRefundWechatTransferConfirm(Out):
    mchId: str  # noqa: N815 - the names wx.requestMerchantTransfer takes
    appId: str  # noqa: N815
    package: str


class MeRefundWechatTransfer(Out):
    transfer: RefundWechatPayout
    confirm: MeRefundWechatTransferConfirm


class IotDetectSweep(Out):
    offline: int
    cleared: int
    devices: int
    cleaning_orders: list[Any]
    purged: int


class IotDetect(Out):
    """Counts per alert kind ({"active", "cleared"}) sit beside these fields, one key per kind."""

    model_config = ConfigDict(extra="allow")
    units: int
    as_of: str
    occupancy: dict[str, int]
    sweep: IotDetectSweep | None = None  # absent when the detection runs for a past day (as_of)
    seconds: float


class RefundsAddDeduction(Out):
    id: int
    category: str
    amount_fen: int
    description: str
    photo_ids: list[str]
    document_id: int | None


class RefundsRemoveDeduction(Out):
    deleted: int
    existed: bool


# One name per route (several routes answer the same body).
AdminAuditList: type[Out] = Page
AdminUsersDeactivate: type[Out] = AdminUsersCreate
AlertsDetail: type[Out] = AlertsAcknowledge
AlertsResolve: type[Out] = AlertsAcknowledge
CollectionsTasks: type[Out] = Page
ContractsReview: type[Out] = ContractsDraft
DiscrepanciesDismiss: type[Out] = DiscrepanciesConfirm
DiscrepanciesReassign: type[Out] = DiscrepanciesConfirm
StatusReportsDetail: type[Out] = StatusReportsCreateReport
DevicesCommissioning: type[Out] = Page
DevicesRegister: type[Out] = DevicesDetail
IotDeadLetters: type[Out] = Page
LeasesCreate: type[Out] = LeasesAmendLease
LeasesDetail: type[Out] = LeasesAmendLease
LeasesScheduleRetry: type[Out] = LeasesInForceSchedule
LeasesTenantCode: type[Out] = AdminUsersBindingCode
MeLeaseStatement: type[Out] = LeasesStatement
MeRefundsDetail: type[Out] = MeRefundsCancel
OccupancyFlagEnd: type[Out] = OccupancyFlagAdd
OccupancyMonth: type[Out] = OccupancyDay
OccupancySnapshot: type[Out] = OccupancyDays
RefundsDetail: type[Out] = RefundsCancel
ScheduleFailuresList: type[Out] = Page
StatementsLineReject: type[Out] = StatementsLineConfirm
StatementsLineReverse: type[Out] = StatementsLineConfirm
StatementsMatches: type[Out] = Page
WorkordersTransition: type[Out] = WorkordersCreate

ROUTE_RESPONSES = {
    'admin.admin_audit_list': AdminAuditList,
    'admin.admin_portfolio_import': AdminPortfolioImport,
    'admin.admin_users_binding_code': AdminUsersBindingCode,
    'admin.admin_users_create': AdminUsersCreate,
    'admin.admin_users_deactivate': AdminUsersDeactivate,
    'admin.admin_users_list': AdminUsersList,
    'alerts.alerts_acknowledge': AlertsAcknowledge,
    'alerts.alerts_detail': AlertsDetail,
    'alerts.alerts_list': AlertsList,
    'alerts.alerts_resolve': AlertsResolve,
    'auth.auth_dev_login': AuthDevLogin,
    'auth.auth_me': AuthMe,
    'collections.collections_add_note': CollectionsAddNote,
    'collections.collections_grace_approve': CollectionsGraceApprove,
    'collections.collections_late_fee_clause': CollectionsLateFeeClause,
    'collections.collections_receivables': CollectionsReceivables,
    'collections.collections_summary': CollectionsSummary,
    'collections.collections_task_done': CollectionsTaskDone,
    'collections.collections_tasks': CollectionsTasks,
    'collections.collections_tenant_history': CollectionsTenantHistory,
    'collections.collections_waive_late_fee': CollectionsWaiveLateFee,
    'contracts.contracts_document': ContractsDocument,
    'contracts.contracts_documents': ContractsDocuments,
    'contracts.contracts_draft': ContractsDraft,
    'contracts.contracts_review': ContractsReview,
    'discrepancies.discrepancies_confirm': DiscrepanciesConfirm,
    'discrepancies.discrepancies_dismiss': DiscrepanciesDismiss,
    'discrepancies.discrepancies_list': DiscrepanciesList,
    'discrepancies.discrepancies_reassign': DiscrepanciesReassign,
    'inspections.inspections_contradictions': InspectionsContradictions,
    'inspections.inspections_due': InspectionsDue,
    'inspections.photos_upload': PhotosUpload,
    'inspections.scan': Scan,
    'inspections.status_reports_create': StatusReportsCreate,
    'inspections.status_reports_decide': StatusReportsDecide,
    'inspections.status_reports_detail': StatusReportsDetail,
    'inspections.status_reports_list': StatusReportsList,
    'inspections.sync': Sync,
    'inspections.units_sticker': UnitsSticker,
    'inspections.units_sticker_reissue': UnitsStickerReissue,
    'inspections.units_timeline': UnitsTimeline,
    'iot.devices_commissioning': DevicesCommissioning,
    'iot.devices_detail': DevicesDetail,
    'iot.devices_import': DevicesImport,
    'iot.devices_list': DevicesList,
    'iot.devices_register': DevicesRegister,
    'iot.iot_cleaning_confirm': IotCleaningConfirm,
    'iot.iot_dead_letters': IotDeadLetters,
    'iot.iot_detect': IotDetect,
    'iot.units_occupancy': UnitsOccupancy,
    'iot.units_readings': UnitsReadings,
    'lease_health.lease_health_detail': LeaseHealthDetail,
    'lease_health.lease_health_list': LeaseHealthList,
    'lease_health.lease_health_report': LeaseHealthReport,
    'leases.leases_amend': LeasesAmend,
    'leases.leases_amendments': LeasesAmendments,
    'leases.leases_create': LeasesCreate,
    'leases.leases_detail': LeasesDetail,
    'leases.leases_handover': LeasesHandover,
    'leases.leases_import': LeasesImport,
    'leases.leases_in_force': LeasesInForce,
    'leases.leases_list': LeasesList,
    'leases.leases_payment': LeasesPayment,
    'leases.leases_schedule': LeasesSchedule,
    'leases.leases_schedule_retry': LeasesScheduleRetry,
    'leases.leases_sign': LeasesSign,
    'leases.leases_statement': LeasesStatement,
    'leases.leases_tenant_code': LeasesTenantCode,
    'me_collections.me_collection_messages': MeCollectionMessages,
    'me_leases.me_lease_statement': MeLeaseStatement,
    'me_leases.me_leases': MeLeases,
    'me_payments.me_payments_order_detail': MePaymentsOrderDetail,
    'me_refunds.me_refunds_cancel': MeRefundsCancel,
    'me_refunds.me_refunds_detail': MeRefundsDetail,
    'me_refunds.me_refunds_list': MeRefundsList,
    'occupancy.occupancy_audit': OccupancyAudit,
    'occupancy.occupancy_audits': OccupancyAudits,
    'occupancy.occupancy_day': OccupancyDay,
    'occupancy.occupancy_days': OccupancyDays,
    'occupancy.occupancy_flag_add': OccupancyFlagAdd,
    'occupancy.occupancy_flag_end': OccupancyFlagEnd,
    'occupancy.occupancy_flags': OccupancyFlags,
    'occupancy.occupancy_month': OccupancyMonth,
    'occupancy.occupancy_snapshot': OccupancySnapshot,
    'occupancy.occupancy_trend': OccupancyTrend,
    'receivables.receivables_list': ReceivablesList,
    'refund_progress.refund_progress_public': RefundProgressPublic,
    'refunds.refunds_board': RefundsBoard,
    'refunds.refunds_cancel': RefundsCancel,
    'refunds.refunds_detail': RefundsDetail,
    'refunds.refunds_list': RefundsList,
    'refunds.refunds_upload_document': RefundsUploadDocument,
    'schedule_failures.schedule_failures_list': ScheduleFailuresList,
    'statements.statements_feed': StatementsFeed,
    'statements.statements_import': StatementsImport,
    'statements.statements_imports': StatementsImports,
    'statements.statements_line': StatementsLine,
    'statements.statements_line_confirm': StatementsLineConfirm,
    'statements.statements_line_reject': StatementsLineReject,
    'statements.statements_line_reverse': StatementsLineReverse,
    'statements.statements_lines': StatementsLines,
    'statements.statements_matches': StatementsMatches,
    'units.units_change_status': UnitsChangeStatus,
    'units.units_detail': UnitsDetail,
    'units.units_list': UnitsList,
    'workorders.workorders_create': WorkordersCreate,
    'workorders.workorders_detail': WorkordersDetail,
    'workorders.workorders_list': WorkordersList,
    'workorders.workorders_transition': WorkordersTransition,
}
