// Drives the management page of a silo-host with security on (no anonymous access) in Debian's headless Chromium.
// Usage: node management-login.cjs <base-url> <topic> <dlq-topic> <admin-key> <reader-key> <screenshot-dir>
// Dead-letters one message of <dlq-topic> over REST (admin key header), then in the browser: an anonymous action is sent
// to the login page; a non-admin sign-in is refused the action; after signing out and in as admin, creating <topic> and
// re-driving the dead letter work. Prints one JSON line with what the page showed at each step; the test asserts on it.
const { chromium } = require('playwright-core');
const path = require('path');

const [base, topic, dlqTopic, adminKey, readerKey, shots] = process.argv.slice(2);
const result = { steps: {} };

async function rest(method, url, body, headers = {}) {
  const response = await fetch(base + url, {
    method,
    headers: { 'content-type': 'application/json', 'x-api-key': adminKey, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url} → ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

async function deadLetterOne() {
  await rest('PUT', `/topics/${dlqTopic}`, { partitions: 1 });
  await rest('PUT', `/topics/${dlqTopic}/subscriptions/workers`, { type: 'Shared', start: 'Earliest', maxDeliveries: 1 });
  await rest('POST', `/topics/${dlqTopic}/messages`, { text: 'poison' });
  const consumer = { 'OMQ-Consumer-Id': 'login-test-' + Math.random().toString(16).slice(2) };
  const until = Date.now() + 60000;
  while (Date.now() < until) {
    const got = await rest('POST', `/topics/${dlqTopic}/subscriptions/workers/receive?max=1&wait=5s`, undefined, consumer);
    if (got.deliveries.length > 0) {
      await rest('POST', `/topics/${dlqTopic}/subscriptions/workers/nack`, { ids: [got.deliveries[0].deliveryId], reason: 'login test' }, consumer);
      while (Date.now() < until) {
        const dlq = await rest('GET', `/topics/${dlqTopic}/subscriptions/workers/dlq`);
        if (JSON.stringify(dlq).includes('poison')) return;
        await new Promise(r => setTimeout(r, 250));
      }
    }
  }
  throw new Error('could not dead-letter a message within 60 s');
}

const text = (page, selector) => page.innerText(selector).then(t => t.trim());

async function createTopic(page) {
  await page.goto(`${base}/ui`);
  await page.fill('#create-topic input[name=name]', topic);
  await Promise.all([page.waitForNavigation(), page.click('#create-topic button')]);
}

async function signIn(page, key) {
  await page.fill('#login input[name=credential]', key);
  await Promise.all([page.waitForNavigation(), page.click('#login button')]);
}

(async () => {
  await deadLetterOne();
  const browser = await chromium.launch({ executablePath: process.env.OMQ_CHROMIUM, args: JSON.parse(process.env.OMQ_CHROMIUM_ARGS) });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });

    // Anonymous: the action sends the browser to the login page (with the way back).
    await createTopic(page);
    const anonymous = new URL(page.url());
    result.steps.anonymousLanding = anonymous.pathname + anonymous.search;

    // A key without admin rights: signed in, but the action is refused and shown as such.
    await signIn(page, readerKey);
    result.steps.readerLanding = new URL(page.url()).pathname;
    result.steps.readerUser = await text(page, '#user');
    await createTopic(page);
    result.steps.readerCreate = await text(page, '#flash');

    // Sign out: the cookie is gone, actions need a login again.
    await Promise.all([page.waitForNavigation(), page.click('#logout button')]);
    result.steps.afterLogout = new URL(page.url()).pathname;
    result.steps.loginLinkAfterLogout = await page.locator('#login-link').count();

    // Admin: create the topic and re-drive the dead letter through the page.
    await page.goto(`${base}/ui/login`);
    await signIn(page, adminKey);
    result.steps.adminUser = await text(page, '#user');
    await createTopic(page);
    result.steps.adminCreate = await text(page, '#flash');
    await page.goto(`${base}/ui/topics/${dlqTopic}`);
    await Promise.all([page.waitForNavigation(), page.click('section.dlq[data-subscription=workers] form.redrive button')]);
    result.steps.adminRedrive = await text(page, '#flash');
    await page.screenshot({ path: path.join(shots, 'management-login-admin.png'), fullPage: true });
    console.log(JSON.stringify(result));
  } finally {
    await browser.close();
  }
})().catch(e => { console.error(e.stack || String(e)); console.log(JSON.stringify(result)); process.exit(1); });
