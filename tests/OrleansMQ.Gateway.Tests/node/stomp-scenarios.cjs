// Drives the gateway with the third-party STOMP client @stomp/stompjs (over TCP through @stomp/tcp-wrapper, or over
// WebSocket through ws) and prints one JSON line with what it observed. The .NET tests run it as a child process and
// assert on that line; any failure prints "FAIL: ..." to stderr and exits 1.
//
//   node stomp-scenarios.cjs <scenario> --transport tcp|ws --http PORT --stomp PORT [--topic T] [--queue Q] [--exchange E]
//        [--login L] [--passcode P] [--authorization 'Bearer ...'] [--tls-ca cert.pem]   (credentials in CONNECT; wss:// pinned to a CA)
'use strict';

const { Client } = require('@stomp/stompjs');
const { TCPWrapper } = require('@stomp/tcp-wrapper');
const WebSocket = require('ws');

const args = parseArgs(process.argv.slice(2));
const scenario = args._[0];
const deadline = setTimeout(() => fail(`scenario ${scenario} timed out`), Number(args.timeout ?? 30000));

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

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

function factory() {
  if (args.transport === 'ws' && args['tls-ca']) {
    // wss:// that trusts only the given (self-signed) certificate.
    const ca = require('fs').readFileSync(args['tls-ca']);
    return () => new WebSocket(`wss://127.0.0.1:${args.http}/stomp`, ['v12.stomp'], { ca });
  }
  return args.transport === 'ws'
    ? () => new WebSocket(`ws://127.0.0.1:${args.http}/stomp`, ['v12.stomp'])
    : () => new TCPWrapper('127.0.0.1', Number(args.stomp));
}

/** CONNECT headers: credentials only when the test gives them. */
function connectHeaders() {
  const headers = { host: 'omq' };
  if (args.login) headers.login = args.login;
  if (args.passcode) headers.passcode = args.passcode;
  if (args.authorization) headers.Authorization = args.authorization;
  return headers;
}

/** Connects and resolves with the client; records ERROR frames and closes on it. */
function connect(options = {}) {
  return new Promise((resolve, reject) => {
    const client = new Client({
      webSocketFactory: factory(),
      connectHeaders: connectHeaders(),
      reconnectDelay: 0,
      heartbeatIncoming: options.heartbeatIncoming ?? 0,
      heartbeatOutgoing: options.heartbeatOutgoing ?? 0,
      debug: () => {},
    });
    client.errors = [];
    client.closed = new Promise(closed => {
      client.onWebSocketClose = event => closed(event);
    });
    client.onStompError = frame => {
      client.errors.push({ ...frame.headers, body: frame.body });
      const error = new Error(`ERROR frame: ${frame.headers.message}`);
      error.frame = { ...frame.headers, body: frame.body };
      reject(error);
    };
    client.onConnect = frame => {
      client.connectedHeaders = frame.headers;
      resolve(client);
    };
    client.activate();
  });
}

let receiptCounter = 0;

/** Runs send(headers) with a fresh receipt header and resolves when the RECEIPT arrives. */
function withReceipt(client, send) {
  const receipt = `r-${++receiptCounter}`;
  return new Promise(resolve => {
    client.watchForReceipt(receipt, () => resolve(receipt));
    send({ receipt });
  });
}

/** Subscribes (waiting for the receipt) and collects messages into an array; waitFor(n) resolves once n arrived. */
async function subscribe(client, destination, headers = {}, onMessage = null) {
  const messages = [];
  const waiters = [];
  let subscription;
  await withReceipt(client, receipt => {
    subscription = client.subscribe(destination, message => {
      messages.push(message);
      if (onMessage) onMessage(message);
      for (const w of waiters.splice(0)) if (messages.length >= w.n) w.resolve(); else waiters.push(w);
    }, { ...headers, ...receipt });
  });
  return {
    messages,
    subscription,
    waitFor(n, ms = 15000) {
      if (messages.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${messages.length} of ${n} messages arrived on ${destination}`)), ms);
        waiters.push({ n, resolve: () => { clearTimeout(timer); resolve(); } });
      });
    },
  };
}

function summary(message) {
  return {
    body: message.body,
    subscription: message.headers.subscription,
    messageId: message.headers['message-id'],
    destination: message.headers.destination,
    ack: message.headers.ack,
    redelivered: message.headers.redelivered === 'true',
    deliveryCount: Number(message.headers['omq-delivery-count']),
    key: message.headers['omq-key'],
    n: message.headers.n,
    contentType: message.headers['content-type'],
    odd: message.headers.odd,
  };
}

const scenarios = {
  // Topic (temporary subscription, auto ack), queue (client-individual) and exchange publish; receipts throughout.
  async pubsub() {
    const client = await connect();
    const topic = await subscribe(client, `/topic/${args.topic}`);
    const queue = await subscribe(client, `/queue/${args.queue}`, { ack: 'client-individual' }, m => m.ack());
    for (let i = 0; i < 5; i++) {
      client.publish({ destination: `/topic/${args.topic}`, body: `t${i}`, headers: { n: String(i), 'omq-key': 'k', 'content-type': 'text/plain', odd: 'a:b\nc' } });
    }
    for (let i = 0; i < 3; i++) {
      client.publish({ destination: `/queue/${args.queue}`, body: `q${i}` });
    }
    await withReceipt(client, receipt => client.publish({ destination: `/exchange/${args.exchange}/orders.created`, body: 'via-exchange', headers: receipt }));
    await topic.waitFor(5);
    await queue.waitFor(4);
    await sleep(300);
    const result = {
      session: client.connectedHeaders.session,
      version: client.connectedHeaders.version,
      server: client.connectedHeaders.server,
      topic: topic.messages.map(summary),
      queue: queue.messages.map(summary),
    };
    await client.deactivate();
    return result;
  },

  // NACK with client-individual: redelivered, then dead-lettered after the queue's max deliveries.
  async nack() {
    const client = await connect();
    const deliveries = [];
    const queue = await subscribe(client, `/queue/${args.queue}`, { ack: 'client-individual' }, m => {
      deliveries.push(summary(m));
      m.nack({ 'x-reason': 'poison pill' });
    });
    await withReceipt(client, receipt => client.publish({ destination: `/queue/${args.queue}`, body: 'poison', headers: receipt }));
    await queue.waitFor(Number(args.expect ?? 2));
    await sleep(Number(args.settle ?? 1000)); // a further delivery would show up here
    await client.deactivate();
    return { deliveries };
  },

  // ack:client is cumulative: acking the 3rd of 5 settles 1–3; 4 and 5 come back to the next consumer.
  async cumulative() {
    const first = await connect();
    const a = await subscribe(first, `/queue/${args.queue}`, { ack: 'client' });
    for (let i = 1; i <= 5; i++) {
      first.publish({ destination: `/queue/${args.queue}`, body: `m${i}` });
    }
    await a.waitFor(5);
    await withReceipt(first, receipt => a.messages[2].ack(receipt));
    await first.deactivate();

    const second = await connect();
    const b = await subscribe(second, `/queue/${args.queue}`, { ack: 'client-individual' }, m => m.ack());
    await b.waitFor(2);
    await sleep(500);
    const result = { first: a.messages.map(summary), second: b.messages.map(summary) };
    await second.deactivate();
    return result;
  },

  // BEGIN/SEND/ABORT drops the sends; BEGIN/SEND/COMMIT delivers them; ACKs in a committed transaction take effect.
  async transaction() {
    const client = await connect();
    const aborted = client.begin('tx-a');
    client.publish({ destination: `/queue/${args.queue}`, body: 'aborted-1', headers: { transaction: aborted.id } });
    client.publish({ destination: `/queue/${args.queue}`, body: 'aborted-2', headers: { transaction: aborted.id } });
    aborted.abort();
    const committed = client.begin('tx-c');
    client.publish({ destination: `/queue/${args.queue}`, body: 'committed-1', headers: { transaction: committed.id } });
    client.publish({ destination: `/queue/${args.queue}`, body: 'committed-2', headers: { transaction: committed.id } });
    committed.commit();
    const queue = await subscribe(client, `/queue/${args.queue}`, { ack: 'client-individual' });
    await queue.waitFor(2);
    await sleep(500);
    const acks = client.begin('tx-ack');
    for (const m of queue.messages) m.ack({ transaction: acks.id });
    acks.commit();
    // A receipt on a later frame answers once everything before it (the committed acks) took effect.
    await withReceipt(client, receipt => client.publish({ destination: `/topic/${args.topic}`, body: 'barrier', headers: receipt }));
    const result = { received: queue.messages.map(summary) };
    await client.deactivate();
    return result;
  },

  // Heart-beats both ways keep an idle connection open; it still works afterwards.
  async heartbeat() {
    const client = await connect({ heartbeatIncoming: 1000, heartbeatOutgoing: 1000 });
    let closed = false;
    client.closed.then(() => { closed = true; });
    await sleep(Number(args.idle ?? 3500));
    if (closed) fail('the connection closed while heart-beating');
    await withReceipt(client, receipt => client.publish({ destination: `/topic/${args.topic}`, body: 'still alive', headers: receipt }));
    const result = { heartBeat: client.connectedHeaders['heart-beat'], aliveAfterIdle: !closed };
    await client.deactivate();
    return result;
  },

  // A SEND the broker refuses (unknown topic) is answered with an ERROR frame (receipt-id set), then the connection closes.
  async error() {
    const client = await connect();
    const errored = new Promise(resolve => { client.onStompError = frame => resolve({ ...frame.headers, body: frame.body }); });
    const receipt = 'doomed';
    client.publish({ destination: `/topic/${args.topic}`, body: 'nobody home', headers: { receipt } });
    const error = await errored;
    const close = await Promise.race([client.closed.then(() => true), sleep(5000).then(() => false)]);
    return { error, closedAfterError: close };
  },

  // One operation with the given credentials: connect, then (--op send|subscribe) on --destination, with a receipt.
  // Reports whether CONNECT succeeded, the ERROR frame if any, and whether the receipt came.
  async probe() {
    let client;
    try {
      client = await connect();
    } catch (err) {
      if (!err.frame) throw err;
      return { connected: false, error: err.frame };
    }
    const result = { connected: true, principalSession: client.connectedHeaders.session };
    if (args.op) {
      const errored = new Promise(resolve => { client.onStompError = frame => resolve({ error: { ...frame.headers, body: frame.body } }); });
      const receipted = withReceipt(client, receipt => {
        if (args.op === 'send') client.publish({ destination: args.destination, body: args.body ?? 'probe', headers: receipt });
        else client.subscribe(args.destination, () => {}, receipt);
      }).then(() => ({ receipt: true }));
      Object.assign(result, await Promise.race([errored, receipted]));
    }
    if (!result.error) await client.deactivate();
    return result;
  },
};

(async () => {
  if (!scenarios[scenario]) fail(`unknown scenario '${scenario}'`);
  try {
    const result = await scenarios[scenario]();
    process.stdout.write(JSON.stringify(result) + '\n');
    clearTimeout(deadline);
    process.exit(0);
  } catch (err) {
    fail(err && err.stack ? err.stack : String(err));
  }
})();
