'use strict';
// PostgreSQL goes away and comes back: while it is down requests get a 503 problem, and a
// few seconds after it is back they succeed again, without restarting Plinth. A server of
// its own (tests/tools/pg-server), so that stopping it disturbs no other test.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { startServer, unique, until } = require('./helpers');

const skip = process.env.PLINTH_TEST_PG ? false : 'runs on PostgreSQL only (PLINTH_TEST_PG)';
const tool = path.resolve(__dirname, '../tools/pg-server');
const pgBin = () => fs.readdirSync('/usr/lib/postgresql').sort().map((v) => `/usr/lib/postgresql/${v}/bin`).pop();
function pgctl(dir, ...args) {
  const cmd = [`${pgBin()}/pg_ctl`, '-D', `${dir}/data`, '-w', ...args];
  const r = process.getuid() === 0 ? spawnSync('runuser', ['-u', 'postgres', '--', ...cmd], { encoding: 'utf8' }) : spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

test('requests get 503 while PostgreSQL is down and succeed again after it is back', { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plinth-pgr-'));
  const start = spawnSync(tool, ['start', `${dir}/pg`], { encoding: 'utf8' });
  assert.equal(start.status, 0, start.stderr);
  const owner = start.stdout.trim();
  spawnSync('psql', [owner, '-qc', 'CREATE ROLE plinth_app LOGIN'], { encoding: 'utf8' });
  const app = new URL(owner);
  app.username = 'plinth_app';
  const s = await startServer({ env: { PLINTH_DATABASE_URL: app.toString(), PLINTH_MIGRATE_URL: owner } });
  try {
    const u = await s.signup();
    const member = () => ({ first_name: 'Re', last_name: 'Start', email: `${unique('rs')}@example.com` });
    assert.equal((await s.post('/v1/members', member(), { token: u.token })).status, 201);
    const port = fs.readFileSync(`${dir}/pg/port`, 'utf8').trim();
    pgctl(`${dir}/pg`, '-m', 'fast', 'stop');
    const down = await s.post('/v1/members', member(), { token: u.token });
    assert.equal(down.status, 503, down.text);
    assert.match(down.headers.get('content-type'), /^application\/problem\+json/);
    assert.equal((await s.get('/v1/members', { token: u.token })).status, 503);
    pgctl(`${dir}/pg`, '-l', `${dir}/pg/log`, '-o', `-p ${port} -k ${dir}/pg -c listen_addresses=127.0.0.1`, 'start');
    await until(async () => (await s.get('/v1/members', { token: u.token })).status === 200, 10000);
    assert.equal((await s.post('/v1/members', member(), { token: u.token })).status, 201);
    assert.equal((await s.get('/v1/members?include_total=true', { token: u.token })).body.total, 2);
  } finally {
    await s.stop();
    spawnSync(tool, ['stop', `${dir}/pg`]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
