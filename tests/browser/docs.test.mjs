// A person's first visit to /docs, in a real browser: register and log in with
// Swagger UI's "Try it out", confirming the address with the link from the mail
// in between. Started by scripts/browser-test.sh, which runs the service (default
// settings: email verification on) and passes its address and log.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launch, recordRequests } from './browser.mjs';
import { linkInMail } from './mail.mjs';
import { tryItOut } from './swagger.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const baseUrl = required('AUTH_BASE_URL');
const serviceLog = required('AUTH_SERVICE_LOG');
const artifacts = resolve(process.env.BROWSER_ARTIFACTS ?? join(here, '../../target/browser-artifacts'));
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const email = `browser-${randomBytes(6).toString('hex')}@example.com`;
const password = `pw ${randomBytes(12).toString('base64url')}`;
const asNewUser = (example) => ({ ...example, email, password });

describe('Swagger UI at /docs in headless Chromium', () => {
  let browser;
  let page;
  let requests;
  const pageErrors = [];

  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    browser = await launch(chromiumPath);
    page = browser.page;
    page.on('pageerror', (error) => pageErrors.push(error.message));
    requests = await recordRequests(browser.context);
  });

  after(async () => {
    if (!browser) return;
    const last = join(artifacts, 'docs-last-page.png');
    await page.screenshot({ path: last, fullPage: true });
    console.log(`screenshot of the last page: ${last}`);
    await browser.close();
  });

  it('shows the API of the service', async () => {
    await page.goto(`${baseUrl}/docs/`);
    await page.getByRole('heading', { name: /auth-service/ }).waitFor();
    await page.locator('.opblock-summary-path[data-path="/register"]').waitFor();
    await page.locator('.opblock-summary-path[data-path="/login"]').waitFor();
  });

  it('Try it out on POST /register: 202 verification_sent', async () => {
    const { response } = await tryItOut(page, 'post', '/register', asNewUser);
    assert.equal(response.status, 202);
    assert.deepEqual(response.body, { status: 'verification_sent' });
    assert.equal(response.headers['content-type'], 'application/json');
  });

  it('Try it out on POST /login before confirming: 403 email_not_verified', async () => {
    const { response } = await tryItOut(page, 'post', '/login', asNewUser);
    assert.equal(response.status, 403);
    assert.deepEqual(response.body, {
      status: 403,
      title: 'Forbidden',
      code: 'email_not_verified',
      detail: 'Confirm your email address before logging in.',
    });
    assert.equal(response.headers['content-type'], 'application/problem+json');
  });

  it("the mail's link and its button confirm the address", async () => {
    const link = await linkInMail(serviceLog, email, 'Confirm your email address');
    assert.ok(link.startsWith(`${baseUrl}/verify-email?token=`), link);
    await page.goto(link);
    await page.getByRole('button', { name: 'Confirm my email address' }).click();
    await page.getByRole('heading', { name: 'Email confirmed', exact: true }).waitFor();
    assert.equal(
      await page.locator('p').textContent(),
      'Your email address is confirmed. You can close this page and log in.',
    );
  });

  it('Try it out on POST /login: 200 with a token pair; screenshot kept', async () => {
    await page.goto(`${baseUrl}/docs/`);
    const { block, response } = await tryItOut(page, 'post', '/login', asNewUser);
    const shot = join(artifacts, 'docs-login.png');
    await screenshotUpToResponse(page, block, shot);
    console.log(`screenshot of POST /login in Swagger UI: ${shot}`);

    assert.equal(response.status, 200);
    const { access_token, refresh_token, user, ...rest } = response.body;
    assert.match(access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.match(refresh_token, /^[\w-]{20,}$/);
    assert.deepEqual(rest, { token_type: 'Bearer', expires_in: 900 });
    assert.equal(user.email, email);
    assert.equal(user.email_verified, true);
    assert.equal(user.name, 'Ada Lovelace', "the register example's name, kept");
    assert.equal(response.headers['cache-control'], 'no-store');
  });

  it('the pages asked nothing of any host but this one', () => {
    assert.ok(requests.all().length > 0, 'no request was recorded at all');
    assert.deepEqual(requests.offMachine(), [], `every request:\n${requests.all().join('\n')}`);
    assert.deepEqual(pageErrors, []);
  });
});

/** The operation from its title down to the response shown (not the documented ones). */
async function screenshotUpToResponse(page, block, path) {
  const top = await block.boundingBox();
  const shown = await block.locator('.live-responses-table').boundingBox();
  // Boxes are measured from the viewport, a full-page clip from the page's top.
  const scrolled = await page.evaluate(() => window.scrollY);
  const height = shown.y + shown.height - top.y;
  const clip = { x: top.x, y: top.y + scrolled, width: top.width, height };
  await page.screenshot({ path, fullPage: true, clip });
}

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run scripts/browser-test.sh`);
  return value;
}
