// app.js: the avrr web pages. Sign in with an API key, then four sections:
// check a person, register, the links queue, the dashboard. Plain ES
// modules served by `avrr serve --web-root web` under /app/; no build step.

import { api, getKey, setKey, clearKey, setUnauthorizedHandler } from './api.js';
import { showError, clearErrors, clearOnInput, busy } from './forms.js';
import { destroyCharts } from './charts.js';
import { setupCheck } from './check.js';
import { setupRegister } from './register.js';
import { setupLinks, loadLinks, refreshLinkCount } from './links.js';
import { setupDashboard, loadDashboard } from './dashboard.js';

const TABS = ['check', 'register', 'links', 'dashboard'];
const $ = (id) => document.getElementById(id);

function currentTab() {
  const t = location.hash.replace(/^#/, '');
  return TABS.includes(t) ? t : 'check';
}

function showSignedIn(on) {
  $('panel-signin').hidden = on;
  $('nav').hidden = !on;
  $('session').hidden = !on;
  if (!on) for (const t of TABS) $(`panel-${t}`).hidden = true;
}

function showTab(tab, { focus = false } = {}) {
  for (const t of TABS) {
    $(`panel-${t}`).hidden = t !== tab;
    const b = document.querySelector(`.tab[data-tab="${t}"]`);
    if (t === tab) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  document.title = `avrr · ${document.querySelector(`.tab[data-tab="${tab}"]`).firstChild.textContent.trim()}`;
  if (tab === 'links') loadLinks();
  if (tab === 'dashboard') loadDashboard();
  if (focus) {
    const first = $(`panel-${tab}`).querySelector('input, select');
    (tab === 'check' || tab === 'register') && first ? first.focus() : $('main').focus();
  }
}

function signedIn() {
  const key = getKey();
  $('who').textContent = `Signed in: key ${key.slice(0, 9)}…`;
  showSignedIn(true);
  showTab(currentTab(), { focus: true });
  refreshLinkCount();
}

function signOut(message) {
  clearKey();
  destroyCharts();
  for (const f of document.querySelectorAll('form')) {
    f.reset();
    clearErrors(f);
  }
  for (const r of document.querySelectorAll('.result, .alias-rows, #lk-list, #db-grid')) r.replaceChildren();
  $('check-results').replaceChildren(
    Object.assign(document.createElement('h2'), { id: 'results-h', textContent: 'Hits' }),
    Object.assign(document.createElement('p'), { className: 'note', textContent: 'No check yet.' }),
  );
  showSignedIn(false);
  const form = $('signin-form');
  if (message) showError(form, { field: null, message });
  $('signin-key').focus();
}

async function signIn(ev) {
  ev.preventDefault();
  const form = $('signin-form');
  clearErrors(form);
  const key = $('signin-key').value.trim();
  if (!key) return showError(form, { field: 'key', message: 'Enter your API key.' });
  await busy(form, async () => {
    try {
      // Any /v1 route tells whether the key is known; a role that may not
      // read links (403) still has a valid key.
      await api('GET', '/v1/links?status=yellow&limit=1', undefined, { key, quiet401: true });
    } catch (e) {
      if (e.status === 401) return showError(form, { field: 'key', message: 'This key is not accepted (unknown or revoked).' });
      if (e.status !== 403) return showError(form, e);
    }
    setKey(key);
    $('signin-key').value = '';
    signedIn();
  });
}

function init() {
  setUnauthorizedHandler(() => signOut('Your key is no longer accepted. Sign in again.'));
  clearOnInput($('signin-form'));
  $('signin-form').addEventListener('submit', signIn);
  $('signout').addEventListener('click', () => signOut());
  for (const b of document.querySelectorAll('.tab')) {
    b.addEventListener('click', () => {
      if (location.hash === `#${b.dataset.tab}`) showTab(b.dataset.tab, { focus: true });
      else location.hash = b.dataset.tab;
    });
  }
  window.addEventListener('hashchange', () => getKey() && showTab(currentTab(), { focus: true }));
  setupCheck(refreshLinkCount);
  setupRegister(refreshLinkCount);
  setupLinks();
  setupDashboard();
  if (getKey()) signedIn();
  else signOut();
}

init();
