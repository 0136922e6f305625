// Drives the gateway's plain WebSocket streaming consume protocol (GET /queues/{q}/stream) with the third-party
// WebSocket client `ws` and prints one JSON line with what it observed. The .NET tests (WebSocketStreamTests) run it
// as a child process and assert on that line; any failure prints "FAIL: ..." to stderr and exits 1.
//
//   node ws-stream-scenarios.cjs <scenario> --http PORT --queue Q
//   node ws-stream-scenarios.cjs throughput --http 8080 --queue bench --count 20000 --window 256   (measurement only)
'use strict';

const WebSocket = require('ws');

const args = parseArgs(process.argv.slice(2));
const scenario = args._[0];
const base = `127.0.0.1:${args.http}`;
const deadline = setTimeout(() => fail(`scenario ${scenario} timed out`), Number(args.timeout ?? 40000));
const WAIT_MS = 20000;

function parseArgs(argv) {
  const result = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) result[argv[i].slice(2)] = argv[++i];
    else result._.push(argv[i]);
  }
  return result;
}

function fail(message) {
  process.stderr.write(`FAIL: ${message}\n`);
  process.exit(1);
}

/** Publishes one text message over REST and waits for the broker's confirmation (201). */
async function publish(queue, text) {
  const response = await fetch(`http://${base}/queues/${queue}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  });
  if (!response.ok) throw new Error(`publish ${text}: HTTP ${response.status} ${await response.text()}`);
}

/** A stream session: every frame the server sent, in order, and waits on them. */
class Stream {
  constructor(path) {
    this.frames = [];
    this.waiters = [];
    this.socket = new WebSocket(`ws://${base}${path}`);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', resolve);
      this.socket.once('error', reject);
    });
    this.closed = new Promise(resolve => this.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.socket.on('message', (data, isBinary) => {
      this.frames.push(isBinary ? { type: 'binary!' } : JSON.parse(data.toString()));
      for (const w of this.waiters.splice(0)) if (!w.check()) this.waiters.push(w);
    });
  }

  static async open(path) {
    const stream = new Stream(path);
    await stream.opened;
    return stream;
  }

  send(frame) { this.socket.send(typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame)); }

  messages() { return this.frames.filter(f => f.type === 'message'); }

  /** Resolves with the frames once predicate(frames) holds. */
  until(predicate, what) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames)}`)), WAIT_MS);
      const w = { check: () => { if (!predicate(this.frames)) return false; clearTimeout(timer); resolve(this.frames); return true; } };
      if (!w.check()) this.waiters.push(w);
    });
  }

  waitMessages(n) { return this.until(() => this.messages().length >= n, `${n} messages`); }

  /** Sends a ping and resolves with its pong and every frame that arrived before it. */
  async ping() {
    const before = this.frames.length;
    this.send({ type: 'ping' });
    await this.until(f => f.slice(before).some(x => x.type === 'pong'), 'pong');
    const index = this.frames.findIndex((x, i) => i >= before && x.type === 'pong');
    return { pong: this.frames[index], framesBefore: this.frames.slice(0, index) };
  }

  async close() {
    this.socket.close(1000);
    return this.closed;
  }
}

const summary = m => ({ id: m.id, text: m.text, deliveryCount: m.deliveryCount, redelivered: m.redelivered, partition: m.partition, offset: m.offset, topic: m.topic });

const scenarios = {
  // Credit bounds what is sent (and leased): A grants 3 of 5, B gets the other 2; acks remove; more credit resumes A.
  async credit() {
    for (let i = 1; i <= 5; i++) await publish(args.queue, `m${i}`);
    const a = await Stream.open(`/queues/${args.queue}/stream?consumer=A-${process.pid}`);
    a.send({ type: 'credit', n: 3 });
    await a.waitMessages(3);
    const afterCredit = await a.ping();
    const b = await Stream.open(`/queues/${args.queue}/stream`);
    b.send({ type: 'credit', n: 10 });
    await b.waitMessages(2);
    for (const m of b.messages()) b.send({ type: 'ack', id: m.id });
    for (const m of a.messages()) a.send({ type: 'ack', id: m.id });
    const afterAcks = await a.ping();
    // A has no credit: a new message goes to B, which has 8 left; then A gets credit and the next one may go to either.
    await publish(args.queue, 'm6');
    await b.waitMessages(3);
    b.send({ type: 'ack', id: b.messages()[2].id });
    await b.close();
    a.send({ type: 'credit', n: 1 });
    await publish(args.queue, 'm7');
    await a.waitMessages(4);
    a.send({ type: 'ack', id: a.messages()[3].id });
    const final = await a.ping();
    await a.close();
    return {
      first: a.messages().slice(0, 3).map(summary),
      messagesBeforeFirstPong: afterCredit.framesBefore.filter(f => f.type === 'message').length,
      pongAfterCredit: afterCredit.pong,
      second: b.messages().map(summary),
      pongAfterAcks: afterAcks.pong,
      resumed: summary(a.messages()[3]),
      finalPong: final.pong,
      errors: [...a.frames, ...b.frames].filter(f => f.type === 'error'),
    };
  },

  // A nack (with a delay) redelivers the message; the redelivery is acked.
  async nack() {
    await publish(args.queue, 'n1');
    const s = await Stream.open(`/queues/${args.queue}/stream`);
    s.send({ type: 'credit', n: 10 });
    await s.waitMessages(1);
    s.send({ type: 'nack', id: s.messages()[0].id, delayMs: 100, reason: 'try again' });
    await s.waitMessages(2);
    s.send({ type: 'ack', id: s.messages()[1].id });
    const pong = (await s.ping()).pong;
    await s.close();
    return { deliveries: s.messages().map(summary), pong, errors: s.frames.filter(f => f.type === 'error') };
  },

  // A topic's durable subscription over /topics/{t}/subscriptions/{s}/stream; bodies as base64 on request.
  async topic() {
    for (const text of ['t1', 't2']) {
      const response = await fetch(`http://${base}/topics/${args.topic}/messages`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text, key: 'k', headers: { h: text } }),
      });
      if (!response.ok) throw new Error(`publish ${text}: HTTP ${response.status}`);
    }
    const s = await Stream.open(`/topics/${args.topic}/subscriptions/${args.subscription}/stream?encoding=base64`);
    s.send({ type: 'credit', n: 5 });
    await s.waitMessages(2);
    for (const m of s.messages()) s.send({ type: 'ack', id: m.id });
    const pong = (await s.ping()).pong;
    await s.close();
    return { messages: s.messages(), pong, errors: s.frames.filter(f => f.type === 'error') };
  },

  // An ack the broker refuses (the lease ran out and the message was redelivered) is a non-fatal error: the session goes on.
  async expired() {
    await publish(args.queue, 'e1');
    const s = await Stream.open(`/queues/${args.queue}/stream`);
    s.send({ type: 'credit', n: 2 });
    await s.waitMessages(2);
    const [first, second] = s.messages();
    s.send({ type: 'ack', id: first.id });
    await s.until(f => f.some(x => x.type === 'error'), 'the refused ack');
    s.send({ type: 'ack', id: second.id });
    const pong = (await s.ping()).pong;
    await s.close();
    return { deliveries: s.messages().map(summary), errors: s.frames.filter(f => f.type === 'error'), pong };
  },

  // A consumer that leaves without acking: its deliveries go to the next consumer at once (no ack timeout wait).
  async disconnect() {
    for (let i = 1; i <= 3; i++) await publish(args.queue, `d${i}`);
    const a = await Stream.open(`/queues/${args.queue}/stream`);
    a.send({ type: 'credit', n: 3 });
    await a.waitMessages(3);
    const closeA = await a.close();
    const b = await Stream.open(`/queues/${args.queue}/stream`);
    b.send({ type: 'credit', n: 3 });
    await b.waitMessages(3);
    for (const m of b.messages()) b.send({ type: 'ack', id: m.id });
    const pong = (await b.ping()).pong;
    await b.close();
    return { first: a.messages().map(summary), closeA, second: b.messages().map(summary), pong };
  },

  // Each bad frame gets a fatal error frame and the close; the deliveries the bad session held go to the next one.
  async badFrames() {
    await publish(args.queue, 'b1');
    await publish(args.queue, 'b2');
    const cases = [
      ['not-json', 'this is not json'],
      ['array', '[1,2]'],
      ['unknown-type', JSON.stringify({ type: 'bogus' })],
      ['negative-credit', JSON.stringify({ type: 'credit', n: -1 })],
      ['credit-not-integer', JSON.stringify({ type: 'credit', n: 'lots' })],
      ['too-much-credit', JSON.stringify({ type: 'credit', n: 2000000000 })],
      ['unknown-delivery', JSON.stringify({ type: 'ack', id: '0-999999-1' })],
      ['malformed-id', JSON.stringify({ type: 'ack', id: 'nope' })],
      ['binary', Buffer.from([1, 2, 3])],
      ['oversized', JSON.stringify({ type: 'ping', pad: 'x'.repeat(70 * 1024) })],
    ];
    const results = {};
    for (const [name, frame] of cases) {
      const s = await Stream.open(`/queues/${args.queue}/stream`);
      s.send({ type: 'credit', n: 2 });
      await s.waitMessages(2);
      s.send(frame);
      const close = await s.closed;
      results[name] = { error: s.frames.find(f => f.type === 'error') ?? null, close, messages: s.messages().length };
    }
    const missing = await Stream.open(`/queues/${args.queue}-missing/stream`);
    const missingClose = await missing.closed;
    const good = await Stream.open(`/queues/${args.queue}/stream`);
    good.send({ type: 'credit', n: 10 });
    await good.waitMessages(2);
    for (const m of good.messages()) good.send({ type: 'ack', id: m.id });
    const pong = (await good.ping()).pong;
    await good.close();
    return {
      cases: results,
      missing: { error: missing.frames.find(f => f.type === 'error') ?? null, close: missingClose },
      survivors: good.messages().map(summary),
      pong,
    };
  },

  // Measured, not asserted (README figures): publish --count messages over REST in batches of 1000, then stream them
  // with a credit window of --window (one credit back per ack) and report the rate.
  async throughput() {
    const count = Number(args.count ?? 20000);
    const window = Number(args.window ?? 256);
    for (let sent = 0; sent < count; sent += 1000) {
      const messages = Array.from({ length: Math.min(1000, count - sent) }, (_, i) => ({ text: `payload-${sent + i}-${'x'.repeat(64)}` }));
      const response = await fetch(`http://${base}/queues/${args.queue}/messages/batch`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages }),
      });
      if (!response.ok) throw new Error(`batch publish: HTTP ${response.status}`);
    }
    const socket = new WebSocket(`ws://${base}/queues/${args.queue}/stream`);
    await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject); });
    const started = process.hrtime.bigint();
    let received = 0;
    await new Promise((resolve, reject) => {
      socket.on('message', data => {
        const frame = JSON.parse(data.toString());
        if (frame.type !== 'message') return reject(new Error(JSON.stringify(frame)));
        socket.send(JSON.stringify({ type: 'ack', id: frame.id }));
        socket.send(JSON.stringify({ type: 'credit', n: 1 }));
        if (++received === count) resolve();
      });
      socket.send(JSON.stringify({ type: 'credit', n: window }));
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    socket.close(1000);
    return { count, window, seconds: Number(seconds.toFixed(2)), perSecond: Math.round(count / seconds) };
  },
};

(async () => {
  const run = scenarios[scenario];
  if (!run) fail(`unknown scenario ${scenario}`);
  const result = await run();
  clearTimeout(deadline);
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
})().catch(error => fail(error.stack ?? String(error)));
