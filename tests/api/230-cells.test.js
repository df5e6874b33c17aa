'use strict';
// Tenant cells: tenants whose data lives in a database of its own (another SQLite file, or
// another PostgreSQL database) or, on PostgreSQL, in a schema of its own. Their members,
// events and audit entries are there and nowhere else; what the control plane does for them
// (keys, the tenant record) reaches their cell; other tenants never see them.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');
const { startServer, assertProblem, operator, unique, pgDatabase, openStream, until, BIN } = require('./helpers');

const PG = !!process.env.PLINTH_TEST_PG;
let s;
let op;
const cells = []; // { name, sql(text) } — SQL on the cell's own tables, as their owner

before(async () => {
  s = await startServer();
  op = await operator(s);
  if (PG) {
    const other = pgDatabase(`c_${path.basename(s.dataDir).replace(/[^a-z0-9]/gi, '_').toLowerCase()}`);
    let r = s.cli('cell', 'add', 'sch', '--kind', 'schema');
    assert.equal(r.status, 0, r.stderr);
    r = s.cli('cell', 'add', 'db2', '--kind', 'database', '--database-url', other.app, '--migrate-url', other.owner);
    assert.equal(r.status, 0, r.stderr);
    const psql = (url, text) => spawnSync('psql', [url, '-qAtX', '-v', 'ON_ERROR_STOP=1', '-c', text], { encoding: 'utf8' }).stdout.trim();
    cells.push({ name: 'sch', sql: (t) => psql(s.env.PLINTH_MIGRATE_URL, `SET search_path TO cell_sch; ${t}`) });
    cells.push({ name: 'db2', sql: (t) => psql(other.owner, t) });
  } else {
    const r = s.cli('cell', 'add', 'eu1', '--kind', 'database', '--database-url', 'sqlite:eu1.db');
    assert.equal(r.status, 0, r.stderr);
    const file = path.join(s.dataDir, 'eu1.db');
    cells.push({ name: 'eu1', sql: (t) => spawnSync('sqlite3', ['-cmd', '.timeout 5000', file, t], { encoding: 'utf8' }).stdout.trim() });
  }
});
after(async () => { await s.stop(); });

// A CLI command that runs while this process goes on serving requests to the server.
function cliAsync(...args) {
  return new Promise((resolve) => {
    const p = spawn(BIN, [...args, '--data-dir', s.dataDir], { env: s.env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

// A tenant in the cell, with an admin API key.
async function tenantIn(cell) {
  const t = await s.post('/v1/admin/tenants', { name: unique('Cell Co'), cell }, { token: op.token });
  assert.equal(t.status, 201, t.text);
  assert.equal(t.body.cell, cell);
  const r = s.cli('apikey', 'create', '--tenant', t.body.id, '--role', 'admin');
  assert.equal(r.status, 0, r.stderr);
  return { id: t.body.id, token: JSON.parse(r.stdout).key };
}

test('plinth cell list shows the pool and the cells added', () => {
  const r = s.cli('cell', 'list');
  assert.equal(r.status, 0, r.stderr);
  const list = JSON.parse(r.stdout);
  assert.deepEqual(list.map((c) => c.name), ['pool', ...cells.map((c) => c.name)]);
  for (const c of list) assert.doesNotMatch(c.database_url || '', /:[^:@/]+@/, 'no password is printed');
  assert.equal(s.cli('cell', 'add', cells[0].name, '--kind', 'schema').status === 0, false, 'a name is taken once');
  assert.notEqual(s.cli('cell', 'add', 'Bad Name', '--kind', 'database').status, 0);
});

test('a tenant of a cell keeps its data there, and sees its own identity events live', async () => {
  for (const cell of cells) {
    const t = await tenantIn(cell.name);
    const es = await openStream(s, t.token);
    try {
      const m = await s.post('/v1/members', { first_name: 'Cel', last_name: 'Lar', email: `${unique('c')}@example.com` }, { token: t.token });
      assert.equal(m.status, 201, m.text);
      assert.equal((await s.get(`/v1/members/${m.body.id}`, { token: t.token })).body.id, m.body.id);
      const k = await s.post('/v1/api-keys', { name: 'second', role: 'viewer' }, { token: t.token });
      assert.equal(k.status, 201, k.text);
      // the member row is in the cell, not in the pool
      assert.equal(cell.sql(`SELECT count(*) FROM members WHERE id = '${m.body.id}'`), '1', cell.name);
      assert.equal(s.sql(`SELECT count(*) FROM members WHERE id = '${m.body.id}'`), '0');
      // the key's event, written by the control plane, reaches the cell's stream and list
      // (the relay's copy may commit with an older transaction id than the member's: the
      // stream sends both in commit order, perhaps in either order of creation)
      await until(() => es.events.find((e) => e.event === 'api_key.created') && es.events.find((e) => e.event === 'member.created'), 5000);
      const types = (await s.get('/v1/events?limit=100', { token: t.token })).body.data.map((e) => e.type);
      for (const want of ['tenant.created', 'api_key.created', 'member.created']) assert.ok(types.includes(want), `${cell.name}: ${types}`);
      await until(() => cell.sql(`SELECT count(*) FROM audit_log WHERE tenant_id = '${t.id}' AND action = 'api_key.created'`) === '2', 5000);
      assert.equal(s.sql(`SELECT count(*) FROM audit_log WHERE tenant_id = '${t.id}'`), '0', 'the relay emptied the pool');
      // usage is counted where the rows are
      const ten = await s.get('/v1/tenant', { token: t.token });
      assert.equal(ten.body.cell, cell.name);
      assert.equal(ten.body.limits.members.usage, 1);
    } finally {
      es.close();
    }
  }
});

test('tenants of different cells cannot reach each other', async () => {
  const pool = await s.signup();
  const pm = (await s.post('/v1/members', { first_name: 'Po', last_name: 'Ol', email: `${unique('p')}@example.com` }, { token: pool.token })).body;
  for (const cell of cells) {
    const t = await tenantIn(cell.name);
    const cm = (await s.post('/v1/members', { first_name: 'Ce', last_name: 'Ll', email: `${unique('q')}@example.com` }, { token: t.token })).body;
    assertProblem(await s.get(`/v1/members/${cm.id}`, { token: pool.token }), 404);
    assertProblem(await s.get(`/v1/members/${pm.id}`, { token: t.token }), 404);
    assertProblem(await s.patch(`/v1/members/${pm.id}`, { first_name: 'X' }, { token: t.token }), 404);
    assert.equal((await s.get('/v1/members?limit=100', { token: t.token })).body.data.length, 1);
  }
});

test('an unknown cell is refused; the audit chains of every cell verify', async () => {
  const p = assertProblem(await s.post('/v1/admin/tenants', { name: 'Nowhere', cell: 'nope' }, { token: op.token }), 422);
  assert.equal(p.errors[0].field, 'cell');
  const r = s.cli('audit', 'verify');
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /ok/);
});

test('plinth tenant move copies a tenant to another cell while it is written, and back', async () => {
  const t = await s.signup();
  // no plan limit or quota may end the writer early, however long the moves take here
  assert.equal((await s.patch(`/v1/admin/tenants/${t.tenant.id}`, { plan: 'enterprise' }, { token: op.token })).status, 200);
  const made = [];
  for (let i = 0; i < 20; i++) {
    made.push((await s.post('/v1/members', { first_name: `Mo${i}`, last_name: 'Ver', email: `${unique('mv')}@example.com` }, { token: t.token })).body.id);
  }
  const route = ['pool', ...cells.map((c) => c.name), 'pool'];
  for (let hop = 1; hop < route.length; hop++) {
    // a writer and a reader run through the move; a write refused while the data moves is
    // retried, as the answer says
    let stop = false;
    const refused = [];
    let reads = 0;
    const writer = (async () => {
      while (!stop) {
        const r = await s.post('/v1/members', { first_name: 'Dur', last_name: 'Ing', email: `${unique('w')}@example.com` }, { token: t.token });
        if (r.status === 201) {
          made.push(r.body.id);
          await new Promise((res) => setTimeout(res, 25));
        } else {
          assert.equal(r.status, 503, `${r.status} ${r.text}`);
          assert.equal(r.body.code, 'tenant_moving');
          assert.equal(r.headers.get('retry-after'), '1');
          refused.push(r.status);
          await new Promise((res) => setTimeout(res, 100));
        }
      }
    })();
    const reader = (async () => {
      while (!stop) {
        const r = await s.get(`/v1/members/${made[0]}`, { token: t.token });
        assert.equal(r.status, 200, r.text);
        reads++;
        await new Promise((res) => setTimeout(res, 15));
      }
    })();
    await new Promise((res) => setTimeout(res, 200));
    const mv = await cliAsync('tenant', 'move', t.tenant.id, '--to', route[hop]);
    assert.equal(mv.status, 0, mv.stderr);
    const out = JSON.parse(mv.stdout);
    console.log(`moved ${route[hop - 1]} → ${route[hop]}: ${out.rows} rows, writes paused ${out.write_pause_ms} ms, ${refused.length} writes refused and retried, ${reads} reads`);
    assert.equal(out.old_rows_removed, true);
    await new Promise((res) => setTimeout(res, 1200)); // every cache has the new home
    stop = true;
    await Promise.all([writer, reader]);
    // every acknowledged member is there, once, in the new cell only
    const list = await s.get('/v1/members?limit=100&include_total=true', { token: t.token });
    assert.equal(list.body.total, made.length);
    assert.deepEqual(new Set(list.body.data.map((m) => m.id)).size, Math.min(100, made.length));
    const inPool = Number(s.sql(`SELECT count(*) FROM members WHERE tenant_id = '${t.tenant.id}'`));
    assert.equal(inPool, route[hop] === 'pool' ? made.length : 0);
    const cell = cells.find((c) => c.name === route[hop]);
    if (cell) assert.equal(Number(cell.sql(`SELECT count(*) FROM members WHERE tenant_id = '${t.tenant.id}'`)), made.length);
    const ten = await s.get('/v1/tenant', { token: t.token });
    assert.equal(ten.body.cell, route[hop]);
  }
  // the tenant's own events went with it, the moves' events followed (the relay)
  const first = (await s.get('/v1/events?limit=1', { token: t.token })).body.data[0];
  assert.equal(first.type, 'tenant.created');
  await until(async () => (await s.get('/v1/events?type=tenant.moved&limit=100', { token: t.token })).body.data.length === route.length - 1, 5000).catch(async (e) => {
    console.log(JSON.stringify((await s.get('/v1/events?type=tenant&limit=100', { token: t.token })).body));
    console.log(s.sql(`SELECT type, tenant_id, tenant_seq FROM events WHERE type LIKE 'tenant.%'`));
    throw e;
  });
  const v = s.cli('audit', 'verify', '--tenant', t.tenant.id);
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.equal(s.cli('tenant', 'move', t.tenant.id, '--to', 'pool').status, 1, 'already there');
  assert.equal(s.cli('tenant', 'move', t.tenant.id, '--to', 'nowhere').status, 1);
});

test('a plan names the cell its new organizations are placed in', async () => {
  const plans = (await s.get('/v1/admin/plans', { token: op.token })).body.data;
  const starter = plans.find((p) => p.key === 'starter');
  assert.equal(starter.cell, 'pool');
  const bad = assertProblem(await s.patch(`/v1/admin/plans/${starter.id}`, { cell: 'nope' }, { token: op.token }), 422);
  assert.equal(bad.errors[0].field, 'cell');
  const r = await s.patch(`/v1/admin/plans/${starter.id}`, { cell: cells[0].name }, { token: op.token });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.cell, cells[0].name);
  try {
    const t = await s.signup();
    assert.equal(t.tenant.cell, cells[0].name);
    const m = await s.post('/v1/members', { first_name: 'Pl', last_name: 'An', email: `${unique('pl')}@example.com` }, { token: t.token });
    assert.equal(m.status, 201, m.text);
    assert.equal(cells[0].sql(`SELECT count(*) FROM members WHERE id = '${m.body.id}'`), '1');
  } finally {
    assert.equal((await s.patch(`/v1/admin/plans/${starter.id}`, { cell: 'pool' }, { token: op.token })).body.cell, 'pool');
  }
});
