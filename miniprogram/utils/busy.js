/**
 * The pages' one busy/error pattern: `busy` is on while a step runs (buttons disable on it), a failure shows as
 * `error` (its message, never a raw exception), and the fields in `clear` are emptied before the step. Every page
 * reloads on pull-down the same way: load, then stop WeChat's spinner.
 */
async function whileBusy(page, step, clear = {}) {
  page.setData({ busy: true, error: '', ...clear });
  try {
    return await step();
  } catch (e) {
    page.setData({ error: e.message });
    return undefined;
  } finally {
    page.setData({ busy: false });
  }
}

function refreshOnPull(page, wx) {
  return page.load().then(() => wx.stopPullDownRefresh());
}

module.exports = { whileBusy, refreshOnPull };
