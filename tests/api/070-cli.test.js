'use strict';
// The CLI works on the data directory while a server runs on it.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { startServer, unique, BIN } = require('./helpers');

let s;
before(async () => { s = await startServer(); });
after(async () => { await s.stop(); });

test('version, help and migrate', () => {
  const v = spawnSync(BIN, ['version'], { encoding: 'utf8' });
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^plinth /);
  const h = spawnSync(BIN, ['serve', '--help'], { encoding: 'utf8' });
  assert.equal(h.status, 0);
  for (const flag of ['--listen', '--data-dir', '--workers', '--max-body', 'PLINTH_LISTEN', 'PLINTH_DATA_DIR']) assert.ok(h.stdout.includes(flag), flag);
  const m = s.cli('migrate');
  assert.equal(m.status, 0, m.stderr);
  assert.match(m.stdout, /migrations applied: 0/);
  const bad = spawnSync(BIN, ['frobnicate'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  const badw = spawnSync(BIN, ['serve', '--workers', 'many'], { encoding: 'utf8' });
  assert.equal(badw.status, 2);
});

test('tenant create/list, user create, apikey create — and the server sees them at once', async () => {
  const t = s.cli('tenant', 'create', '--name', 'CLI Corp');
  assert.equal(t.status, 0, t.stderr);
  const tenant = JSON.parse(t.stdout);
  assert.match(tenant.id, /^ten_/);
  const list = JSON.parse(s.cli('tenant', 'list').stdout);
  assert.ok(list.some((x) => x.id === tenant.id));
  const email = `${unique('cli')}@example.com`;
  const u = s.cli('user', 'create', '--email', email, '--password', 'cli-user-passphrase', '--name', 'Cli', '--tenant', tenant.id, '--role', 'admin');
  assert.equal(u.status, 0, u.stderr);
  const login = await s.post('/v1/auth/login', { email, password: 'cli-user-passphrase' });
  assert.equal(login.status, 200, login.text);
  assert.equal(login.body.tenant.id, tenant.id);
  assert.equal(login.body.role, 'admin');
  const k = s.cli('apikey', 'create', '--tenant', tenant.id, '--name', 'deploy', '--role', 'editor');
  assert.equal(k.status, 0, k.stderr);
  const key = JSON.parse(k.stdout).key;
  const me = await s.get('/v1/me', { token: key });
  assert.equal(me.status, 200);
  assert.equal(me.body.role, 'editor');
  // bad input is refused with a message
  const weak = s.cli('user', 'create', '--email', `${unique()}@example.com`, '--password', 'short');
  assert.notEqual(weak.status, 0);
  assert.match(weak.stderr, /password/);
  const dup = s.cli('user', 'create', '--email', email, '--password', 'cli-user-passphrase');
  assert.notEqual(dup.status, 0);
  assert.notEqual(s.cli('apikey', 'create', '--tenant', 'ten_00000000000000000000000000').status, 0);
});

test('demo fills the store and prints how to log in; it can run twice', async () => {
  const d = s.cli('demo', '--members', '300');
  assert.equal(d.status, 0, d.stderr);
  assert.match(d.stdout, /owner@acme\.test/);
  assert.match(d.stdout, /Members: 300/);
  const key = d.stdout.match(/API key \(admin, shown once\): (pk_live_\S+)/)[1];
  assert.equal((await s.get('/v1/team?include_total=true', { token: key })).body.total, 4);
  for (const [email, role] of [['owner@acme.test', 'owner'], ['admin@acme.test', 'admin'], ['editor@acme.test', 'editor'], ['viewer@acme.test', 'viewer']]) {
    const l = await s.post('/v1/auth/login', { email, password: 'plinth-demo-2026' });
    assert.equal(l.status, 200, l.text);
    assert.equal(l.body.role, role);
  }
  const op = await s.post('/v1/auth/login', { email: 'operator@plinth.test', password: 'plinth-demo-2026' });
  assert.equal((await s.get('/v1/admin/tenants', { token: op.body.access_token })).status, 200);
  const types = await s.get('/v1/membership-types', { token: key });
  assert.equal(types.body.data.length, 5);
  const members = await s.get('/v1/members?include_total=true', { token: key });
  assert.equal(members.body.total, 300);
  const e = await s.get('/v1/analytics/engagement?timeframe=366d', { token: key });
  assert.equal(e.body.totals.activities, 3000);
  const again = s.cli('demo', '--members', '300');
  assert.equal(again.status, 0, again.stderr);
});
