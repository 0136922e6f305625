// Drives silo-host's chat page (/chat/) in Debian's headless Chromium with playwright-core: alice and bob join a room in
// separate browser contexts and talk, carol joins later and must see the history. Prints one JSON line with what each
// page shows (read from the DOM, not pixels) and the screenshot paths; any failure prints "FAIL: ..." and exits 1.
// Started by tests/OrleansMQ.Gateway.Tests/Browser/ChatPageTests.cs with HeadlessChromium.NodeEnvironment().
// With --key every page types that key into the Key field (a gateway without anonymous access); --key-NICK overrides it
// for one page. --scenario wrong-key
// instead joins once with --key, waits for the page's error status and prints it.
//
//   node chat-scenario.cjs --url http://127.0.0.1:PORT --room ROOM --screenshots DIR [--key KEY] [--key-carol KEY] [--scenario chat|wrong-key]
'use strict';

const path = require('path');
const { chromium } = require('playwright-core');

const args = parseArgs(process.argv.slice(2));
const WAIT_MS = 30000;
const deadline = setTimeout(() => fail('chat scenario timed out'), 120000);

function parseArgs(argv) {
  const result = {};
  for (let i = 0; i < argv.length; i += 2) result[argv[i].slice(2)] = argv[i + 1];
  return result;
}

function fail(message) {
  process.stderr.write(`FAIL: ${message}\n`);
  process.exit(1);
}

const pageErrors = [];

async function openAs(browser, nick) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
  const page = await context.newPage();
  page.on('pageerror', error => pageErrors.push(`${nick}: ${error.message}`));
  page.on('console', message => { if (message.type() === 'error') pageErrors.push(`${nick}: console: ${message.text()}`); });
  await page.goto(`${args.url}/chat/`);
  await page.fill('#nick', nick);
  const key = args[`key-${nick}`] ?? args.key;
  if (key) await page.fill('#key', key);
  await page.fill('#room', args.room);
  await page.click('#join-button');
  return page;
}

async function joinAs(browser, nick) {
  const page = await openAs(browser, nick);
  try {
    await page.waitForSelector('#status[data-state="joined"]', { timeout: WAIT_MS });
  } catch (error) {
    throw new Error(`${nick} did not join; the page says "${await page.textContent('#status')}": ${error.message}`);
  }
  return page;
}

async function wrongKey(browser) {
  const page = await openAs(browser, 'mallory');
  await page.waitForSelector('#status[data-state="error"]', { timeout: WAIT_MS });
  const file = path.join(args.screenshots, `chat-${args.room}-wrong-key.png`);
  await page.screenshot({ path: file, fullPage: true });
  return {
    status: await page.textContent('#status'),
    messages: await messages(page),
    composeHidden: await page.isHidden('#compose'),
    screenshots: [file],
    pageErrors,
  };
}

async function say(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

function waitForMessage(page, nick, text) {
  return page.waitForFunction(([n, t]) => [...document.querySelectorAll('#messages .message')]
    .some(li => li.querySelector('.nick').textContent === n && li.querySelector('.text').textContent === t), [nick, text], { timeout: WAIT_MS });
}

function messages(page) {
  return page.$$eval('#messages .message', items => items.map(li => ({
    time: li.querySelector('.time').textContent,
    nick: li.querySelector('.nick').textContent,
    text: li.querySelector('.text').textContent,
    mine: li.classList.contains('mine'),
  })));
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.OMQ_CHROMIUM,
    args: JSON.parse(process.env.OMQ_CHROMIUM_ARGS ?? '[]'),
    headless: true,
  });
  try {
    if (args.scenario === 'wrong-key') {
      const result = await wrongKey(browser);
      clearTimeout(deadline);
      process.stdout.write(JSON.stringify(result) + '\n');
      return;
    }

    const alice = await joinAs(browser, 'alice');
    const bob = await joinAs(browser, 'bob');
    await say(alice, 'Hello from alice');
    await waitForMessage(bob, 'alice', 'Hello from alice');
    await say(bob, 'Hi alice, bob here');
    await waitForMessage(alice, 'bob', 'Hi alice, bob here');

    const carol = await joinAs(browser, 'carol');
    await waitForMessage(carol, 'bob', 'Hi alice, bob here');
    await say(carol, 'carol joined late');
    await waitForMessage(alice, 'carol', 'carol joined late');
    await waitForMessage(bob, 'carol', 'carol joined late');
    await waitForMessage(carol, 'carol', 'carol joined late');

    const screenshots = [];
    for (const [nick, page] of [['carol', carol], ['alice', alice]]) {
      const file = path.join(args.screenshots, `chat-${args.room}-${nick}.png`);
      await page.screenshot({ path: file, fullPage: true });
      screenshots.push(file);
    }

    const result = {
      alice: await messages(alice),
      bob: await messages(bob),
      carol: await messages(carol),
      carolStatus: await carol.textContent('#status'),
      carolTitle: await carol.textContent('#room-title'),
      screenshots,
      pageErrors,
    };
    clearTimeout(deadline);
    process.stdout.write(JSON.stringify(result) + '\n');
  } finally {
    await browser.close();
  }
  process.exit(0);
})().catch(error => fail(`${error.stack ?? error}\npage errors: ${JSON.stringify(pageErrors)}`));
