/**
 * Tenant side of deposit refunds (refunds/*, api/routes/refunds.py): my refunds, the detail as a timeline
 * view, the move-out application, confirming receipt, and the progress QR.
 */

const { REFUND_STEP, DEDUCTION_CATEGORY, label, yuan, shortTime } = require('./labels');

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
      photos: (d.evidence || []).filter((e) => e.thumbnail).map((e) => e.thumbnail),
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
  publicProgress, progressViewOf,
};
