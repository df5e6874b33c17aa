// Test harness: starts the real plinth binary on a free port with a temp data directory,
// talks to it with fetch, and checks on stop that it exited cleanly with no sanitizer report.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const http = require('node:http');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const assert = require('node:assert/strict');

const BIN = process.env.PLINTH_BIN || path.resolve(__dirname, '../../build/plinth');
const SANITIZER = /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer/;

let counter = 0;
function unique(prefix = 'u') {
  counter += 1;
  return `${prefix}${process.pid}x${Date.now().toString(36)}x${counter}`;
}

// A database of the test PostgreSQL server (PLINTH_TEST_PG) with the role plinth_app;
// returns the app's and the owner's URLs. An existing database is kept (a restart).
function pgDatabase(name) {
  const run = (q) => spawnSync('psql', [process.env.PLINTH_TEST_PG, '-qAtX', '-c', q], { encoding: 'utf8' });
  let r = run('CREATE ROLE plinth_app LOGIN');
  if (r.status !== 0 && !/already exists/.test(r.stderr)) throw new Error(`cannot create the app role: ${r.stderr}`);
  r = run(`CREATE DATABASE ${name}`);
  if (r.status !== 0 && !/already exists/.test(r.stderr)) throw new Error(`cannot create a test database: ${r.stderr}`);
  const owner = new URL(process.env.PLINTH_TEST_PG);
  owner.pathname = `/${name}`;
  const app = new URL(owner);
  app.username = 'plinth_app';
  return { owner: owner.toString(), app: app.toString() };
}

class Server {
  constructor(opts = {}) {
    this.dataDir = opts.dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'plinth-test-'));
    // Generous default buckets so that tests about other things are never throttled; the
    // rate-limit tests pass their own.
    this.env = {
      ...process.env,
      PLINTH_RATE_LIMIT_TENANT: '100000:100000',
      PLINTH_RATE_LIMIT_KEY: '100000:100000',
      PLINTH_RATE_LIMIT_IP: '100000:100000',
      PLINTH_RATE_LIMIT_AUTH: '100000:100000',
      ...(opts.env || {}),
    };
    this.args = opts.args || [];
    this.log = '';
    this.lines = [];
    // PLINTH_TEST_PG=postgres://…/db: each server gets a database of its own on that
    // PostgreSQL (as each SQLite server gets its own data directory); a restart keeps it.
    // Plinth connects as the app role plinth_app (row-level security binds it) and migrates
    // as the server's superuser, the schema's owner (PLINTH_MIGRATE_URL).
    if (process.env.PLINTH_TEST_PG && !this.env.PLINTH_DATABASE_URL) {
      const name = `t_${path.basename(this.dataDir).replace(/[^a-z0-9]/gi, '_').toLowerCase()}`;
      const db = pgDatabase(name);
      this.env.PLINTH_DATABASE_URL = db.app;
      this.env.PLINTH_MIGRATE_URL = db.owner;
    }
  }

  start() {
    return new Promise((resolve, reject) => {
      const args = ['serve', '--listen', '127.0.0.1:0', '--data-dir', this.dataDir, '--workers', '2', ...this.args];
      this.proc = spawn(BIN, args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let partial = '';
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${this.log}`)), 20000);
      const onData = (chunk) => {
        const text = chunk.toString();
        this.log += text;
        partial += text;
        let nl;
        while ((nl = partial.indexOf('\n')) >= 0) {
          const line = partial.slice(0, nl);
          partial = partial.slice(nl + 1);
          try {
            const obj = JSON.parse(line);
            this.lines.push(obj);
            if (obj.msg === 'listening') {
              clearTimeout(timer);
              this.address = obj.address;
              this.url = `http://${obj.address}`;
              resolve(this);
            }
          } catch { /* not JSON: sanitizer output or similar, kept in this.log */ }
        }
      };
      this.proc.stderr.on('data', onData);
      this.proc.stdout.on('data', (c) => { this.log += c.toString(); });
      this.proc.on('exit', (code, sig) => {
        this.exit = { code, sig };
        clearTimeout(timer);
        if (!this.url) reject(new Error(`server exited (${code}/${sig}) before listening:\n${this.log}`));
      });
    });
  }

  // Stops the server with SIGTERM and asserts a clean exit and a sanitizer-free log.
  async stop({ keepData = false } = {}) {
    if (this.proc && !this.exit) {
      const done = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await done;
    }
    assert.doesNotMatch(this.log, SANITIZER, `sanitizer report in server log:\n${this.log.slice(-8000)}`);
    assert.equal(this.exit.code, 0, `server exit ${JSON.stringify(this.exit)}:\n${this.log.slice(-4000)}`);
    if (!keepData) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }

  kill9() {
    this.proc.kill('SIGKILL');
    return new Promise((r) => this.proc.once('exit', r));
  }

  // Runs one SQL statement on this server's database as its owner (the sqlite3 CLI or psql),
  // for tests that inspect or tamper with stored rows behind Plinth's back; returns stdout.
  sql(text) {
    const r = this.env.PLINTH_MIGRATE_URL
      ? spawnSync('psql', [this.env.PLINTH_MIGRATE_URL, '-qAtX', '-v', 'ON_ERROR_STOP=1', '-c', text], { encoding: 'utf8' })
      : spawnSync('sqlite3', ['-cmd', '.timeout 5000', path.join(this.dataDir, 'plinth.db'), text], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  }

  // Runs a CLI command on this server's data directory.
  cli(...args) {
    const r = spawnSync(BIN, [...args, '--data-dir', this.dataDir], { env: this.env, encoding: 'utf8' });
    assert.doesNotMatch(r.stderr, SANITIZER, r.stderr);
    return r;
  }

  // The newest mail line for an address (mail goes to the log until SMTP exists). The log
  // arrives on another pipe than the HTTP answer, so wait for it a little.
  async mailTo(email, { after = 0 } = {}) {
    for (let i = 0; i < 100; i++) {
      const m = this.lines.filter((l) => l.msg === 'mail' && l.to.toLowerCase() === email.toLowerCase());
      if (m.length > after) return m[m.length - 1];
      await new Promise((r) => setTimeout(r, 20));
    }
    return undefined;
  }

  // Polls GET /v1/jobs/{id} until the job is in one of the states (default: finished).
  async waitJob(id, token, { states = ['succeeded', 'failed', 'dead'], ms = 15000 } = {}) {
    const t0 = Date.now();
    for (;;) {
      const r = await this.get(`/v1/jobs/${id}`, { token });
      assert.equal(r.status, 200, r.text);
      if (states.includes(r.body.state)) return r.body;
      if (Date.now() - t0 > ms) throw new Error(`job ${id} is still ${r.body.state}: ${r.text}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }

  mailCount(email) {
    return this.lines.filter((l) => l.msg === 'mail' && l.to.toLowerCase() === email.toLowerCase()).length;
  }

  async req(method, p, { token, body, headers = {}, raw } = {}) {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    let payload;
    if (raw !== undefined) payload = raw;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      if (!h['content-type']) h['content-type'] = 'application/json';
    }
    const res = await fetch(this.url + p, { method, headers: h, body: payload });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    return { status: res.status, headers: res.headers, body: json, text };
  }

  get(p, o) { return this.req('GET', p, o); }
  post(p, body, o = {}) { return this.req('POST', p, { ...o, body }); }
  patch(p, body, o = {}) { return this.req('PATCH', p, { ...o, body }); }
  del(p, o) { return this.req('DELETE', p, o); }

  // Signs up a fresh user + organization; returns {token, refresh, user, tenant, email, password}.
  async signup(extra = {}) {
    const email = extra.email || `${unique('user')}@example.com`;
    const password = extra.password || 'a-Long-enough-passphrase-42';
    const r = await this.post('/v1/auth/signup', {
      email, password, name: extra.name || 'Test User', organization: extra.organization || `Org ${unique('o')}`,
    });
    assert.equal(r.status, 201, r.text);
    return { token: r.body.access_token, refresh: r.body.refresh_token, user: r.body.user, tenant: r.body.tenant, email, password };
  }

  async apiKey(token, role = 'admin') {
    const r = await this.post('/v1/api-keys', { name: `k-${role}`, role }, { token });
    assert.equal(r.status, 201, r.text);
    return r.body;
  }
}

async function startServer(opts) {
  const s = new Server(opts);
  await s.start();
  return s;
}

// Asserts an RFC 9457 problem with the given status and code.
function assertProblem(r, status, code) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.text}`);
  assert.match(r.headers.get('content-type') || '', /^application\/problem\+json/);
  assert.equal(r.body.status, status);
  if (code) assert.equal(r.body.code, code, r.text);
  for (const k of ['type', 'title', 'status', 'detail', 'code']) assert.ok(k in r.body, `problem lacks ${k}`);
  return r.body;
}

// Creates an operator (platform tenant owner) with the CLI and logs in.
async function operator(s) {
  const email = `${unique('op')}@plinth.test`;
  const password = 'operator-passphrase-77';
  const r = s.cli('user', 'create', '--email', email, '--password', password, '--operator');
  assert.equal(r.status, 0, r.stderr);
  const login = await s.post('/v1/auth/login', { email, password });
  assert.equal(login.status, 200, login.text);
  return { token: login.body.access_token, email, password, tenant: login.body.tenant };
}

// A real SMTP server on loopback (npm smtp-server) that keeps what it receives in inbox.
// plan: what it does with the next messages — 'ok', 'fail' (451, try later) or 'hang' (it
// takes the message and never answers); empty means 'ok'.
class SmtpSink {
  constructor() { this.inbox = []; this.plan = []; this.hung = 0; this.port = 0; }

  listen(port = 0) {
    // required here so that tests without mail do not need the package
    const { SMTPServer } = require('smtp-server');
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, cb) => {
        let raw = '';
        stream.on('data', (d) => { raw += d; });
        stream.on('end', () => {
          const what = this.plan.length ? this.plan.shift() : 'ok';
          if (what === 'hang') { this.hung += 1; return; }
          if (what === 'fail') {
            const e = new Error('mailbox busy, try again later');
            e.responseCode = 451;
            cb(e);
            return;
          }
          this.inbox.push({ from: session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address), raw });
          cb();
        });
      },
    });
    return new Promise((r) => this.server.listen(port, '127.0.0.1', () => { this.port = this.server.server.address().port; r(this); }));
  }

  close() { return new Promise((r) => this.server.close(r)); }

  get url() { return `smtp://127.0.0.1:${this.port}`; }

  // The first message to addr, waiting for it up to ms.
  async mailFor(addr, ms = 15000) {
    const t0 = Date.now();
    for (;;) {
      const m = this.inbox.find((x) => x.to.includes(addr));
      if (m) return m;
      if (Date.now() - t0 > ms) throw new Error(`no mail for ${addr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}


// Opens GET /v1/stream on a server and collects its events; returns {res, events, close}.
async function openStream(server, token, lastEventId) {
  const ac = new AbortController();
  const headers = { authorization: `Bearer ${token}` };
  if (lastEventId) headers['last-event-id'] = lastEventId;
  const res = await fetch(`${server.url}/v1/stream`, { headers, signal: ac.signal });
  const events = [];
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = {};
          for (const line of frame.split('\n')) {
            const m = line.match(/^(id|event|data): (.*)$/);
            if (m) ev[m[1]] = m[2];
          }
          if (ev.id) events.push({ ...ev, data: JSON.parse(ev.data) });
        }
      }
    } catch { /* aborted */ }
  })();
  return { res, events, close: () => ac.abort() };
}

// A webhook receiver on loopback: answers 500 to the first failFirst calls, or never (hang).
function receiver({ failFirst = 0, port = 0, hang = false } = {}) {
  const got = [];
  const hung = [];
  let calls = 0;
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      calls += 1;
      if (hang) { // takes the request and never answers (the sender times out)
        hung.push(res);
        return;
      }
      if (calls <= failFirst) {
        res.writeHead(500).end('not yet');
        return;
      }
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => srv.listen(port, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${srv.address().port}/hook`, port: srv.address().port, got, calls: () => calls,
    close: () => { hung.forEach((r) => r.destroy()); srv.closeAllConnections(); return new Promise((r) => srv.close(r)); },
  })));
}

// Waits until fn() (sync or async) gives a truthy value, which it returns.
async function until(fn, ms = 15000) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

module.exports = {
  openStream, receiver, until,
  pgDatabase, startServer, assertProblem, operator, unique, BIN, SmtpSink };
