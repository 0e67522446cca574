// aliases.js: the "Add an alias" rows of a form. Each row is a further
// identity (given names, surname, birth date) whose fields name their API
// member, e.g. aliases[0].surname on a check, identities[1].surname on a
// registration; rows are renumbered when one is removed.

import { el } from './format.js';

function renumber(fieldset) {
  const prefix = fieldset.dataset.prefix;
  const start = Number(fieldset.dataset.start || 0);
  const form = fieldset.closest('form');
  [...fieldset.querySelectorAll('.alias-row')].forEach((row, i) => {
    row.querySelector('.alias-n').textContent = `Alias ${i + 1}`;
    for (const input of row.querySelectorAll('[data-member]')) {
      const m = input.dataset.member;
      input.dataset.field = `${prefix}[${start + i}].${m}`;
      const id = `${form.id}-alias${i}-${m}`;
      const label = row.querySelector(`label[data-for-member="${m}"]`);
      input.id = id;
      label.htmlFor = id;
      label.querySelector('.visually-hidden').textContent = `Alias ${i + 1}: `;
    }
    row.querySelector('.remove').setAttribute('aria-label', `Remove alias ${i + 1}`);
  });
}

function addRow(fieldset) {
  const rows = fieldset.querySelector('.alias-rows');
  const member = (m, text, attrs = {}) =>
    el('div', { class: 'field' }, el('label', { 'data-for-member': m }, el('span', { class: 'visually-hidden' }), text), el('input', { 'data-member': m, autocomplete: 'off', ...attrs }));
  const row = el(
    'div',
    { class: 'alias-row' },
    el('div', { class: 'alias-head' }, el('span', { class: 'alias-n' }), el('button', { type: 'button', class: 'remove', text: 'Remove' })),
    member('given_names', 'Given names'),
    member('surname', 'Surname'),
    member('birth_date', 'Birth date', { placeholder: 'YYYY-MM-DD' }),
  );
  row.querySelector('.remove').addEventListener('click', () => {
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    renumber(fieldset);
    (next ? next.querySelector('input') : fieldset.querySelector('.add-alias')).focus();
  });
  rows.append(row);
  renumber(fieldset);
  row.querySelector('input').focus();
}

export function setupAliases(form) {
  for (const fs of form.querySelectorAll('fieldset.aliases')) {
    fs.querySelector('.add-alias').addEventListener('click', () => addRow(fs));
  }
}

export function clearAliases(form) {
  for (const rows of form.querySelectorAll('.alias-rows')) rows.replaceChildren();
}
