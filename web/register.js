// register.js: the three "Register" forms: a person (identity and aliases,
// POST /v1/persons), a return case (POST /v1/cases) and assistance on a case
// (POST /v1/cases/{id}/assistance), whose warnings are shown prominently.

import { api } from './api.js';
import { readForm, showError, clearErrors, clearOnInput, busy, FieldValueError } from './forms.js';
import { setupAliases, clearAliases } from './aliases.js';
import { el, money, percent, words } from './format.js';
import { assistanceTable } from './hits.js';

function submitter(form, handler) {
  clearOnInput(form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const out = form.querySelector('.result');
    let body;
    try {
      body = readForm(form);
    } catch (e) {
      if (e instanceof FieldValueError) return showError(form, e);
      throw e;
    }
    await busy(form, async () => {
      try {
        await handler(body, out);
      } catch (e) {
        out.replaceChildren();
        showError(form, e, { fallbackField: e.status === 404 ? form.dataset.notFoundField : null });
      }
    });
  });
}

function done(out, ...content) {
  out.replaceChildren(el('div', { class: 'ok', tabindex: '-1' }, ...content));
  out.firstChild.focus();
}

export function setupRegister(onLinksChanged) {
  const personForm = document.getElementById('person-form');
  const caseForm = document.getElementById('case-form');
  const assistForm = document.getElementById('assistance-form');
  setupAliases(personForm);

  submitter(personForm, async (body, out) => {
    for (const id of body.identities || []) {
      if (id.documents && !(id.documents[0] && id.documents[0].number)) delete id.documents;
    }
    const p = await api('POST', '/v1/persons', body);
    document.getElementById('cf-person').value = p.id;
    const next = el('button', { type: 'button', text: 'Open a case for this person' });
    next.addEventListener('click', () => document.getElementById('cf-person').focus());
    done(out, el('p', {}, `Registered person #${p.id} (${p.tenant}) with ${p.identities.length} identit${p.identities.length === 1 ? 'y' : 'ies'}.`), next);
    personForm.reset();
    clearAliases(personForm);
    onLinksChanged();
  });

  caseForm.dataset.notFoundField = 'person_id';
  submitter(caseForm, async (body, out) => {
    const c = await api('POST', '/v1/cases', body);
    document.getElementById('af-case').value = c.id;
    const next = el('button', { type: 'button', text: 'Record assistance on this case' });
    next.addEventListener('click', () => document.getElementById('af-case').focus());
    done(out, el('p', {}, `Opened case #${c.id} for person #${c.person_id}: ${words(c.return_type)} return to ${c.destination_country}, ${words(c.status)}.`), next);
  });

  assistForm.dataset.notFoundField = 'af-case';
  submitter(assistForm, async (body, out) => {
    const caseInput = document.getElementById('af-case');
    const caseId = caseInput.value.trim();
    if (!/^\d+$/.test(caseId)) {
      const err = new Error('the case id, a whole number, please');
      err.field = null;
      showError(assistForm, err, { fallbackField: 'af-case' });
      return;
    }
    const a = await api('POST', `/v1/cases/${caseId}/assistance`, body);
    const warnings = a.warnings || [];
    const parts = [el('p', {}, `Recorded ${words(a.kind)} of ${money(a.amount_cents)} on case #${a.case_id} (assistance #${a.id}).`)];
    if (warnings.length) parts.unshift(warningBox(warnings));
    done(out, ...parts);
    if (warnings.length) onLinksChanged();
  });
}

// The double-support guard's warnings: strong hits on other states' records
// whose person received assistance recently. They do not refuse anything.
function warningBox(warnings) {
  return el(
    'div',
    { class: 'warning', role: 'alert' },
    el('h3', {}, `Warning: ${warnings.length} possible earlier support${warnings.length > 1 ? 's' : ''}`),
    el('p', {}, 'This person strongly resembles a person who received support in another state recently. The grant is recorded; verify the yellow link in the Links tab.'),
    el(
      'ul',
      {},
      warnings.map((w) =>
        el(
          'li',
          {},
          el('strong', {}, w.tenant),
          ` ${words(w.band)} match, ${percent(w.probability)}`,
          w.link ? ` · ${w.link.status} link #${w.link.id}` : '',
          w.red_link ? ' · RED LINK (false identity)' : '',
          assistanceTable(w.assistance),
        ),
      ),
    ),
  );
}
