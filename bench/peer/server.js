'use strict';
// The peer of bench/run-postgres: GET /v1/members/:id as the seeds' own stack would serve it
// (Express + node-postgres), doing what Plinth does for the same request: the API key is
// hashed (SHA-256) and looked up with its tenant (then cached in memory, as Plinth caches
// it), the member is read as the app role under row-level security (app.tenant_id set on the
// connection first), and the same JSON fields are returned.
//   PEER_DATABASE_URL=postgres://plinth_app@…/db PEER_PORT=… node bench/peer/server.js
const crypto = require('node:crypto');
const cluster = require('node:cluster');
const os = require('node:os');
const express = require('express');
const { Pool } = require('pg');

const workers = Number(process.env.PEER_WORKERS || os.cpus().length);
if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  const pool = new Pool({ connectionString: process.env.PEER_DATABASE_URL, max: 16 });
  const keys = new Map(); // key hash → tenant id
  const iso = (ms) => (ms === null ? null : new Date(Number(ms)).toISOString());
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  async function tenantOf(auth) {
    const m = /^Bearer (pk_\S+)$/.exec(auth || '');
    if (!m) return null;
    const hash = crypto.createHash('sha256').update(m[1]).digest('hex');
    if (keys.has(hash)) return keys.get(hash);
    const c = await pool.connect();
    try {
      await c.query("SELECT set_config('app.scope', 'control', false)");
      const r = await c.query(
        "SELECT k.tenant_id FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND t.status = 'active'",
        [hash],
      );
      await c.query("SELECT set_config('app.scope', '', false)");
      const tid = r.rows[0] ? r.rows[0].tenant_id : null;
      if (tid) keys.set(hash, tid);
      return tid;
    } finally {
      c.release();
    }
  }

  app.get('/v1/members/:id', async (req, res) => {
    try {
      const tid = await tenantOf(req.get('authorization'));
      if (!tid) return res.status(401).type('application/problem+json').json({ status: 401, code: 'unauthorized' });
      const c = await pool.connect();
      let r;
      try {
        await c.query("SELECT set_config('app.tenant_id', $1, false)", [tid]);
        r = await c.query(
          'SELECT id, first_name, last_name, email, phone, status, membership_type_id, joined_at, last_activity_at, attributes, created_at, updated_at FROM members WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL',
          [tid, req.params.id],
        );
      } finally {
        c.release();
      }
      const m = r.rows[0];
      if (!m) return res.status(404).type('application/problem+json').json({ status: 404, code: 'not_found' });
      return res.json({
        id: m.id, first_name: m.first_name, last_name: m.last_name, email: m.email, phone: m.phone, status: m.status,
        membership_type_id: m.membership_type_id, joined_at: iso(m.joined_at),
        last_activity_at: m.last_activity_at ? iso(m.last_activity_at) : null, attributes: JSON.parse(m.attributes || '{}'),
        created_at: iso(m.created_at), updated_at: iso(m.updated_at),
      });
    } catch (e) {
      return res.status(500).json({ status: 500, detail: String(e) });
    }
  });
  app.listen(Number(process.env.PEER_PORT), '127.0.0.1');
}
