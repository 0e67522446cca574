// check.js: "Check a person": POST /v1/checks and the hits.

import { api } from './api.js';
import { readForm, showError, clearErrors, clearOnInput, busy, FieldValueError } from './forms.js';
import { setupAliases } from './aliases.js';
import { hitCard } from './hits.js';
import { destroyCharts } from './charts.js';
import { el } from './format.js';

export function setupCheck(onLinksChanged) {
  const form = document.getElementById('check-form');
  const results = document.getElementById('check-results');
  setupAliases(form);
  clearOnInput(form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    let body;
    try {
      body = readForm(form);
    } catch (e) {
      if (e instanceof FieldValueError) return showError(form, e);
      throw e;
    }
    if (!body.identity) body.identity = {};
    await busy(form, async () => {
      try {
        const res = await api('POST', '/v1/checks', body);
        render(results, res);
        if ((res.hits || []).some((h) => h.link && h.link.status === 'yellow')) onLinksChanged();
      } catch (e) {
        showError(form, e);
      }
    });
  });
}

function render(results, res) {
  destroyCharts(results);
  const hits = res.hits || [];
  const heading = el('h2', { id: 'results-h', tabindex: '-1' }, hits.length === 0 ? 'No hit' : `${hits.length} hit${hits.length > 1 ? 's' : ''}`, el('span', { class: 'sub' }, ` check #${res.id}`));
  results.replaceChildren(heading);
  if (hits.length === 0) {
    results.append(el('p', { class: 'note' }, 'No record in the registry resembles these details.'));
  }
  const draws = [];
  for (const hit of hits) {
    const { card, draw } = hitCard(hit);
    results.append(card);
    draws.push(draw);
  }
  draws.forEach((d) => d());
  heading.focus();
}
