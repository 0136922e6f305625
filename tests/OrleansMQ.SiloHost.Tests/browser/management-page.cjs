// Drives the management page of a running silo-host in Debian's headless Chromium (playwright-core).
// Usage: node management-page.cjs <base-url> <topic> <exchange> <screenshot-dir>
// Creates <topic> through the page, publishes through the page, dead-letters a message with the REST gateway (receive +
// nack on a maxDeliveries=1 subscription), browses it on the page, re-drives and purges through the page. Prints one
// JSON line with what the page showed at each step; the test asserts on it.
const { chromium } = require('playwright-core');
const path = require('path');

const [base, topic, exchange, shots] = process.argv.slice(2);
const deadline = (ms) => Date.now() + ms;
const result = { steps: {} };

async function rest(method, url, body, headers = {}) {
  const response = await fetch(base + url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url} → ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

// One pull consumer for the whole run: the gateway's pull session of a consumer id prefetches, so a second id would
// wait for the first session's buffered messages until it idles out.
const consumer = 'browser-test-' + Math.random().toString(16).slice(2);

// Receive one delivery of the subscription and nack it (max deliveries 1: straight to the dead-letter topic).
async function deadLetterOne(expectedText) {
  const until = deadline(60000);
  while (Date.now() < until) {
    const got = await rest('POST', `/topics/${topic}/subscriptions/workers/receive?max=1&wait=5s`, undefined, { 'OMQ-Consumer-Id': consumer });
    if (got.deliveries.length > 0) {
      if (got.deliveries[0].message.text !== expectedText) throw new Error('unexpected delivery ' + JSON.stringify(got.deliveries[0]));
      await rest('POST', `/topics/${topic}/subscriptions/workers/nack`, { ids: [got.deliveries[0].deliveryId], reason: 'bad payload from the browser test' }, { 'OMQ-Consumer-Id': consumer });
      return;
    }
  }
  throw new Error('no delivery to nack within 60 s');
}

// Reloads the topic page until predicate(page) holds (the broker updates asynchronously), within 60 s.
async function reloadUntil(page, what, predicate) {
  const until = deadline(60000);
  while (true) {
    await page.goto(`${base}/ui/topics/${topic}`);
    if (await predicate(page)) return;
    if (Date.now() > until) throw new Error(`page never showed: ${what}\n${await page.innerText('main')}`);
    await page.waitForTimeout(250);
  }
}

const text = (page, selector) => page.innerText(selector).then(t => t.trim());

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.OMQ_CHROMIUM, args: JSON.parse(process.env.OMQ_CHROMIUM_ARGS) });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    page.on('dialog', dialog => dialog.accept()); // the purge confirmation

    await page.goto(`${base}/ui`);
    result.steps.overviewHeading = await text(page, 'h1');
    result.steps.siloRows = await page.locator('#silos tr').count() - 1;
    await page.waitForFunction(() => document.body.dataset.ratesLoaded !== undefined && typeof Chart === 'function', null, { timeout: 30000 });
    result.steps.chartLoaded = true;

    // Create the topic through the page.
    await page.fill('#create-topic input[name=name]', topic);
    await page.fill('#create-topic input[name=partitions]', '1');
    await Promise.all([page.waitForURL(`**/ui/topics/${topic}?**`), page.click('#create-topic button')]);
    result.steps.created = await text(page, '#flash');
    await rest('PUT', `/topics/${topic}/subscriptions/workers`, { type: 'Shared', start: 'Earliest', maxDeliveries: 1 });

    await page.goto(`${base}/ui`);
    result.steps.overviewBacklogBefore = await text(page, `#topics tr[data-topic="${topic}"] .backlog`);

    // Publish through the page; the backlog goes from 0 to 1.
    await page.goto(`${base}/ui/topics/${topic}`);
    await page.fill('#publish input[name=text]', 'poison-1');
    await Promise.all([page.waitForURL(`**/ui/topics/${topic}?**`), page.click('#publish button')]);
    result.steps.published = await text(page, '#flash');
    await reloadUntil(page, 'lag 1', async p => (await text(p, 'tr[data-subscription=workers] .lag')) === '1');
    result.steps.backlogAfterPublish = await text(page, '#backlog');
    await page.goto(`${base}/ui`);
    result.steps.overviewBacklogAfter = await text(page, `#topics tr[data-topic="${topic}"] .backlog`);

    // Dead-letter it, then browse the DLQ on the page.
    await deadLetterOne('poison-1');
    await reloadUntil(page, 'the dead letter', async p => (await p.locator('section.dlq[data-subscription=workers] table.dead-letters').count()) > 0);
    result.steps.deadLetters = await text(page, 'section.dlq[data-subscription=workers]');
    await page.screenshot({ path: path.join(shots, 'management-topic-dlq.png'), fullPage: true });

    // Re-drive through the page: the message is back on the topic and the DLQ has nothing pending.
    await Promise.all([page.waitForURL(`**/ui/topics/${topic}?**`), page.click('section.dlq[data-subscription=workers] form.redrive button')]);
    result.steps.redriven = await text(page, '#flash');
    await reloadUntil(page, 'lag 1 after the re-drive', async p => (await text(p, 'tr[data-subscription=workers] .lag')) === '1');
    result.steps.afterRedrive = await text(page, 'section.dlq[data-subscription=workers]');
    result.steps.messagesAfterRedrive = await text(page, '#messages');

    // Dead-letter the re-driven copy again and purge it through the page.
    await deadLetterOne('poison-1');
    await reloadUntil(page, 'the second dead letter', async p => (await p.locator('section.dlq[data-subscription=workers] table.dead-letters').count()) > 0);
    await Promise.all([page.waitForURL(`**/ui/topics/${topic}?**`), page.click('section.dlq[data-subscription=workers] form.purge button')]);
    result.steps.purged = await text(page, '#flash');
    result.steps.afterPurge = await text(page, 'section.dlq[data-subscription=workers]');

    // Exchanges and bindings.
    await page.goto(`${base}/ui/exchanges`);
    result.steps.exchange = await text(page, `section.exchange[data-exchange="${exchange}"]`);
    await page.screenshot({ path: path.join(shots, 'management-exchanges.png'), fullPage: true });

    // An unknown topic is a 404 page, not an error.
    const missing = await page.goto(`${base}/ui/topics/no-such-topic-${topic}`);
    result.steps.missingStatus = missing.status();
    await page.goto(`${base}/ui`);
    await page.screenshot({ path: path.join(shots, 'management-overview.png'), fullPage: true });
    console.log(JSON.stringify(result));
  } finally {
    await browser.close();
  }
})().catch(e => { console.error(e.stack || String(e)); console.log(JSON.stringify(result)); process.exit(1); });
