// The OrleansMQ chat: STOMP 1.2 over WebSocket (/stomp) with the vendored @stomp/stompjs UMD bundle (global StompJs).
// A room is the topic chat.{room} (one partition, so everyone sees one order). Joining subscribes with x-start:earliest:
// the gateway creates a temporary subscription for this page that starts at the beginning of the topic, so the room's
// history is replayed, then new messages follow. A message is its text (UTF-8 body) with the sender in the `nick`
// header — the same shape as client-sample's console chat, so both talk in the same rooms; the time shown is the
// broker's append time (omq-timestamp header).
// Credentials: when the gateway does not allow anonymous access, the Key field holds an API key or a JWT. It goes in
// the STOMP CONNECT frame as `passcode` (with the nickname as `login`, which the gateway does not check), and on the
// page's HTTP calls as `X-Api-Key` (or `Authorization: Bearer` for a JWT). It is kept in this page only.
'use strict';

(() => {
  const $ = id => document.getElementById(id);
  const ui = {
    status: $('status'), join: $('join'), nick: $('nick'), room: $('room'), rooms: $('rooms'), key: $('key'), leave: $('leave-button'),
    title: $('room-title'), messages: $('messages'), compose: $('compose'), text: $('text'),
  };
  const roomPattern = /^[A-Za-z0-9_-]{1,64}$/;
  // Errors after which reconnecting with the same key cannot help.
  const fatalCodes = new Set(['Unauthorized', 'Forbidden', 'LimitExceeded']);
  let session = null;

  const looksLikeJwt = key => key.startsWith('eyJ') && key.split('.').length === 3;

  function authHeaders(key) {
    if (!key) return {};
    return looksLikeJwt(key) ? { authorization: `Bearer ${key}` } : { 'x-api-key': key };
  }

  async function problemOf(response) {
    const problem = await response.json().catch(() => ({}));
    return problem.detail ?? `HTTP ${response.status}`;
  }

  function setStatus(text, state) {
    ui.status.textContent = text;
    ui.status.dataset.state = state;
  }

  async function ensureRoom(topic, key) {
    // PUT is idempotent; 409 means the topic exists with another definition, which is fine for chatting. 403: this key
    // may chat but not create rooms, so the room must exist already (subscribing says so if it does not).
    const response = await fetch(`/topics/${encodeURIComponent(topic)}`, {
      method: 'PUT', headers: { 'content-type': 'application/json', ...authHeaders(key) }, body: JSON.stringify({ partitions: 1 }),
    });
    if (!response.ok && response.status !== 409 && response.status !== 403) {
      throw new Error(await problemOf(response));
    }
  }

  async function listRooms() {
    try {
      const response = await fetch('/topics', { headers: authHeaders(ui.key.value.trim()) });
      if (!response.ok) return;
      const topics = await response.json();
      ui.rooms.replaceChildren(...topics.filter(t => t.startsWith('chat.') && !t.endsWith('.dlq'))
        .map(t => Object.assign(document.createElement('option'), { value: t.slice('chat.'.length) })));
    } catch {
      // Suggestions only.
    }
  }

  function render(frame, nick) {
    const body = { nick: frame.headers.nick ?? '?', text: frame.body };
    const at = new Date(frame.headers['omq-timestamp'] ?? Date.now());
    const item = document.createElement('li');
    item.className = 'message' + (body.nick === nick ? ' mine' : '');
    const time = Object.assign(document.createElement('time'), { className: 'time', dateTime: at.toISOString(), textContent: at.toLocaleTimeString([], { hour12: false }) });
    const who = Object.assign(document.createElement('span'), { className: 'nick', textContent: String(body.nick ?? '?'), title: String(body.nick ?? '') });
    const text = Object.assign(document.createElement('span'), { className: 'text', textContent: String(body.text ?? '') });
    item.append(time, who, text);
    const atBottom = ui.messages.scrollTop + ui.messages.clientHeight >= ui.messages.scrollHeight - 4;
    ui.messages.append(item);
    if (atBottom) item.scrollIntoView({ block: 'end' });
  }

  async function join(nick, room, key) {
    const topic = `chat.${room}`;
    setStatus(`Joining #${room}…`, 'joining');
    await ensureRoom(topic, key);
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const client = new StompJs.Client({
      brokerURL: `${scheme}://${location.host}/stomp`,
      connectHeaders: key ? { login: nick, passcode: key } : {},
      reconnectDelay: 2000,
      heartbeatIncoming: 10000,
      heartbeatOutgoing: 10000,
    });
    session = { client, nick, room, topic };
    client.onConnect = () => {
      // A (re)connect replays the whole room, so start from an empty list.
      ui.messages.replaceChildren();
      const receipt = `joined-${Date.now()}`;
      client.watchForReceipt(receipt, () => setStatus(`#${room} as ${nick}`, 'joined'));
      client.subscribe(`/topic/${topic}`, frame => render(frame, nick), { 'x-start': 'earliest', receipt });
    };
    client.onStompError = frame => {
      const fatal = fatalCodes.has(frame.headers['omq-error-code']);
      setStatus(`Error: ${frame.headers.message}`, 'error');
      if (fatal && session?.client === client) {
        // The same credentials would be refused again: stop, and leave the message up.
        session = null;
        client.deactivate();
      }
    };
    client.onWebSocketClose = () => { if (session?.client === client) setStatus('Disconnected, reconnecting…', 'error'); };
    client.activate();
    ui.title.textContent = `#${room}`;
    ui.title.hidden = false;
    ui.compose.hidden = false;
    ui.leave.hidden = false;
    ui.text.focus();
  }

  async function leave() {
    const current = session;
    session = null;
    if (current) await current.client.deactivate();
    ui.messages.replaceChildren();
    ui.title.hidden = true;
    ui.compose.hidden = true;
    ui.leave.hidden = true;
    setStatus('Not connected', 'idle');
  }

  ui.join.addEventListener('submit', async event => {
    event.preventDefault();
    const nick = ui.nick.value.trim();
    const room = ui.room.value.trim();
    const key = ui.key.value.trim();
    if (!nick || !roomPattern.test(room)) {
      setStatus('A nickname, and a room of letters, digits, - or _', 'error');
      return;
    }
    await leave();
    try {
      await join(nick, room, key);
    } catch (error) {
      setStatus(`Could not join: ${error.message}`, 'error');
    }
  });

  ui.leave.addEventListener('click', () => leave());
  // Room suggestions are fetched when the room field is focused, with the key entered by then (so a gateway without
  // anonymous access is not asked anonymously).
  ui.room.addEventListener('focus', () => listRooms());

  ui.compose.addEventListener('submit', event => {
    event.preventDefault();
    const text = ui.text.value;
    if (!session || !text.trim() || !session.client.connected) return;
    session.client.publish({
      destination: `/topic/${session.topic}`,
      body: text,
      headers: { nick: session.nick, 'content-type': 'text/plain;charset=utf-8' },
    });
    ui.text.value = '';
  });

  // /chat/?room=lobby&nick=alice fills the form (and joins when both are given).
  const query = new URLSearchParams(location.search);
  if (query.get('nick')) ui.nick.value = query.get('nick');
  if (query.get('room')) ui.room.value = query.get('room');
  if (query.get('nick') && query.get('room')) ui.join.requestSubmit();
})();
