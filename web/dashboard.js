// dashboard.js: statistics from GET /v1/stats?by=... drawn as charts:
// returns by destination, assistance by kind and by fund, the monthly
// trend and the duplicates detected. For the statistician role, cells
// under 5 persons come back suppressed (null counts): they are shown as
// "<5" in the tables and left out of the charts, with a note saying so.

import { api } from './api.js';
import { makeChart, destroyCharts, COLOURS } from './charts.js';
import { el, money, count, words, fund } from './format.js';

const euros = (cents) => (cents === null || cents === undefined ? null : cents / 100);

const CARDS = [
  {
    by: 'destination',
    title: 'Returns by destination',
    label: (k) => k,
    draw: (rows) => bar(rows, [{ label: 'returns (cases)', key: 'cases' }], { top: 15 }),
  },
  {
    by: 'kind',
    title: 'Assistance by kind',
    label: words,
    draw: (rows) => bar(rows, [{ label: 'amount (EUR)', key: 'amount_cents', conv: euros, money: true }], { horizontal: true }),
  },
  {
    by: 'funding',
    title: 'Assistance by fund',
    label: fund,
    draw: (rows) => doughnut(rows, 'amount_cents', euros, true),
  },
  {
    by: 'month',
    title: 'Monthly trend',
    label: (k) => k,
    wide: true,
    draw: (rows) => trend(rows),
  },
];

export function setupDashboard() {
  document.getElementById('db-refresh').addEventListener('click', () => loadDashboard());
}

function moneyTick(v) {
  return new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR', notation: 'compact' }).format(v);
}

function bar(rows, series, { horizontal = false, top = 0 } = {}) {
  let shown = rows.filter((r) => !r.suppressed);
  const key = series[0].key;
  shown.sort((a, b) => (b[key] || 0) - (a[key] || 0));
  if (top) shown = shown.slice(0, top);
  const valueAxis = horizontal ? 'x' : 'y';
  return {
    type: 'bar',
    data: {
      labels: shown.map((r) => r.label),
      datasets: series.map((s, i) => ({
        label: s.label,
        data: shown.map((r) => (s.conv ? s.conv(r[s.key]) : r[s.key])),
        backgroundColor: COLOURS.series[i],
        maxBarThickness: 48,
      })),
    },
    options: {
      indexAxis: horizontal ? 'y' : 'x',
      plugins: {
        legend: { display: false },
        tooltip: series[0].money ? { callbacks: { label: (c) => money(Math.round(c.parsed[valueAxis] * 100)) } } : {},
      },
      scales: { [valueAxis]: { beginAtZero: true, ticks: series[0].money ? { callback: moneyTick } : { precision: 0 } } },
    },
  };
}

function doughnut(rows, key, conv, isMoney) {
  const shown = rows.filter((r) => !r.suppressed && r[key]);
  return {
    type: 'doughnut',
    data: {
      labels: shown.map((r) => r.label),
      datasets: [{ data: shown.map((r) => conv(r[key])), backgroundColor: COLOURS.series.slice(0, shown.length) }],
    },
    options: {
      plugins: {
        legend: { position: 'right' },
        tooltip: isMoney ? { callbacks: { label: (c) => `${c.label}: ${money(Math.round(c.parsed * 100))}` } } : {},
      },
    },
  };
}

// Months from the first to the last row, with the months in between that
// have no row filled in as zero (no return, no grant).
function monthsFilled(rows) {
  const byKey = new Map(rows.map((r) => [r.key, r]));
  const keys = rows.map((r) => String(r.key)).filter((k) => /^\d{4}-\d{2}$/.test(k)).sort();
  if (keys.length === 0) return rows;
  const out = [];
  let [y, m] = keys[0].split('-').map(Number);
  const last = keys[keys.length - 1];
  for (let guard = 0; guard < 600; guard++) {
    const k = `${y}-${String(m).padStart(2, '0')}`;
    out.push(byKey.get(k) || { key: k, label: k, persons: 0, cases: 0, assistance: 0, amount_cents: 0, suppressed: false });
    if (k === last) break;
    if (++m > 12) [y, m] = [y + 1, 1];
  }
  return out;
}

// Returns and grants as bars, the amount as a line on its own axis.
function trend(rows) {
  const shown = monthsFilled(rows);
  const val = (r, k) => (r.suppressed ? null : r[k]);
  return {
    type: 'bar',
    data: {
      labels: shown.map((r) => r.key),
      datasets: [
        { label: 'returns (cases)', data: shown.map((r) => val(r, 'cases')), backgroundColor: COLOURS.series[0], yAxisID: 'y', maxBarThickness: 28, order: 2 },
        { label: 'assistance grants', data: shown.map((r) => val(r, 'assistance')), backgroundColor: COLOURS.series[2], yAxisID: 'y', maxBarThickness: 28, order: 2 },
        { type: 'line', label: 'amount (EUR)', data: shown.map((r) => euros(val(r, 'amount_cents'))), borderColor: COLOURS.series[1], backgroundColor: COLOURS.series[1], yAxisID: 'eur', tension: 0.2, pointRadius: 3, order: 1 },
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      plugins: {
        legend: { position: 'top', labels: { boxWidth: 14, boxHeight: 10 } },
        tooltip: { callbacks: { label: (c) => (c.dataset.yAxisID === 'eur' ? `amount: ${money(Math.round(c.parsed.y * 100))}` : `${c.dataset.label}: ${c.parsed.y}`) } },
      },
      scales: {
        y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'count' } },
        eur: { beginAtZero: true, position: 'right', grid: { drawOnChartArea: false }, ticks: { callback: moneyTick }, title: { display: true, text: 'EUR' } },
      },
    },
  };
}

function dataTable(rows, labelHead) {
  return el(
    'details',
    { class: 'data-table' },
    el('summary', {}, 'Figures as a table'),
    el(
      'table',
      {},
      el('thead', {}, el('tr', {}, [labelHead, 'Persons', 'Cases', 'Assistance', 'Amount'].map((h) => el('th', { scope: 'col' }, h)))),
      el(
        'tbody',
        {},
        rows.map((r) =>
          el(
            'tr',
            { class: r.suppressed ? 'suppressed' : null },
            el('th', { scope: 'row' }, r.label),
            el('td', { class: 'num' }, count(r.persons)),
            el('td', { class: 'num' }, count(r.cases)),
            el('td', { class: 'num' }, count(r.assistance)),
            el('td', { class: 'num' }, r.suppressed ? '—' : money(r.amount_cents)),
          ),
        ),
      ),
    ),
  );
}

function card(spec, res) {
  const rows = (res.rows || []).map((r) => ({ ...r, label: spec.label(r.key) }));
  const suppressed = rows.filter((r) => r.suppressed).length;
  const canvas = el('canvas', { role: 'img', 'aria-label': `${spec.title}: chart; the figures are in the table below it` });
  const box = el(
    'section',
    { class: `card dash-card${spec.wide ? ' wide' : ''}`, 'data-by': spec.by, 'aria-labelledby': `db-${spec.by}-h` },
    el('h2', { id: `db-${spec.by}-h` }, spec.title),
    rows.length === 0 ? el('p', { class: 'note' }, 'No figures yet.') : el('div', { class: 'chart-box' }, canvas),
    suppressed ? el('p', { class: 'note' }, `${suppressed} cell${suppressed > 1 ? 's' : ''} with fewer than 5 persons suppressed.`) : null,
    dataTable(rows, spec.by === 'month' ? 'Month' : words(spec.by)),
  );
  return { box, draw: () => rows.length && makeChart(canvas, spec.draw(rows)) };
}

function duplicatesCard(dup) {
  const links = dup && typeof dup.links === 'number' ? dup.links : null;
  const red = dup && typeof dup.red === 'number' ? dup.red : null;
  const canvas = el('canvas', { role: 'img', 'aria-label': `Duplicates detected: ${count(links)} links, ${count(red)} red` });
  const box = el(
    'section',
    { class: 'card dash-card', 'data-by': 'duplicates', 'aria-labelledby': 'db-dup-h' },
    el('h2', { id: 'db-dup-h' }, 'Duplicates detected'),
    el(
      'dl',
      { class: 'tiles' },
      el('div', {}, el('dt', {}, 'links opened'), el('dd', {}, count(links))),
      el('div', {}, el('dt', {}, 'red: false identity'), el('dd', {}, count(red))),
      el('div', {}, el('dt', {}, 'amount involved'), el('dd', {}, money(dup ? dup.amount_cents : null))),
    ),
    links ? el('div', { class: 'chart-box small' }, canvas) : null,
  );
  const draw = () =>
    links &&
    makeChart(canvas, {
      type: 'doughnut',
      data: {
        labels: ['red (false identity)', 'other links'],
        datasets: [{ data: [red || 0, Math.max(0, links - (red || 0))], backgroundColor: [COLOURS.disagree, COLOURS.series[0]] }],
      },
      options: { plugins: { legend: { position: 'right' } } },
    });
  return { box, draw };
}

export async function loadDashboard() {
  const grid = document.getElementById('db-grid');
  const msg = document.getElementById('db-message');
  const panel = document.getElementById('panel-dashboard');
  destroyCharts(grid);
  msg.textContent = 'Loading…';
  panel.dataset.state = 'loading';
  let results;
  try {
    results = await Promise.all(CARDS.map((c) => api('GET', `/v1/stats?by=${c.by}`)));
  } catch (e) {
    grid.replaceChildren();
    if (e.status === 404) {
      panel.dataset.state = 'pending';
      msg.textContent = 'Statistics are not available on this server yet (GET /v1/stats answered 404).';
    } else {
      panel.dataset.state = 'error';
      msg.textContent = e.status === 403 ? `Your key's role may not read statistics: ${e.message}` : e.message;
    }
    return;
  }
  const parts = CARDS.map((spec, i) => card(spec, results[i]));
  parts.push(duplicatesCard(results.find((r) => r.duplicates)?.duplicates));
  grid.replaceChildren(...parts.map((p) => p.box));
  parts.forEach((p) => p.draw());
  msg.textContent = `Updated ${new Date().toLocaleTimeString('en-GB')}.`;
  panel.dataset.state = 'ready';
}
