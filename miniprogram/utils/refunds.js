/**
 * Tenant side of deposit refunds (refunds/*, api/routes/refunds.py): my refunds, the detail as a timeline
 * view, the move-out application, confirming receipt, the progress QR, and opening the refund's documents
 * (repair quotes behind deductions, the bank receipt).
 */

const { REFUND_STEP, DEDUCTION_CATEGORY, DOCUMENT_KIND, label, yuan, shortTime, fileSize } = require('./labels');
const { ApiError } = require('./errors');
const { call } = require('./wxp');

const STEPS = ['APPLIED', 'INSPECTED', 'SETTLED', 'APPROVED', 'PAID', 'COMPLETED'];
const BASE = '/api/v1/me/deposit-refunds';

function listRefunds(api) {
  return api.get(BASE).then((page) => page.items || []);
}

function getRefund(api, id) {
  return api.get(`${BASE}/${id}`);
}

/** The move-out form (ApplyIn): lease_id, move_out_date (YYYY-MM-DD), reason, payee name/bank/account. */
function applyMoveOut(api, form) {
  const body = {
    lease_id: Number(form.lease_id),
    reason: String(form.reason || '').slice(0, 500),
    payee_name: String(form.payee_name || '').trim(),
    payee_bank: String(form.payee_bank || '').trim(),
    payee_account: String(form.payee_account || '').replace(/\s+/g, ''),
  };
  if (form.move_out_date) body.move_out_date = form.move_out_date;
  return api.post(BASE, body);
}

/** Withdraw the application (tenant, only while APPLIED; reason required). */
function withdraw(api, id, reason) {
  return api.post(`${BASE}/${id}/cancel`, { reason: String(reason || '').slice(0, 500) });
}

function confirmReceipt(api, id) {
  return api.post(`${BASE}/${id}/confirm-receipt`, {});
}

/** The progress QR: link and expiry (JSON) plus the PNG as a data: URL for <image>. */
async function progressQr(api, id) {
  const link = await api.get(`${BASE}/${id}/progress-qr`, { query: { format: 'json' } });
  const png = await api.image(`${BASE}/${id}/progress-qr`);
  return { url: link.url, expires_at: link.expires_at, expires_label: shortTime(link.expires_at), src: png.src };
}

/** Leases the tenant may move out of (GET /me/leases, live ones). */
async function movableLeases(api) {
  const data = await api.get('/api/v1/me/leases');
  return (data.items || []).filter((l) => ['SIGNED', 'ACTIVE'].includes(l.status));
}

/** PDF or image, from the answer's content type, else the file name (the server takes PDF, JPEG and PNG only). */
function documentType(contentType, filename) {
  const type = String(contentType || '').toLowerCase();
  if (type === 'application/pdf') return 'pdf';
  if (/^image\//.test(type)) return 'image';
  return /\.(jpe?g|png)$/i.test(String(filename || '')) ? 'image' : 'pdf';
}

/**
 * Download one document of my refund (GET /me/deposit-refunds/{id}/documents/{doc}) and show it: a PDF in
 * WeChat's document viewer (with the menu to forward or save it), an image in the image previewer.
 * `doc` is a document of viewOf(...).documents, or its id. Resolves {tempFilePath, contentType, type}.
 */
async function openDocument(api, refundId, doc, { wx: wxApi } = {}) {
  const target = doc && typeof doc === 'object' ? doc : { id: doc };
  const w = wxApi || api.wx;
  const file = await api.download(`${BASE}/${refundId}/documents/${target.id}`);
  const type = documentType(file.contentType, target.filename);
  try {
    if (type === 'image') await call(w, 'previewImage', { urls: [file.tempFilePath], current: file.tempFilePath });
    else await call(w, 'openDocument', { filePath: file.tempFilePath, fileType: 'pdf', showMenu: true });
  } catch (e) {
    throw new ApiError({ code: 'OPEN_DOCUMENT_FAILED', status: -1, serverMessage: (e && e.errMsg) || '' });
  }
  return { tempFilePath: file.tempFilePath, contentType: file.contentType, type };
}

/** The refund detail as the page shows it: six nodes with dates, expected date, amounts, deductions. */
function viewOf(refund) {
  const reached = {};
  let returned = null;
  (refund.timeline || []).forEach((event) => {
    if (event.action === 'RETURN') {
      STEPS.slice(STEPS.indexOf(event.step) + 1).forEach((s) => delete reached[s]);
      returned = { at: shortTime(event.at), reason: event.reason || '' };
    } else if (event.step && event.action !== 'ESCALATE') {
      reached[event.step] = shortTime(event.at);
    }
  });
  const currentIndex = STEPS.indexOf(refund.step);
  const nodes = STEPS.map((step, i) => ({
    step, label: label(REFUND_STEP, step), at: reached[step] || '',
    state: refund.step === 'CANCELLED' ? (reached[step] ? 'done' : 'off')
      : i < currentIndex || (i === currentIndex && step === 'COMPLETED') ? 'done' : i === currentIndex ? 'current' : 'todo',
  }));
  return {
    id: refund.id,
    unit: `${refund.unit_code || ''} ${refund.unit_name || ''}`.trim(),
    step: refund.step,
    step_label: refund.step_label || label(REFUND_STEP, refund.step),
    cancelled: refund.step === 'CANCELLED',
    cancel_reason: refund.cancel_reason || '',
    red_flag: Boolean(refund.red_flag),
    expected: refund.expected_completion ? String(refund.expected_completion).slice(0, 10) : '',
    nodes,
    returned,
    deposit: yuan(refund.deposit_fen),
    deductions_total: yuan(refund.deductions_fen),
    refund: yuan(refund.refund_fen),
    debt: refund.debt_fen ? yuan(refund.debt_fen) : '',
    payee_account: refund.payee_account || '',
    can_confirm: refund.step === 'PAID',
    can_withdraw: refund.step === 'APPLIED',
    deductions: (refund.deductions || []).map((d) => ({
      id: d.id, category: label(DEDUCTION_CATEGORY, d.category), amount: yuan(d.amount_fen),
      description: d.description || '', has_quote: Boolean(d.has_quote),
      quote_document_id: d.quote_document_id || null,
      photos: (d.evidence || []).filter((e) => e.thumbnail).map((e) => e.thumbnail),
    })),
    documents: (refund.documents || []).map((doc) => ({
      id: doc.id, kind: doc.kind, kind_label: label(DOCUMENT_KIND, doc.kind), filename: doc.filename || '',
      size: fileSize(doc.size_bytes),
    })),
  };
}

/** The public progress behind a progress QR (no login): GET /refund-progress/{token}. */
function publicProgress(api, token) {
  return api.get(`/api/v1/refund-progress/${encodeURIComponent(token)}`, { auth: false });
}

/** The public progress as the page shows it: step label, six nodes with dates, expected completion. */
function progressViewOf(progress) {
  const currentIndex = STEPS.indexOf(progress.step);
  return {
    step_label: progress.step_label || label(REFUND_STEP, progress.step),
    cancelled: Boolean(progress.cancelled),
    applied_on: progress.applied_on || '',
    expected: progress.expected_completion ? String(progress.expected_completion).slice(0, 10) : '',
    nodes: (progress.steps || []).map((s, i) => ({
      step: s.step, label: s.label || label(REFUND_STEP, s.step), at: s.date || '',
      state: progress.cancelled ? (s.date ? 'done' : 'off')
        : i < currentIndex || (i === currentIndex && s.step === 'COMPLETED') ? 'done'
          : i === currentIndex ? 'current' : 'todo',
    })),
  };
}

module.exports = {
  STEPS, listRefunds, getRefund, applyMoveOut, confirmReceipt, withdraw, progressQr, movableLeases, viewOf,
  publicProgress, progressViewOf, openDocument, documentType,
};
