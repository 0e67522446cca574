// links.js: the Links queue, GET /v1/links?status=..., and the human
// decision on a yellow link, POST /v1/links/{id}/resolve.

import { api } from './api.js';
import { showError, clearErrors, clearOnInput, busy } from './forms.js';
import { el, percent, unixDate, words } from './format.js';

const DECISIONS = [
  ['white', 'same person, legitimately'],
  ['green', 'different persons'],
  ['red', 'same person under a false identity'],
];

let next = null;

export function setupLinks() {
  document.getElementById('lk-status').addEventListener('change', () => loadLinks());
  document.getElementById('lk-refresh').addEventListener('click', () => loadLinks());
  document.getElementById('lk-more').addEventListener('click', () => loadLinks({ more: true }));
}

// The number of yellow links, shown on the tab.
export async function refreshLinkCount() {
  const badge = document.getElementById('links-count');
  try {
    const page = await api('GET', '/v1/links?status=yellow&limit=1000');
    const n = page.items.length;
    badge.textContent = n >= 1000 ? '1000+' : String(n);
    badge.hidden = n === 0;
    badge.setAttribute('aria-label', `${badge.textContent} yellow`);
  } catch {
    badge.hidden = true;
  }
}

export async function loadLinks({ more = false } = {}) {
  const status = document.getElementById('lk-status').value;
  const list = document.getElementById('lk-list');
  const msg = document.getElementById('lk-message');
  const moreBtn = document.getElementById('lk-more');
  let url = `/v1/links?status=${status}&limit=50`;
  if (more && next !== null) url += `&after=${next}`;
  try {
    const page = await api('GET', url);
    next = page.next;
    moreBtn.hidden = next === null || next === undefined;
    if (!more) list.replaceChildren(table(status));
    const tbody = list.querySelector('tbody');
    for (const l of page.items) tbody.append(row(l));
    const n = tbody.children.length;
    msg.textContent = n === 0 ? `No ${status} links.` : `${n} ${status} link${n > 1 ? 's' : ''}${moreBtn.hidden ? '' : ' (more below)'}.`;
  } catch (e) {
    msg.textContent = e.message;
  }
}

function table(status) {
  const heads = ['Link', 'Found by', 'Probability', 'Your person', 'Other side', 'Opened', status === 'yellow' ? 'Decision' : 'Reason'];
  return el(
    'table',
    { class: 'links' },
    el('thead', {}, el('tr', {}, heads.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody'),
  );
}

function row(l) {
  const other = l.other || {};
  const tr = el(
    'tr',
    { 'data-link': l.id },
    el('th', { scope: 'row' }, el('span', { class: `swatch ${l.status}` }, `#${l.id}`)),
    el('td', {}, words(l.source), l.check_id ? ` (check #${l.check_id})` : ''),
    el('td', { class: 'num' }, percent(l.probability)),
    el('td', {}, l.person_id ? `#${l.person_id}` : '—'),
    el('td', {}, `${other.tenant || '—'} `, other.person_ref ? el('code', { title: other.person_ref }, `${other.person_ref.slice(0, 8)}…`) : ''),
    el('td', {}, unixDate(l.created_at)),
  );
  tr.append(l.status === 'yellow' ? decisionCell(l) : el('td', {}, l.reason || '—', l.resolved_by ? el('span', { class: 'sub' }, ` (${l.resolved_by}, ${unixDate(l.resolved_at)})`) : ''));
  return tr;
}

function decisionCell(l) {
  const id = `lk-${l.id}-reason`;
  const box = el(
    'div',
    { class: 'decide' },
    el(
      'div',
      { class: 'field inline' },
      el('label', { for: id, class: 'visually-hidden' }, `Reason for link ${l.id}`),
      el('input', { id, 'data-field': 'reason', placeholder: 'reason', maxlength: 500, autocomplete: 'off' }),
    ),
    DECISIONS.map(([d, meaning]) =>
      el('button', { type: 'button', class: `decision ${d}`, 'data-decision': d, 'aria-label': `${d}: ${meaning} (link ${l.id})`, title: meaning }, d),
    ),
    el('p', { class: 'form-error', role: 'alert', hidden: true }),
  );
  const cell = el('td', {}, box);
  clearOnInput(cell);
  for (const b of cell.querySelectorAll('button.decision')) {
    b.addEventListener('click', () => resolve(l, b.dataset.decision, cell));
  }
  cell.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && ev.target.matches('input')) ev.preventDefault();
  });
  return cell;
}

async function resolve(link, decision, cell) {
  clearErrors(cell);
  const reason = cell.querySelector('input').value.trim();
  await busy(cell, async () => {
    try {
      const l = await api('POST', `/v1/links/${link.id}/resolve`, { decision, reason });
      const tr = cell.closest('tr');
      const msg = document.getElementById('lk-message');
      msg.textContent = `Link #${l.id} resolved: ${l.status}.`;
      const nextRow = tr.nextElementSibling || tr.previousElementSibling;
      tr.remove();
      const focus = nextRow && nextRow.querySelector('input');
      if (focus) focus.focus();
      else document.getElementById('lk-refresh').focus();
      refreshLinkCount();
    } catch (e) {
      showError(cell, e);
    }
  });
}
