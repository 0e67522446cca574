// format.js: how numbers, money, dates and codes read on the pages.

const eur = new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR' });
const whole = new Intl.NumberFormat('en-IE');

export function money(cents) {
  if (cents === null || cents === undefined) return '—';
  return eur.format(cents / 100);
}

export function count(n) {
  if (n === null || n === undefined) return '<5';
  return whole.format(n);
}

export function percent(p) {
  if (typeof p !== 'number') return '—';
  const v = p * 100;
  if (v > 99.99) return '>99.99 %';
  return `${v >= 99.95 || v < 0.05 ? v.toFixed(2) : v.toFixed(1)} %`;
}

export function unixDate(secs) {
  if (!secs) return '—';
  return new Date(secs * 1000).toISOString().slice(0, 16).replace('T', ' ');
}

// snake_case codes of the API as words: reintegration_business -> "reintegration business".
export function words(code) {
  if (code === null || code === undefined || code === '') return '—';
  return String(code).replace(/_/g, ' ');
}

const FUNDS = { amif: 'AMIF', ndici: 'NDICI', ipa3: 'IPA III', national: 'national', frontex: 'Frontex' };
export function fund(code) {
  return FUNDS[code] || words(code);
}

const PROGRAMMES = { eurp: 'EURP', national: 'national' };
export function programme(code) {
  return PROGRAMMES[code] || words(code);
}

// Parses an amount in euro as a person types it ("615", "615.50", "1,615.50",
// "615,50") into cents; null when empty, NaN when not a number.
export function parseEuroCents(text) {
  let s = String(text).trim().replace(/[€\s]/g, '');
  if (s === '') return null;
  if (/^\d{1,3}(\.\d{3})+(,\d{1,2})?$/.test(s)) s = s.replace(/\./g, '').replace(',', '.');
  else if (/^\d{1,3}(,\d{3})+(\.\d{1,2})?$/.test(s)) s = s.replace(/,/g, '');
  else s = s.replace(',', '.');
  if (!/^\d+(\.\d{1,2})?$/.test(s)) return NaN;
  const [eur, cents = ''] = s.split('.');
  return Number(eur) * 100 + Number((cents + '00').slice(0, 2));
}

// Builds an element: el('td', {class: 'num'}, 'text', child, ...).
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
