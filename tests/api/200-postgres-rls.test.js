'use strict';
// Row-level security on PostgreSQL, seen from the database itself: the app role Plinth
// connects as reads nothing of a tenant table without a tenant setting, only tenant A's rows
// under A's, and cannot write B's rows under A's; every tenant table forces RLS and has an
// index led by tenant_id; serve refuses a role that would not be bound. Runs when the suite
// runs on PostgreSQL (PLINTH_TEST_PG; make api-postgres).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const { startServer, pgDatabase, unique, BIN } = require('./helpers');

const PG = process.env.PLINTH_TEST_PG;
const skip = PG ? false : 'runs on PostgreSQL only (PLINTH_TEST_PG)';
let s;
let A;
let B;

// psql as a role: statements in one session; returns the output lines (or throws with stderr).
function psql(url, text, { fail = false } = {}) {
  const r = spawnSync('psql', [url, '-qAtX', '-v', 'ON_ERROR_STOP=1', '-c', text], { encoding: 'utf8' });
  if (fail) {
    assert.notEqual(r.status, 0, `expected a refusal: ${text}\n${r.stdout}`);
    return r.stderr;
  }
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').filter(Boolean);
}
const app = (t, o) => psql(s.env.PLINTH_DATABASE_URL, t, o);
const owner = (t, o) => psql(s.env.PLINTH_MIGRATE_URL, t, o);

// every table that holds tenant rows (the owner sees the catalog either way)
function tenantTables() {
  return owner(`SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
    WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace ORDER BY 1`);
}

before(async () => {
  if (!PG) return;
  s = await startServer();
  A = await s.signup();
  B = await s.signup();
  for (const u of [A, B]) {
    for (let i = 0; i < 3; i++) {
      const r = await s.post('/v1/members', { first_name: 'R', last_name: `L${i}`, email: `${unique('m')}@example.com` }, { token: u.token });
      assert.equal(r.status, 201, r.text);
    }
    assert.equal((await s.post('/v1/api-keys', { name: 'k', role: 'viewer' }, { token: u.token })).status, 201);
  }
});

after(async () => {
  if (s) await s.stop();
});

test('every tenant table forces row-level security and has an index led by tenant_id', { skip }, () => {
  const tables = tenantTables();
  assert.ok(tables.length >= 15, tables.join(','));
  const rows = owner(`SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
      EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
              WHERE i.indrelid = c.oid AND a.attname = 'tenant_id'),
      (SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname AND p.policyname = 'tenant_isolation'
         AND p.qual LIKE '%app.tenant_id%' AND p.with_check LIKE '%app.tenant_id%')
    FROM pg_class c WHERE c.relname IN (${tables.map((t) => `'${t}'`).join(',')}) ORDER BY 1`);
  for (const line of rows) assert.equal(line.split('|').slice(1).join('|'), 't|t|t|1', line);
  // the app role owns nothing and cannot switch the policies off
  assert.match(app('ALTER TABLE members DISABLE ROW LEVEL SECURITY', { fail: true }), /must be owner/);
  assert.match(app('DROP POLICY tenant_isolation ON members', { fail: true }), /must be owner/);
  assert.deepEqual(app("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"), ['f|f']);
});

test('the app role sees no tenant row without the setting, only A\'s under A\'s, and cannot write B\'s', { skip }, async () => {
  await s.stop({ keepData: true }); // no background writes while the counts are compared
  const tables = tenantTables();
  // without the setting: 0 rows everywhere (while the owner's view shows there are rows)
  const none = app(tables.map((t) => `SELECT '${t}', count(*) FROM ${t}`).join(' UNION ALL '));
  for (const line of none) assert.match(line, /\|0$/, line);
  const all = owner(tables.map((t) => `SELECT '${t}', count(*) FROM ${t} WHERE tenant_id = '${A.tenant.id}'`).join(' UNION ALL '));
  const mine = Object.fromEntries(all.map((l) => l.split('|')));
  assert.ok(Number(mine.members) === 3 && Number(mine.api_keys) === 1 && Number(mine.audit_log) > 3, all.join(' '));
  // under A's setting: exactly A's rows, nothing of B
  const ctx = `SELECT set_config('app.tenant_id', '${A.tenant.id}', false);`;
  const seen = app(`${ctx} ${tables.map((t) => `SELECT '${t}', count(*), count(*) FILTER (WHERE tenant_id <> '${A.tenant.id}') FROM ${t}`).join(' UNION ALL ')}`).slice(1);
  for (const line of seen) {
    const [t, n, foreign] = line.split('|');
    assert.equal(foreign, '0', line);
    assert.equal(n, mine[t], `${t}: ${n} rows under A's setting, A has ${mine[t]}`);
  }
  // writing B's rows under A's setting: refused or touches nothing
  assert.match(app(`${ctx} INSERT INTO tenant_sequences (tenant_id, name, value) VALUES ('${B.tenant.id}', 'x', 1)`, { fail: true }),
    /row-level security/);
  assert.match(app(`${ctx} UPDATE members SET tenant_id = '${B.tenant.id}' WHERE tenant_id = '${A.tenant.id}'`, { fail: true }),
    /row-level security/);
  assert.deepEqual(app(`${ctx} WITH u AS (UPDATE members SET first_name = 'X' WHERE tenant_id = '${B.tenant.id}' RETURNING 1) SELECT count(*) FROM u`).slice(1), ['0']);
  assert.deepEqual(app(`${ctx} WITH d AS (DELETE FROM api_keys WHERE tenant_id = '${B.tenant.id}' RETURNING 1) SELECT count(*) FROM d`).slice(1), ['0']);
  assert.equal(owner(`SELECT count(*) FROM members WHERE tenant_id = '${B.tenant.id}' AND first_name = 'R'`)[0], '3');
});

test('serve refuses a superuser, a BYPASSRLS role and a role that owns a table', { skip }, async () => {
  const db = new URL(s.env.PLINTH_MIGRATE_URL);
  const as = (user) => { const u = new URL(db); u.username = user; return u.toString(); };
  owner(`DO $$ BEGIN CREATE ROLE plinth_bypass LOGIN BYPASSRLS; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
         DO $$ BEGIN CREATE ROLE plinth_owns LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
         GRANT CREATE ON SCHEMA public TO plinth_owns;`);
  psql(as('plinth_owns'), 'CREATE TABLE IF NOT EXISTS stray (x int)');
  for (const [user, why] of [[db.username, /superuser/], ['plinth_bypass', /BYPASSRLS/], ['plinth_owns', /owns 1 tables/]]) {
    const r = spawnSync(BIN, ['serve', '--listen', '127.0.0.1:0', '--data-dir', s.dataDir], {
      env: { ...s.env, PLINTH_DATABASE_URL: as(user), PLINTH_MIGRATE_URL: '' }, encoding: 'utf8', timeout: 20000,
    });
    assert.notEqual(r.status, 0, `${user} was accepted`);
    assert.match(r.stderr, why, r.stderr);
  }
  psql(as('plinth_owns'), 'DROP TABLE stray');
  // a database without the schema: serve without the owner's URL says what to do
  const fresh = pgDatabase(`t_fresh_${process.pid}`);
  const r = spawnSync(BIN, ['serve', '--listen', '127.0.0.1:0', '--data-dir', s.dataDir], {
    env: { ...s.env, PLINTH_DATABASE_URL: fresh.app, PLINTH_MIGRATE_URL: '' }, encoding: 'utf8', timeout: 20000,
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /--migrate-url/);
});
