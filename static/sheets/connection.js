// The sheet websocket (docs/protocol.md, sections 4-8): subscribe by seq,
// apply events exactly once and in order, keep an outbox of operations
// (edits and structure changes) until the server acknowledges them, and
// reconnect for as long as the page is open.

export const Status = Object.freeze({
  CONNECTING: "connecting",
  LIVE: "live",
  RECONNECTING: "reconnecting",
  OFFLINE: "offline",
  CLOSED: "closed", // the server refused us for good (logged out, no access, no sheet)
});

// Operations refused for a reason that passes: keep them and send them again.
const RETRYABLE = new Set(["rate_limited", "unavailable", "not_subscribed"]);

// Close codes after which reconnecting cannot help (PROTOCOL section 2).
const FINAL_CLOSES = new Map([
  [4401, "You are logged out. Log in again to keep editing."],
  [4403, "You no longer have access to this sheet."],
  [4404, "This sheet does not exist any more."],
]);

const CLOSE_TOO_MANY_CONNECTIONS = 4429;
const TOO_MANY_CONNECTIONS =
  "You have too many tabs open on this server; this one keeps retrying slowly. Close some tabs to reconnect sooner.";

export const DEFAULT_TIMING = Object.freeze({
  pingInterval: 15000, // a quiet socket still proves it is alive this often
  pongTimeout: 10000, // no pong by then: the socket is dead even if the browser has not noticed
  openTimeout: 10000,
  backoffBase: 500,
  backoffCap: 15000,
  retryDelay: 1000, // before resending an edit refused as rate_limited / unavailable
});

export function websocketUrl(path, location = window.location) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

export class SheetConnection {
  /**
   * handlers: onEvents(events), onSnapshot(frame), onAck(id, seqs), onReject(id, frame),
   * onError(frame), onStatus(status), onFinal(message), onFrame(direction, frame) (debugging).
   */
  constructor({ url, since, handlers, timing = {} }) {
    this.url = url;
    this.lastSeq = since;
    this.handlers = handlers;
    this.timing = { ...DEFAULT_TIMING, ...timing };
    // client_event_id -> {message, sentOn, unanswered}; a Map keeps the
    // order the operations were made in, which is the order they are sent.
    this.outbox = new Map();
    this.gapsSeen = 0; // holes and stale pong heads since the last ping
    this.status = Status.CONNECTING;
    this.ws = null;
    this.generation = 0; // which socket an edit was last sent on
    this.subscribed = false; // caught_up seen on this socket and no resubscribe pending
    this.resyncing = false;
    this.attempts = 0;
    this.timers = {};
    this.stopped = false;
    this.warnedTooMany = false;
  }

  get pendingCount() {
    return this.outbox.size;
  }

  start() {
    window.addEventListener("offline", () => this.onBrowserOffline());
    window.addEventListener("online", () => this.onBrowserOnline());
    this.connect();
  }

  /**
   * Queue one operation, {type: "edit", changes} or a structure message
   * ({type: "insert_rows", after, row_ids} …) without its client_event_id;
   * it is sent now if the socket is live, else after the next caught_up.
   */
  submit(id, message) {
    this.outbox.set(id, { message, sentOn: null, unanswered: 0 });
    this.flush();
    this.emitStatus();
  }

  connect() {
    this.clearTimer("reconnect");
    if (this.stopped) return;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.generation += 1;
    for (const entry of this.outbox.values()) entry.unanswered = 0; // the old socket's answers never come
    this.subscribed = false;
    this.resyncing = false;
    this.setTimer("open", this.timing.openTimeout, () => this.abandon("the server did not answer"));
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.clearTimer("open");
      this.send({ type: "subscribe", since: this.lastSeq });
    };
    ws.onmessage = (message) => {
      if (ws !== this.ws) return;
      this.receive(message.data);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      const final = FINAL_CLOSES.get(event.code);
      if (final) {
        this.stop(final);
        return;
      }
      if (event.code === CLOSE_TOO_MANY_CONNECTIONS) {
        // Every other tab of this user holds a socket: retry, but slowly.
        this.attempts = Math.max(this.attempts, 10);
        if (!this.warnedTooMany) {
          this.warnedTooMany = true;
          this.handlers.onError({ type: "error", code: "too_many_connections", message: TOO_MANY_CONNECTIONS });
        }
      }
      this.scheduleReconnect();
    };
  }

  // Drop a socket that we no longer trust and start over; its late frames are ignored.
  abandon(reason) {
    this.detach(reason);
    this.scheduleReconnect();
  }

  detach(reason = "") {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      ws.close(4000, reason.slice(0, 100));
    }
  }

  stop(message) {
    this.stopped = true;
    this.clearAllTimers();
    this.detach("stopped");
    this.setStatus(Status.CLOSED);
    this.handlers.onFinal?.(message);
  }

  scheduleReconnect() {
    this.ws = null;
    this.subscribed = false;
    this.clearTimer("open");
    this.clearTimer("ping");
    this.clearTimer("pong");
    if (this.stopped) return;
    this.setStatus(navigator.onLine === false ? Status.OFFLINE : Status.RECONNECTING);
    // Exponential backoff with jitter, so that a restarted server is not
    // hit by every tab at the same instant.
    const ceiling = Math.min(this.timing.backoffCap, this.timing.backoffBase * 2 ** this.attempts);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempts += 1;
    this.setTimer("reconnect", delay, () => this.connect());
  }

  onBrowserOffline() {
    // Chromium can leave an open websocket untouched when the network goes
    // away (and DevTools' offline emulation does exactly that), so the
    // socket is not trusted past this point: drop it and queue edits.
    if (this.stopped) return;
    if (this.ws) this.abandon("browser offline");
    this.setStatus(Status.OFFLINE);
  }

  onBrowserOnline() {
    if (this.stopped || (this.ws && this.ws.readyState === WebSocket.OPEN)) return;
    this.detach();
    this.attempts = 0;
    this.connect();
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch (error) {
      this.handlers.onError({ type: "error", code: "invalid_json", message: `unreadable frame from the server: ${error}` });
      return;
    }
    this.handlers.onFrame?.("in", frame);
    switch (frame.type) {
      case "events":
        this.onEventsFrame(frame.events);
        break;
      case "snapshot":
        this.lastSeq = frame.head;
        this.handlers.onSnapshot(frame);
        break;
      case "caught_up":
        this.onCaughtUp(frame.head);
        break;
      case "ack":
        this.onAck(frame);
        break;
      case "pong":
        this.clearTimer("pong");
        if (frame.head > this.lastSeq) {
          this.gapsSeen += 1;
          this.resync();
        }
        break;
      case "error":
        this.onErrorFrame(frame);
        break;
      default:
        this.handlers.onError({ type: "error", code: "invalid_message", message: `unknown frame type ${frame.type}` });
    }
  }

  onEventsFrame(events) {
    const fresh = [];
    for (const event of events) {
      if (event.seq <= this.lastSeq) continue; // already applied (a replay overlap)
      if (event.seq !== this.lastSeq + 1) {
        // A hole: the server skipped something. Ask again from what we have.
        this.gapsSeen += 1;
        this.resync();
        break;
      }
      fresh.push(event);
      this.lastSeq = event.seq;
    }
    if (fresh.length) this.handlers.onEvents(fresh);
  }

  onCaughtUp(head) {
    this.resyncing = false;
    if (head > this.lastSeq) {
      this.resync();
      return;
    }
    this.subscribed = true;
    this.attempts = 0;
    this.warnedTooMany = false;
    this.setStatus(Status.LIVE);
    this.schedulePing();
    this.flush();
  }

  onAck(frame) {
    // A late duplicate ack is ignored; an ack while a resend is planned
    // means the first send was committed after all: nothing to resend.
    if (!this.outbox.delete(frame.client_event_id)) return;
    this.handlers.onAck(frame.client_event_id, frame.seqs);
    this.emitStatus();
  }

  onErrorFrame(frame) {
    const id = frame.client_event_id;
    if (id && this.outbox.has(id)) {
      const entry = this.outbox.get(id);
      entry.unanswered = Math.max(0, entry.unanswered - 1);
      // Not the answer to its last send, or it will be sent again anyway
      // (an earlier operation is being retried): the next answer decides.
      if (entry.unanswered > 0 || entry.sentOn === null) return;
      if (RETRYABLE.has(frame.code)) {
        // Operations apply in the order sent, and a later one may need this
        // one (an edit of a row it inserts): send it and everything after
        // it again, in order. Answers already on their way for those later
        // ones are ignored, except acks.
        let later = false;
        for (const [other, each] of this.outbox) {
          if (other === id) later = true;
          if (later) each.sentOn = null;
        }
        this.setTimer("retry", this.timing.retryDelay, () => this.flush());
        if (frame.code !== "not_subscribed") this.handlers.onError(frame);
        return;
      }
      this.outbox.delete(id);
      this.handlers.onReject(id, frame);
      this.emitStatus();
      return;
    }
    if (frame.code === "since_ahead") {
      this.stop("The server's copy of this sheet is older than this page. Reload the page.");
      return;
    }
    this.handlers.onError(frame);
  }

  // Resubscribe on the same socket from the last applied seq.
  resync() {
    if (this.resyncing || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.resyncing = true;
    this.subscribed = false;
    this.send({ type: "subscribe", since: this.lastSeq });
  }

  // Send every queued operation not yet sent on this socket, in order, with its original client_event_id.
  flush() {
    if (!this.subscribed || this.resyncing || !this.ws) return;
    for (const [id, entry] of this.outbox) {
      if (entry.sentOn === this.generation) continue;
      entry.sentOn = this.generation;
      entry.unanswered += 1;
      this.send({ type: entry.message.type, client_event_id: id, ...entry.message });
    }
  }

  schedulePing() {
    this.setTimer("ping", this.timing.pingInterval, () => {
      // One ping at a time: a new ping must not push back the deadline of
      // the one still unanswered. The server answers frames in order, so a
      // ping behind a resubscribe is fine.
      if (this.timers.pong === undefined) {
        // Report the gaps seen since the last ping (docs/protocol.md): the
        // server counts them, so operators see lost live messages.
        const ping = { type: "ping" };
        if (this.gapsSeen > 0) ping.gaps = this.gapsSeen;
        this.gapsSeen = 0;
        this.send(ping);
        this.setTimer("pong", this.timing.pongTimeout, () => this.abandon("no pong"));
      }
      this.schedulePing();
    });
  }

  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.handlers.onFrame?.("out", frame);
    this.ws.send(JSON.stringify(frame));
  }

  setStatus(status) {
    this.status = status;
    this.emitStatus();
  }

  emitStatus() {
    const edits = [...this.outbox.values()].every((entry) => entry.message.type === "edit");
    this.handlers.onStatus(this.status, this.outbox.size, edits ? "edit" : "change");
  }

  setTimer(name, delay, callback) {
    this.clearTimer(name);
    this.timers[name] = setTimeout(() => {
      delete this.timers[name];
      callback();
    }, delay);
  }

  clearTimer(name) {
    if (this.timers[name] !== undefined) {
      clearTimeout(this.timers[name]);
      delete this.timers[name];
    }
  }

  clearAllTimers() {
    for (const name of Object.keys(this.timers)) this.clearTimer(name);
  }
}
