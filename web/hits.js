// hits.js: one hit of a check (or a warning when assistance is recorded):
// owner, band, probability, link, the assistance already given and the
// per-field explanation as a chart.

import { el, money, percent, words, fund, programme } from './format.js';
import { explanationChart, fieldName } from './charts.js';

export function assistanceTable(items) {
  if (!items || items.length === 0) return el('p', { class: 'note' }, 'No assistance recorded.');
  const total = items.filter((a) => a.status !== 'cancelled').reduce((s, a) => s + (a.amount_cents || 0), 0);
  return el(
    'table',
    { class: 'assist' },
    el('caption', {}, `Assistance given: ${money(total)}`),
    el('thead', {}, el('tr', {}, ['Kind', 'Date', 'Amount', 'Programme', 'Fund', 'Status'].map((h) => el('th', { scope: 'col' }, h)))),
    el(
      'tbody',
      {},
      items.map((a) =>
        el(
          'tr',
          { class: a.status === 'cancelled' ? 'cancelled' : null },
          el('td', {}, words(a.kind)),
          el('td', { class: 'date' }, a.delivered_on || a.granted_on || '—'),
          el('td', { class: 'num' }, money(a.amount_cents), a.cash ? el('span', { class: 'tag' }, 'cash') : null),
          el('td', {}, programme(a.programme)),
          el('td', {}, fund(a.funding)),
          el('td', {}, words(a.status)),
        ),
      ),
    ),
  );
}

let seq = 0;

// A comparison level as words; "null" means a side lacks the field.
export function level(code) {
  return code === 'null' || code === null ? 'not compared (missing)' : words(code);
}

export function hitCard(hit) {
  const n = ++seq;
  const head = el(
    'header',
    { class: 'hit-head' },
    el('h3', { id: `hit-${n}-h` }, `${hit.tenant}`, el('span', { class: 'ref', title: 'pseudonym of the person, stable for your state' }, hit.person_id ? ` person #${hit.person_id}` : ` ${String(hit.person_ref || '').slice(0, 8)}…`)),
    el('span', { class: `band band-${hit.band}` }, hit.band || '—'),
    el('span', { class: 'prob', title: 'match probability' }, percent(hit.probability)),
    hit.link ? el('span', { class: `swatch ${hit.link.status}` }, `${hit.link.status} link #${hit.link.id}`) : null,
    hit.red_link ? el('strong', { class: 'red-flag' }, 'Red link: false identity confirmed') : null,
  );
  const card = el('article', { class: `hit band-${hit.band}`, 'aria-labelledby': `hit-${n}-h`, 'data-tenant': hit.tenant }, head);
  if (hit.restricted) {
    card.append(el('p', { class: 'note' }, hit.message || 'The owner restricted processing of this record: contact the owner.'));
    return { card, draw: () => {} };
  }
  const fields = (hit.explanation && hit.explanation.fields) || {};
  const keys = Object.keys(fields);
  const canvas = el('canvas', {
    class: 'explain-chart',
    role: 'img',
    'aria-label': `Match explanation: ${keys.map((k) => `${fieldName(k)} ${level(fields[k].level)} ${Number(fields[k].weight).toFixed(1)} bits`).join('; ')}`,
  });
  const weight = hit.explanation && typeof hit.explanation.weight === 'number' ? hit.explanation.weight.toFixed(1) : '—';
  const table = el(
    'details',
    { class: 'explain-table' },
    el('summary', {}, 'Field weights as a table'),
    el(
      'table',
      {},
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Field'), el('th', { scope: 'col' }, 'Comparison'), el('th', { scope: 'col' }, 'Weight (bits)'))),
      el('tbody', {}, keys.map((k) => el('tr', {}, el('th', { scope: 'row' }, fieldName(k)), el('td', {}, level(fields[k].level)), el('td', { class: 'num' }, Number(fields[k].weight).toFixed(2))))),
    ),
  );
  card.append(
    el(
      'div',
      { class: 'hit-body' },
      el('div', { class: 'hit-assist' }, assistanceTable(hit.assistance)),
      el(
        'figure',
        { class: 'hit-explain' },
        el('figcaption', {}, `Why it matches: total weight ${weight} bits `, el('span', { class: 'key-agree' }, 'agrees'), ' ', el('span', { class: 'key-disagree' }, 'disagrees')),
        el('div', { class: 'chart-box', style: null }, canvas),
        table,
      ),
    ),
  );
  // The canvas must be in the document before Chart.js sizes it.
  return { card, draw: () => explanationChart(canvas, fields) };
}
