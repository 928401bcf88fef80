/**
 * Field actions shared by the pages, kept out of Page() code so the Node tests run them for real:
 * scan → unit card, report (three actions + note) through the offline queue, on-site confirmation, and
 * completing a work order with an on-site scan and photo.
 */

const { ApiError } = require('./errors');
const { parseSticker, parseProgressLink } = require('./sticker');
const { getFix, precheck, geofenceOf, limitsOf } = require('./location');
const { call } = require('./wxp');
const { UNIT_STATUS, label } = require('./labels');

/** wx.scanCode (camera only) → {qr, unitCode}. Throws SCAN_CANCELLED / NOT_A_STICKER ApiErrors. */
async function scanSticker(wx) {
  let res;
  try {
    res = await call(wx, 'scanCode', { onlyFromCamera: true, scanType: ['qrCode'] });
  } catch (e) {
    throw new ApiError({ code: 'SCAN_CANCELLED', status: -1, serverMessage: e.errMsg || '' });
  }
  const sticker = parseSticker(res.result);
  if (!sticker) {
    const progress = parseProgressLink(res.result);
    throw new ApiError({ code: 'NOT_A_STICKER', status: -1,
      details: { result: res.result, progress_token: progress ? progress.token : null } });
  }
  return sticker;
}

/** POST /scan → the unit card (server verifies the signature and the building scope). */
function fetchCard(api, qr) {
  return api.post('/api/v1/scan', { qr });
}

/**
 * The body of a status report as the server takes it (inspections/schemas.py StatusReportIn), minus client_id,
 * kind and photo_ids, which the queue adds. `requestedStatus` null/'' means "no change" (a visit).
 */
function buildStatusReport({ card, qr, requestedStatus = null, category = 'ROUTINE', note = '', fix, now = Date.now }) {
  const body = {
    qr,
    category,
    note: String(note || '').slice(0, 2000),
    location: fix,
    base_status_version: card && card.unit ? card.unit.status_version : null,
    client_created_at: new Date(now()).toISOString(),
  };
  if (requestedStatus) {
    body.requested_status = requestedStatus;
    body.no_change = false;
  } else {
    body.no_change = true;
  }
  if (body.base_status_version === null) delete body.base_status_version;
  return body;
}

/** Location for an action, with the local geofence pre-check against the card. */
async function locate(wx, card, { now = Date.now } = {}) {
  const fix = await getFix(wx, { now });
  return { fix, check: precheck(fix, geofenceOf(card), limitsOf(card)) };
}

/** Queue a status report (and send it at once when online). Resolves {item, sync}. */
function submitReport(queue, { card, qr, requestedStatus, category, note, fix, photos = [], now }) {
  const body = buildStatusReport({ card, qr, requestedStatus, category, note, fix, now });
  const unitCode = card && card.unit ? card.unit.code : (parseSticker(qr) || {}).unitCode;
  const what = requestedStatus ? `申请变更为${label(UNIT_STATUS, requestedStatus)}` : '巡检无变化';
  return queue.capture({ kind: 'status_report', body, photos, unitCode, label: `${unitCode} · ${what}` });
}

/** Queue a manager's on-site decision on a report (confirm, or reject with a reason). */
function submitDecision(queue, { report, qr, decision, reason = '', fix }) {
  if (decision === 'reject' && !String(reason).trim()) {
    throw new ApiError({ code: 'REASON_REQUIRED', status: -1 });
  }
  const sticker = parseSticker(qr);
  const body = { qr, decision, reason: String(reason).slice(0, 500), location: fix };
  if (report.id) body.report_id = report.id;
  else body.report_client_id = report.client_id;
  return queue.capture({ kind: 'confirmation', body, unitCode: sticker ? sticker.unitCode : '',
    label: `${sticker ? sticker.unitCode : ''} · ${decision === 'confirm' ? '确认' : '驳回'}上报 #${report.id || ''}` });
}

/** My open work orders (GET /work-orders?mine=true), most urgent first. */
async function myWorkOrders(api) {
  const page = await api.get('/api/v1/work-orders', { query: { mine: 'true', page_size: 100 } });
  return page.items.filter((o) => ['OPEN', 'ASSIGNED', 'IN_PROGRESS'].includes(o.status));
}

/** Start a work order: OPEN → ASSIGNED → IN_PROGRESS (the server checks who may). */
async function startWorkOrder(api, order) {
  let current = order;
  if (current.status === 'OPEN') {
    current = await api.post(`/api/v1/work-orders/${order.id}/transition`, { status: 'ASSIGNED', note: '领取工单' });
  }
  if (current.status === 'ASSIGNED') {
    current = await api.post(`/api/v1/work-orders/${order.id}/transition`, { status: 'IN_PROGRESS', note: '开始处理' });
  }
  return current;
}

/**
 * Complete a work order on site: the scanned sticker must be the order's unit; the evidence is an on-site
 * inspection (geofenced, with the photo) sent through the queue; then the order moves to DONE with a note that
 * names the inspection. The inspection is a "no change" visit. A cleaning order is completed through the
 * on-site cleaning-completion endpoint (sticker + fix checked again by the server), which also moves a
 * moved-out unit on (MOVE_OUT_PENDING → VACANT, or PENDING_DELIVERY when a signed lease waits); other orders
 * through /transition.
 */
async function completeWorkOrder({ api, queue, order, sticker, card, fix, photos, note = '' }) {
  if (!sticker) throw new ApiError({ code: 'NOT_A_STICKER', status: -1 });
  let sameUnit = order.unit_code ? sticker.unitCode === order.unit_code : null;
  if (sameUnit === null) {
    // The work-order list does not carry unit codes: ask the server which of my orders are on the scanned unit.
    const onUnit = await api.get('/api/v1/work-orders', { query: { unit_code: sticker.unitCode, page_size: 200 } });
    sameUnit = onUnit.items.some((o) => o.id === order.id);
  }
  if (!sameUnit) {
    throw new ApiError({ code: 'WRONG_UNIT', status: -1, details: { scanned: sticker.unitCode } });
  }
  if (!photos || !photos.length) throw new ApiError({ code: 'EVIDENCE_REQUIRED', status: -1 });
  const category = order.type === 'CLEANING' ? 'CLEANING_CHECK' : order.type === 'REPAIR' ? 'DAMAGE' : 'ROUTINE';
  const { item, sync } = await submitReport(queue, { card, qr: sticker.qr, requestedStatus: null, category,
    note: `工单 #${order.id} 完成${note ? `:${note}` : ''}`, fix, photos });
  const result = sync.results[item.client_id];
  if (!result || !['ACCEPTED', 'DUPLICATE', 'AWAITING_MEDIA', 'HELD_FOR_REVIEW'].includes(result)) {
    const refused = queue.list().find((i) => i.client_id === item.client_id);
    if (refused && refused.reason) {
      throw new ApiError({ code: refused.reason.code, status: 422, details: refused.reason.details });
    }
    // Offline: the inspection waits in the queue; the order is completed once it has been acknowledged.
    throw new ApiError({ code: 'NETWORK_ERROR', status: 0 });
  }
  const doneNote = `现场完成,巡检记录 ${item.client_id}${note ? `;${note}` : ''}`.slice(0, 400);
  if (order.type === 'CLEANING') {
    return api.post(`/api/v1/iot/cleaning/${order.id}/confirm`, { qr: sticker.qr, location: fix, note: doneNote });
  }
  return api.post(`/api/v1/work-orders/${order.id}/transition`, { status: 'DONE', note: doneNote });
}

/**
 * The on-site inspection of a deposit refund (the INSPECTED step's deliverable): a REFUND_INSPECTION report
 * with photos through the queue, then POST /refunds/{id}/inspect naming the report. Offline, the report waits
 * in the queue and the step is taken later.
 */
async function inspectRefund({ api, queue, refund, sticker, card, fix, photos, note = '' }) {
  if (!sticker || sticker.unitCode !== refund.unit_code) {
    throw new ApiError({ code: 'WRONG_UNIT', status: -1, details: { scanned: sticker && sticker.unitCode } });
  }
  if (!photos || !photos.length) throw new ApiError({ code: 'EVIDENCE_REQUIRED', status: -1 });
  const { item, sync } = await submitReport(queue, { card, qr: sticker.qr, requestedStatus: null,
    category: 'REFUND_INSPECTION', note: note || `退租查验 #${refund.id}`, fix, photos });
  const result = sync.results[item.client_id];
  const done = queue.recent().find((d) => d.client_id === item.client_id);
  if (!result || !done || !done.server || !done.server.report) {
    const refused = queue.list().find((i) => i.client_id === item.client_id && i.reason);
    if (refused) throw new ApiError({ code: refused.reason.code, status: 422, details: refused.reason.details });
    throw new ApiError({ code: 'NETWORK_ERROR', status: 0 });
  }
  return api.post(`/api/v1/refunds/${refund.id}/inspect`, { inspection_report_id: done.server.report.id,
    note: String(note).slice(0, 1000) });
}

/** Reports waiting for my on-site decision (managers), oldest deadline first. */
async function pendingConfirmations(api) {
  const states = ['PENDING_CONFIRMATION', 'HELD_FOR_REVIEW'];
  const pages = await Promise.all(states.map((state) => api.get('/api/v1/status-reports',
    { query: { state, page_size: 100 } })));
  const me = api.session() && api.session().user;
  return pages.reduce((all, p) => all.concat(p.items), [])
    .filter((r) => !me || r.author_id !== me.id)
    .sort((a, b) => String(a.confirm_deadline || '').localeCompare(String(b.confirm_deadline || '')));
}

/** Thumbnails of a report's photos as data: URLs (GET /photos/{id}/thumbnail needs the bearer token). */
async function photoThumbnails(api, photoIds, { limit = 3 } = {}) {
  const out = [];
  for (const id of (photoIds || []).slice(0, limit)) {
    try {
      // eslint-disable-next-line no-await-in-loop
      out.push((await api.image(`/api/v1/photos/${id}/thumbnail`, { contentType: 'image/jpeg' })).src);
    } catch (e) {
      if (!(e instanceof ApiError) || e.isNetwork) throw e; // a photo still on its way: skip it
    }
  }
  return out;
}

module.exports = {
  scanSticker, fetchCard, buildStatusReport, locate, submitReport, submitDecision, myWorkOrders, startWorkOrder,
  completeWorkOrder, inspectRefund, pendingConfirmations, photoThumbnails,
};
