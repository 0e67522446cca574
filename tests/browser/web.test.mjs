// web.test.mjs: the web pages in Debian's chromium, driven by playwright-core.
// Started by run.sh, which provides a fresh server (AVRR_BASE) and keys for
// a caseworker of NL and of BE (NL_KEY, BE_KEY) and a BE statistician
// (STAT_KEY, may be empty). Prints "ok"/"not ok" per step, then the closing
// line "browser: N passed, N failed[, N skipped]"; exits 1 on any failure.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const BASE = process.env.AVRR_BASE;
const { NL_KEY, BE_KEY, STAT_KEY } = process.env;
const ARTIFACTS = process.env.ARTIFACTS || 'artifacts';
const PROFILE = process.env.PROFILE_DIR || fs.mkdtempSync('/tmp/avrr-chromium-');
const TIMEOUT = 15000;

let passed = 0;
let failed = 0;
let skipped = 0;

async function step(name, fn) {
  try {
    const note = await fn();
    if (note && note.skip) {
      skipped++;
      console.log(`skip - ${name}: ${note.skip}`);
    } else {
      passed++;
      console.log(`ok - ${name}`);
    }
    return true;
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}\n  ${String(e && e.stack ? e.stack : e).split('\n').slice(0, 6).join('\n  ')}`);
    await shot(`FAILED-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`).catch(() => {});
    return false;
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

async function apiCall(key, method, url, body) {
  const resp = await fetch(BASE + url, {
    method,
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  return { status: resp.status, data };
}

async function apiOk(key, method, url, body) {
  const r = await apiCall(key, method, url, body);
  if (r.status < 200 || r.status > 299) throw new Error(`${method} ${url}: ${r.status} ${JSON.stringify(r.data)}`);
  return r.data;
}

// --- the browser -----------------------------------------------------------
fs.mkdirSync(ARTIFACTS, { recursive: true });
for (const f of fs.readdirSync(ARTIFACTS)) if (f.endsWith('.png')) fs.rmSync(path.join(ARTIFACTS, f));

const context = await chromium.launchPersistentContext(PROFILE, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1366, height: 768 },
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const page = context.pages()[0] || (await context.newPage());
page.setDefaultTimeout(TIMEOUT);

// The pages must work under "default-src 'self'" (no inline script or
// style): where the server sends no policy, the test adds that one.
await page.route(/\/($|app\/)/, async (route) => {
  const resp = await route.fetch();
  const headers = resp.headers();
  if (!headers['content-security-policy']) headers['content-security-policy'] = "default-src 'self'";
  await route.fulfill({ response: resp, headers });
});

const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
page.on('console', (m) => {
  const t = m.text();
  if (/Content Security Policy|Refused to/i.test(t)) pageErrors.push(`csp: ${t}`);
  else if (m.type() === 'error' && !/Failed to load resource/.test(t)) pageErrors.push(`console: ${t}`);
});

async function shot(name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: false });
}

// Waits until the canvas holds a Chart.js chart with data and has painted
// pixels; returns the number of painted pixels.
async function chartPainted(locator) {
  const handle = await locator.elementHandle();
  await page.waitForFunction(
    (c) => {
      const chart = window.Chart && window.Chart.getChart(c);
      if (!chart || chart.animating) return false;
      const values = chart.data.datasets.flatMap((d) => d.data).filter((v) => typeof v === 'number' && v !== 0);
      if (values.length === 0) return false;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
      return n > 200;
    },
    handle,
    { timeout: TIMEOUT },
  );
  return page.evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
    return n;
  }, handle);
}

// --- the data: NL registers Youssef El Amrani with assistance --------------
let nlPerson;
await step('NL registers a person, a case and assistance through the API', async () => {
  nlPerson = await apiOk(NL_KEY, 'POST', '/v1/persons', {
    identities: [
      { given_names: 'Youssef', surname: 'El Amrani', sex: 'm', birth_date: '1990-03-14', nationality: 'MA',
        documents: [{ type: 'passport', number: 'UZ4411720', country: 'MAR' }] },
    ],
  });
  const c = await apiOk(NL_KEY, 'POST', '/v1/cases', { person_id: nlPerson.id, destination_country: 'MAR', return_type: 'voluntary', programme: 'national' });
  await apiOk(NL_KEY, 'POST', `/v1/cases/${c.id}/assistance`, { kind: 'post_arrival', amount_cents: 61500, cash: true, provider: 'DT&V', funding: 'amif' });
  await apiOk(NL_KEY, 'POST', `/v1/cases/${c.id}/assistance`, { kind: 'reintegration_business', amount_cents: 200000, provider: 'IOM', funding: 'amif' });
  // Six more returnees to Morocco, so that the statistician's cells reach
  // 5 persons and are not suppressed.
  const others = [['Fatima', 'Benali', '1985-07-02', 'f'], ['Karim', 'Ouazzani', '1979-11-23', 'm'], ['Nadia', 'Tazi', '1993-01-30', 'f'],
    ['Rachid', 'Bennis', '1988-05-17', 'm'], ['Samira', 'Alaoui', '1996-09-09', 'f'], ['Hamza', 'Berrada', '2001-12-04', 'm']];
  for (const [given, surname, birth, sex] of others) {
    const p = await apiOk(NL_KEY, 'POST', '/v1/persons', { identities: [{ given_names: given, surname, birth_date: birth, sex, nationality: 'MA' }] });
    const oc = await apiOk(NL_KEY, 'POST', '/v1/cases', { person_id: p.id, destination_country: 'MAR', return_type: 'voluntary', programme: 'national' });
    await apiOk(NL_KEY, 'POST', `/v1/cases/${oc.id}/assistance`, { kind: 'post_arrival', amount_cents: 61500, cash: true, funding: 'amif' });
  }
});

// --- sign in ----------------------------------------------------------------
await step('the sign-in page loads with its own files only', async () => {
  const resp = await page.goto(`${BASE}/`);
  assert(resp.status() === 200, `GET / answered ${resp.status()}`);
  await page.locator('#signin-key').waitFor();
  assert(await page.evaluate(() => typeof window.Chart === 'function'), 'Chart.js loaded from /app/vendor/');
  assert((await page.locator('label[for="signin-key"]').count()) === 1, 'the key field has a label');
  await shot('01-signin');
});

await step('a wrong key is refused next to the key field', async () => {
  await page.fill('#signin-key', 'avrr_not-a-key');
  await page.click('#signin-form button[type=submit]');
  await page.locator('#signin-key-err').waitFor();
  assert(/not accepted/.test(await page.locator('#signin-key-err').textContent()), 'message names the key');
  assert((await page.getAttribute('#signin-key', 'aria-invalid')) === 'true', 'field marked invalid');
});

await step('BE caseworker signs in with the keyboard; the key stays in sessionStorage only', async () => {
  await page.fill('#signin-key', BE_KEY);
  await page.focus('#signin-key');
  await page.keyboard.press('Enter');
  await page.locator('#nav').waitFor({ state: 'visible' });
  await page.locator('#panel-check').waitFor({ state: 'visible' });
  const stored = await page.evaluate(() => ({ s: sessionStorage.getItem('avrr.key'), l: localStorage.length, c: document.cookie }));
  assert(stored.s === BE_KEY, 'key in sessionStorage');
  assert(stored.l === 0 && stored.c === '', 'nothing in localStorage or cookies');
  // every field of every form has its label
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select')].filter((i) => i.type !== 'hidden' && !(i.labels && i.labels.length)).map((i) => i.id || i.outerHTML),
  );
  assert(unlabelled.length === 0, `fields without a label: ${unlabelled.join(', ')}`);
});

// --- check a person -------------------------------------------------------
await step('an invalid birth date is shown next to its field', async () => {
  await page.fill('#ck-given', 'Joessef');
  await page.fill('#ck-surname', 'Elamrani');
  await page.fill('#ck-birth', '1990-13');
  await page.click('#check-form button[type=submit]');
  await page.locator('#ck-birth-err').waitFor();
  const msg = await page.locator('#ck-birth-err').textContent();
  assert(/month 13/.test(msg), `message: ${msg}`);
  assert(await page.evaluate(() => document.activeElement.id === 'ck-birth'), 'focus moved to the field');
  await shot('02-check-field-error');
});

let linkId;
await step('BE checks "Joessef Elamrani 1990" and finds the NL person with its explanation chart', async () => {
  await page.fill('#ck-birth', '1990');
  await page.selectOption('#ck-sex', 'm');
  await page.click('#check-form .add-alias');
  const aliasGiven = page.locator('#check-form .alias-row input[data-member="given_names"]').first();
  assert(await aliasGiven.evaluate((i) => document.activeElement === i), 'focus in the new alias row');
  await aliasGiven.fill('Yusuf');
  await page.locator('#check-form .alias-row input[data-member="surname"]').first().fill('Amrani');
  await page.click('#check-form button[type=submit]');
  const hit = page.locator('article.hit[data-tenant="NL"]').first();
  await hit.waitFor();
  const text = await hit.textContent();
  assert(/strong|possible/i.test(text), 'band shown');
  assert(/%/.test(text), 'probability shown');
  assert(text.includes('€615.00') && text.includes('€2,000.00'), `assistance amounts shown: ${text}`);
  assert(/AMIF/.test(text) && /post arrival/.test(text), 'fund and kind shown');
  assert(!/Youssef|El Amrani|UZ4411720/.test(text), "no personal details of NL's record");
  const m = /yellow link #(\d+)/.exec(text);
  assert(m, 'the hit names its yellow link');
  linkId = Number(m[1]);
  const painted = await chartPainted(hit.locator('canvas.explain-chart'));
  assert(painted > 200, `explanation chart painted (${painted} px)`);
  const colours = await hit.locator('canvas.explain-chart').evaluate((c) => window.Chart.getChart(c).data.datasets[0].backgroundColor);
  assert(colours.includes('#2e7d32'), 'agreeing fields are green');
  await page.waitForTimeout(100);
  await shot('03-check-hit');
});

// --- register ---------------------------------------------------------------
await step('BE registers a person, a case and assistance in the browser; the warning shows', async () => {
  await page.click('.tab[data-tab="register"]');
  await page.locator('#panel-register').waitFor({ state: 'visible' });
  await page.fill('#pf-given', 'Yusuf');
  await page.fill('#pf-surname', 'El-Amrani');
  await page.fill('#pf-birth', '1990-03-14');
  await page.selectOption('#pf-sex', 'm');
  await page.fill('#pf-nat', 'MAR');
  await page.click('#person-form .add-alias');
  await page.locator('#person-form .alias-row input[data-member="given_names"]').first().fill('Joessef');
  await page.locator('#person-form .alias-row input[data-member="surname"]').first().fill('Elamrani');
  await page.click('#person-form button[type=submit]');
  await page.locator('#person-form .ok').waitFor();
  assert(/Registered person #\d+ \(BE\) with 2 identities/.test(await page.locator('#person-form .ok').textContent()), 'person registered');
  assert((await page.inputValue('#cf-person')) !== '', 'person id carried to the case form');
  await page.fill('#cf-dest', 'MA');
  await page.click('#case-form button[type=submit]');
  await page.locator('#case-form .ok').waitFor();
  assert((await page.inputValue('#af-case')) !== '', 'case id carried to the assistance form');
  await page.fill('#af-amount', '1,2x');
  await page.click('#assistance-form button[type=submit]');
  await page.locator('#af-amount-err').waitFor();
  await page.fill('#af-amount', '615');
  await page.check('#af-cash');
  await page.click('#assistance-form button[type=submit]');
  await page.locator('#assistance-form .ok').waitFor();
  const ok = await page.locator('#assistance-form .ok').textContent();
  assert(/€615\.00/.test(ok), `assistance recorded: ${ok}`);
  const warning = page.locator('#assistance-form .warning[role="alert"]');
  assert(await warning.isVisible(), 'the double-support warning is shown');
  assert(/NL/.test(await warning.textContent()), 'the warning names NL');
  await shot('04-register-warning');
});

// --- links --------------------------------------------------------------------
await step('the yellow link of the check is resolved in the Links tab', async () => {
  assert(linkId, 'a link id from the check');
  await page.click('.tab[data-tab="links"]');
  const row = page.locator(`tr[data-link="${linkId}"]`);
  await row.waitFor();
  await shot('05-links');
  // a decision needs a reason: the API's error shows beside the reason field
  await row.locator('button[data-decision="white"]').click();
  await row.locator('.field-error').waitFor();
  assert(/reason/.test(await row.locator('.field-error').textContent()), 'reason error shown');
  await row.locator('input').fill('Same passport seen by both states; assistance coordinated with NL');
  await row.locator('button[data-decision="white"]').click();
  await row.waitFor({ state: 'detached' });
  assert(/resolved: white/.test(await page.locator('#lk-message').textContent()), 'confirmation shown');
  const l = await apiOk(BE_KEY, 'GET', `/v1/links/${linkId}`);
  assert(l.status === 'white', `link is ${l.status} on the server`);
  await shot('06-links-resolved');
});

// --- dashboard ---------------------------------------------------------------
// Opens the Dashboard tab with the signed-in key; unless /v1/stats is
// still missing (404: "pending") or refused to this role (403), every
// chart must hold data and be painted.
async function dashboard(key, shotName) {
  const probe = await apiCall(key, 'GET', '/v1/stats?by=destination');
  await page.click('.tab[data-tab="dashboard"]');
  await page.waitForFunction(() => ['ready', 'error', 'pending'].includes(document.getElementById('panel-dashboard').dataset.state));
  const state = await page.getAttribute('#panel-dashboard', 'data-state');
  if (probe.status === 404) {
    assert(state === 'pending', `the page says statistics are not available (${state})`);
    await shot(`${shotName}-pending`);
    console.log('pending: /v1/stats (the server answers 404; this step runs once the endpoint exists)');
    return { skip: 'pending: /v1/stats' };
  }
  if (probe.status === 403) {
    assert(state === 'error', `the page says the role may not (${state})`);
    return { skip: `this role may not read /v1/stats (403: ${probe.data && probe.data.error && probe.data.error.message})` };
  }
  assert(probe.status === 200, `GET /v1/stats answered ${probe.status}`);
  assert(state === 'ready', `dashboard state ${state}: ${await page.locator('#db-message').textContent()}`);
  for (const by of ['destination', 'kind', 'funding', 'month']) {
    const canvas = page.locator(`.dash-card[data-by="${by}"] canvas`);
    assert((await canvas.count()) === 1, `a chart for ${by}`);
    const px = await chartPainted(canvas);
    assert(px > 200, `${by} chart painted`);
  }
  assert((await page.locator('.dash-card[data-by="duplicates"]').count()) === 1, 'duplicates card');
  await page.waitForTimeout(100);
  await shot(shotName);
  return { probe };
}

let caseworkerStats = null;
await step('the dashboard shows non-empty charts (BE caseworker)', async () => {
  const r = await dashboard(BE_KEY, '07-dashboard');
  caseworkerStats = r;
  return r.skip ? r : undefined;
});

await step('sign-out clears the key', async () => {
  await page.click('#signout');
  await page.locator('#panel-signin').waitFor({ state: 'visible' });
  assert((await page.evaluate(() => sessionStorage.getItem('avrr.key'))) === null, 'key removed');
  assert(await page.locator('#nav').isHidden(), 'sections hidden');
});

await step('a statistician sees the dashboard with small cells suppressed', async () => {
  if (!STAT_KEY) return { skip: 'no statistician key in this build' };
  await page.fill('#signin-key', STAT_KEY);
  await page.click('#signin-form button[type=submit]');
  await page.locator('#nav').waitFor({ state: 'visible' });
  const r = await dashboard(STAT_KEY, '08-dashboard-statistician');
  if (r.skip) {
    await page.click('#signout');
    return r;
  }
  const rows = (r.probe.data && r.probe.data.rows) || [];
  const mar = rows.find((x) => x.key === 'MAR');
  assert(mar && !mar.suppressed && mar.persons >= 5, `MAR has its ${mar && mar.persons} persons: ${JSON.stringify(rows)}`);
  for (const by of ['destination', 'kind', 'funding', 'month']) {
    const res = await apiOk(STAT_KEY, 'GET', `/v1/stats?by=${by}`);
    for (const row of res.rows || []) {
      if (row.suppressed) assert(row.persons === null, `a suppressed ${by} cell carries no count`);
      else assert(row.persons === null || row.persons >= 5, `${by} ${row.key}: ${row.persons} persons shown to a statistician`);
    }
    if ((res.rows || []).some((x) => x.suppressed)) {
      const note = await page.locator(`.dash-card[data-by="${by}"] .note`).allTextContents();
      assert(note.some((t) => t.includes('suppressed')), `the ${by} card says cells are suppressed`);
    }
  }
  await page.click('#signout');
});

await step('no script errors and no Content-Security-Policy violations', async () => {
  assert(pageErrors.length === 0, pageErrors.join('\n'));
});

await context.close();
if (!process.env.PROFILE_DIR) fs.rmSync(PROFILE, { recursive: true, force: true });
console.log(`screenshots: ${ARTIFACTS}`);
console.log(`browser: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
