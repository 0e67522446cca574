// forms.js: forms whose fields name the API member they fill
// (data-field="identities[0].birth_date"), so that a request body is read
// straight off the form and an API error is shown next to the field its
// `error.field` names.

import { parseEuroCents } from './format.js';

function pathTokens(path) {
  const out = [];
  for (const part of path.split('.')) {
    const m = /^([^[\]]+)((?:\[\d+\])*)$/.exec(part);
    if (!m) throw new Error(`bad data-field ${path}`);
    out.push(m[1]);
    for (const idx of m[2].matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

function setPath(obj, path, value) {
  const t = pathTokens(path);
  let cur = obj;
  for (let i = 0; i < t.length - 1; i++) {
    if (cur[t[i]] === undefined) cur[t[i]] = typeof t[i + 1] === 'number' ? [] : {};
    cur = cur[t[i]];
  }
  cur[t[t.length - 1]] = value;
}

// Arrays with holes (a row left empty) close up; objects left empty go.
function compact(v) {
  if (Array.isArray(v)) return v.filter((x) => x !== undefined).map(compact);
  if (v && typeof v === 'object') {
    for (const k of Object.keys(v)) v[k] = compact(v[k]);
    return v;
  }
  return v;
}

export class FieldValueError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

// The request body the form's fields describe. Empty fields are left out;
// data-type says how a value is sent: int, cents (euro typed, cents sent),
// bool (a checkbox). A value that cannot be converted throws FieldValueError.
export function readForm(scope) {
  const body = {};
  for (const input of scope.querySelectorAll('[data-field]')) {
    if (input.disabled) continue;
    const field = input.dataset.field;
    const type = input.dataset.type || 'string';
    let value;
    if (type === 'bool') {
      value = input.checked;
    } else {
      const raw = input.value.trim();
      if (raw === '') continue;
      if (type === 'int') {
        if (!/^\d+$/.test(raw)) throw new FieldValueError(field, 'a whole number, please');
        value = Number(raw);
      } else if (type === 'cents') {
        value = parseEuroCents(raw);
        if (Number.isNaN(value)) throw new FieldValueError(field, 'an amount in euro, like 615 or 615.50');
      } else {
        value = raw;
      }
    }
    setPath(body, field, value);
  }
  return compact(body);
}

export function clearErrors(scope) {
  for (const p of scope.querySelectorAll('.field-error')) p.remove();
  for (const i of scope.querySelectorAll('[aria-invalid="true"]')) {
    i.removeAttribute('aria-invalid');
    const ids = (i.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && !id.endsWith('-err'));
    if (ids.length) i.setAttribute('aria-describedby', ids.join(' '));
    else i.removeAttribute('aria-describedby');
  }
  const box = scope.querySelector('.form-error');
  if (box) {
    box.textContent = '';
    box.hidden = true;
  }
}

// The input an API error names: the exact member, else the first field
// inside the member it names (e.g. "identities[1]"), else one the caller
// maps (fallback, e.g. the case id that is part of the URL).
function fieldFor(scope, field) {
  if (!field) return null;
  const all = [...scope.querySelectorAll('[data-field]')];
  return (
    all.find((i) => i.dataset.field === field) ||
    all.find((i) => i.dataset.field.startsWith(`${field}.`) || i.dataset.field.startsWith(`${field}[`)) ||
    null
  );
}

function markField(input, message) {
  const id = `${input.id}-err`;
  let p = document.getElementById(id);
  if (!p) {
    p = document.createElement('p');
    p.id = id;
    p.className = 'field-error';
    (input.closest('.field') || input.parentElement).append(p);
  }
  p.textContent = message;
  input.setAttribute('aria-invalid', 'true');
  const ids = new Set((input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean));
  ids.add(id);
  input.setAttribute('aria-describedby', [...ids].join(' '));
}

// Shows an error (ApiError or FieldValueError) in the form: beside its field
// when it names one, else in the form's .form-error box. Focuses the field.
export function showError(scope, err, { fallbackField = null } = {}) {
  clearErrors(scope);
  let input = fieldFor(scope, err.field);
  if (!input && fallbackField) input = scope.querySelector(`[data-field="${fallbackField}"], #${fallbackField}`);
  if (input) {
    markField(input, err.message);
    input.focus();
    return;
  }
  const box = scope.querySelector('.form-error');
  const where = err.field ? ` (${err.field})` : '';
  if (box) {
    box.textContent = `${err.message}${where}`;
    box.hidden = false;
  } else {
    alert(`${err.message}${where}`);
  }
}

// Field errors disappear as the person corrects the field.
export function clearOnInput(scope) {
  scope.addEventListener('input', (ev) => {
    const input = ev.target;
    if (input.getAttribute('aria-invalid') !== 'true') return;
    input.removeAttribute('aria-invalid');
    const p = document.getElementById(`${input.id}-err`);
    if (p) p.remove();
  });
}

// Disables the form's buttons while a request is out, so a double click
// does not send it twice.
export async function busy(scope, fn) {
  const buttons = [...scope.querySelectorAll('button')];
  const was = buttons.map((b) => b.disabled);
  buttons.forEach((b) => (b.disabled = true));
  scope.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    buttons.forEach((b, i) => (b.disabled = was[i]));
    scope.removeAttribute('aria-busy');
  }
}
