// Small DOM helpers shared by the demo page's modules (app.js and its panels). No state.

/** Looks an element up by id; a missing one is a bug in the page, so it throws. */
export const byId = (id) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el;
};

export const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
export const dateTimeFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** Shows a refusal (its stable code, message and any Retry-After) in the error box `id`; `null` hides it. */
export function showError(id, err) {
  const el = byId(id);
  if (!err) {
    el.hidden = true;
    el.textContent = '';
    return;
  }
  el.replaceChildren(h('span', { class: 'code', 'data-testid': 'error-code' }, err.code || 'ERROR'), ' ', err.message,
    retryNote(err));
  el.dataset.code = err.code || '';
  if (err.retryAfterSeconds !== undefined) el.dataset.retryAfter = String(err.retryAfterSeconds);
  else delete el.dataset.retryAfter;
  el.hidden = false;
}

/** "Try again in 5 min." for an error whose answer carried Retry-After, else nothing. */
export function retryNote(err) {
  const s = err && err.retryAfterSeconds;
  if (s === undefined || s === null) return null;
  const text = s >= 90 ? `${Math.ceil(s / 60)} min` : `${s} s`;
  return h('span', { class: 'retry-after', 'data-testid': 'retry-after', 'data-seconds': String(s) }, ` Try again in ${text}.`);
}

/** Tiny element builder: h('li', { class: 'x', 'data-testid': 'y' }, 'text', child). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** Runs `fn` with `button` disabled and marked busy, so a double click cannot send twice. */
export async function busy(button, fn) {
  if (button) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
  }
  try {
    return await fn();
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }
}
