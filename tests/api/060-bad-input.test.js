'use strict';
// Bad input always gets an RFC 9457 problem with a stable code and writes nothing.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, assertProblem, unique } = require('./helpers');

let s;
let O;
before(async () => { s = await startServer(); O = await s.signup(); });
after(async () => { await s.stop(); });

const json = { 'content-type': 'application/json' };

test('malformed JSON, invalid UTF-8, duplicate keys, non-objects: 400 validation_failed naming the body', async () => {
  const cases = [
    '{"name": "x"',
    '{name: "x"}',
    Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    '{"name":"a","name":"b"}',
    '[1,2,3]',
    '"just a string"',
    '{"name":"\\u0000"}',
  ];
  for (const raw of cases) {
    const r = await s.req('POST', '/v1/api-keys', { token: O.token, headers: json, raw });
    const p = assertProblem(r, 400, 'validation_failed');
    assert.equal(p.errors[0].field, 'body');
  }
});

test('nesting deeper than 64 is refused before parsing', async () => {
  const deep = `{"name":${'['.repeat(100)}${']'.repeat(100)},"role":"viewer"}`;
  const p = assertProblem(await s.req('POST', '/v1/api-keys', { token: O.token, headers: json, raw: deep }), 400, 'validation_failed');
  assert.match(p.detail, /deeper than 64/);
  const ok64 = `{"name":"x","role":"viewer","x":${'['.repeat(62)}${']'.repeat(62)}}`;
  assertProblem(await s.req('POST', '/v1/api-keys', { token: O.token, headers: json, raw: ok64 }), 422, 'validation_failed');
});

test('wrong types, missing and unknown fields are each named (422)', async () => {
  const r = await s.post('/v1/api-keys', { name: 42, role: 'superuser', extra: true }, { token: O.token });
  const p = assertProblem(r, 422, 'validation_failed');
  assert.deepEqual(p.errors.map((e) => e.field).sort(), ['extra', 'name', 'role']);
  const m = assertProblem(await s.post('/v1/api-keys', {}, { token: O.token }), 422, 'validation_failed');
  assert.deepEqual(m.errors.map((e) => e.field).sort(), ['name', 'role']);
  const nul = assertProblem(await s.post('/v1/api-keys', { name: null, role: 'viewer' }, { token: O.token }), 422);
  assert.equal(nul.errors[0].field, 'name');
  const long = assertProblem(await s.post('/v1/api-keys', { name: 'é'.repeat(101), role: 'viewer' }, { token: O.token }), 422);
  assert.match(long.errors[0].message, /at most 100/);
});

test('a body over the limit is 413 payload_too_large', async () => {
  const big = `{"name":"${'x'.repeat(1024 * 1024 + 10)}","role":"viewer"}`;
  assertProblem(await s.req('POST', '/v1/api-keys', { token: O.token, headers: json, raw: big }), 413, 'payload_too_large');
});

test('a body far over the limit (refused by the HTTP layer before any handler) is still problem+json', async () => {
  // announce 6 MiB and send none of it: the server must answer without waiting for the body
  const net = require('node:net');
  const [host, port] = s.address.split(':');
  const text = await new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), host, () => {
      sock.write(`POST /v1/api-keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${6 * 1024 * 1024}\r\n\r\n`);
    });
    let buf = '';
    sock.on('data', (d) => { buf += d; });
    sock.on('end', () => resolve(buf));
    sock.on('error', reject);
  });
  assert.match(text, /^HTTP\/1\.1 413/);
  assert.match(text, /content-type: application\/problem\+json/i);
  assert.equal(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).code, 'payload_too_large');
});

test('a body that is not JSON is 415', async () => {
  const r = await s.req('POST', '/v1/api-keys', { token: O.token, headers: { 'content-type': 'text/plain' }, raw: 'name=x' });
  assertProblem(r, 415, 'unsupported_media_type');
});

test('bad pagination and query strings', async () => {
  for (const q of ['limit=0', 'limit=201', 'limit=abc', 'limit=', 'cursor=bm90LWEtY3Vyc29y', 'include_total=maybe']) {
    const p = assertProblem(await s.get(`/v1/api-keys?${q}`, { token: O.token }), 422, 'validation_failed');
    assert.ok(p.errors.length >= 1, q);
  }
  assertProblem(await s.get('/v1/api-keys?limit=%ff%fe', { token: O.token }), 400, 'validation_failed');
  assertProblem(await s.get('/v1/api-keys?cursor=%%%', { token: O.token }), 400, 'validation_failed');
});

test('foreign and malformed ids are simply not found', async () => {
  for (const id of ['key_00000000000000000000000000', 'ten_01h455vb4pex5vsknk084sn02q', 'x', "key_' OR 1=1 --", '%00']) {
    assertProblem(await s.get(`/v1/api-keys/${encodeURIComponent(id)}`, { token: O.token }), 404, 'not_found');
    assertProblem(await s.del(`/v1/api-keys/${encodeURIComponent(id)}`, { token: O.token }), 404, 'not_found');
  }
});

test('a request that fails writes nothing', async () => {
  const email = `${unique('atomic')}@example.com`;
  // signup whose organization is invalid: no user may remain
  assertProblem(await s.post('/v1/auth/signup', { email, password: 'a-Long-enough-passphrase-42', name: 'A', organization: '' }), 422);
  const ok = await s.post('/v1/auth/signup', { email, password: 'a-Long-enough-passphrase-42', name: 'A', organization: 'Atomic' });
  assert.equal(ok.status, 201, ok.text);
  // a tenant update with one bad field changes no field
  assertProblem(await s.patch('/v1/tenant', { name: 'Should Not Stick', settings: { currency: 'NOPE' } }, { token: ok.body.access_token }), 422);
  assert.equal((await s.get('/v1/tenant', { token: ok.body.access_token })).body.name, 'Atomic');
  // a failed key creation leaves no key
  const before = (await s.get('/v1/api-keys?include_total=true', { token: O.token })).body.total;
  await s.post('/v1/api-keys', { name: 'x', role: 'nope' }, { token: O.token });
  await s.req('POST', '/v1/api-keys', { token: O.token, headers: json, raw: '{"name":"x","role":"viewer"' });
  assert.equal((await s.get('/v1/api-keys?include_total=true', { token: O.token })).body.total, before);
});

test('hostile strings are stored and returned as data', async () => {
  const name = "Robert'); DROP TABLE tenants;-- <script>alert(1)</script> 🚀";
  const r = await s.post('/v1/api-keys', { name, role: 'viewer' }, { token: O.token });
  assert.equal(r.status, 201);
  assert.equal((await s.get(`/v1/api-keys/${r.body.id}`, { token: O.token })).body.name, name);
  assert.equal((await s.get('/readyz')).status, 200);
});
