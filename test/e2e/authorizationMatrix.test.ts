/**
 * The documented permission matrix (docs/permissions.md), enforced on the FHIR API: every role tries
 * every interaction on one type of each category over real HTTP, with a token for a real account or
 * client, and gets exactly what the table in the documentation says: the interaction done, or 403.
 * The expected answers are read from the Markdown table, not from the code that enforces it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import {
  addAccount,
  operatorActor,
  registerClient,
  TokenService,
  HUMAN_ROLES,
} from '../../src/access/index.ts';
import type { Resource } from '../../src/fhir/types.ts';
import { fhirFetch } from '../testServer.ts';
import { useAccessServer } from './signInSupport.ts';

const server = useAccessServer();

/** One resource type per category of the matrix, with a valid resource of it. */
const SAMPLES: Record<string, (patient: string) => Resource> = {
  Patient: () => ({ resourceType: 'Patient', name: [{ family: 'Matrixtest' }] }),
  Appointment: (patient) => ({
    resourceType: 'Appointment',
    status: 'booked',
    start: '2025-03-04T09:00:00Z',
    end: '2025-03-04T09:15:00Z',
    participant: [{ actor: { reference: `Patient/${patient}` }, status: 'accepted' }],
  }),
  Coverage: (patient) => ({
    resourceType: 'Coverage',
    status: 'active',
    beneficiary: { reference: `Patient/${patient}` },
    payor: [{ display: 'Payer' }],
  }),
  Practitioner: () => ({ resourceType: 'Practitioner', name: [{ family: 'Matrixdoc' }] }),
  Claim: (patient) => ({
    resourceType: 'Claim',
    status: 'active',
    type: { text: 'professional' },
    use: 'claim',
    patient: { reference: `Patient/${patient}` },
    created: '2025-01-01',
    provider: { display: 'Practice' },
    priority: { text: 'normal' },
    insurance: [{ sequence: 1, focal: true, coverage: { display: 'Coverage' } }],
  }),
  Encounter: (patient) => ({
    resourceType: 'Encounter',
    status: 'finished',
    class: { code: 'AMB' },
    subject: { reference: `Patient/${patient}` },
  }),
  Observation: (patient) => ({
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'weight' },
    subject: { reference: `Patient/${patient}` },
  }),
  Medication: () => ({ resourceType: 'Medication', code: { text: 'metformin' } }),
  AuditEvent: () => ({ resourceType: 'AuditEvent' }),
};

const INTERACTIONS = ['read', 'search', 'create', 'update', 'delete', 'history'] as const;
type Interaction = (typeof INTERACTIONS)[number];
const LETTER: Record<Interaction, string> = {
  read: 'r',
  search: 's',
  create: 'c',
  update: 'u',
  delete: 'd',
  history: 'h',
};

/** The documented matrix: role -> category -> letters, and type -> category, from docs/permissions.md. */
function documentedMatrix() {
  const text = readFileSync(new URL('../../docs/permissions.md', import.meta.url), 'utf8');
  const rows = text
    .split('\n')
    .filter((line) => line.startsWith('| '))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  const header = rows.find((row) => row[0] === 'role' && row.includes('clinical'))!;
  const letters = new Map<string, Map<string, string>>();
  for (const row of rows) {
    if (row.length !== header.length || row[0] === 'role' || row[0]!.startsWith('--')) continue;
    letters.set(row[0]!, new Map(header.slice(1).map((category, i) => [category, row[i + 1]!])));
  }
  const categoryOfType = new Map<string, string>();
  for (const row of rows)
    if (row.length === 2 && row[1]!.includes('`'))
      for (const [, type] of row[1]!.matchAll(/`([^`]+)`/g)) categoryOfType.set(type!, row[0]!);
  return { letters, categoryOfType };
}

const matrix = documentedMatrix();

function documentedAllows(role: string, interaction: Interaction, type: string): boolean {
  const category = matrix.categoryOfType.get(type) ?? 'clinical';
  const letters = matrix.letters.get(role)?.get(category);
  assert.ok(letters !== undefined, `docs/permissions.md names ${role} x ${category}`);
  return letters.includes(LETTER[interaction]);
}

const tokens: Record<string, string> = {};
let patientId = '';

/** A resource of `type` stored directly (not through the API), for reads, updates and deletes. */
async function stored(type: string): Promise<Resource> {
  if (type === 'AuditEvent') {
    const [newest] = await server.store.searchAudit({ limit: 1, descending: true });
    return { resourceType: 'AuditEvent', id: String(newest!.seq) };
  }
  return (await server.store.create(SAMPLES[type]!(patientId))).resource;
}

async function attempt(role: string, interaction: Interaction, type: string) {
  const base = `${server.origin}/fhir`;
  const headers = { authorization: `Bearer ${tokens[role]}` };
  const target = interaction === 'search' || interaction === 'create' ? undefined : await stored(type);
  switch (interaction) {
    case 'read':
      return fhirFetch(`${base}/${type}/${target!.id}`, { headers });
    case 'search':
      return fhirFetch(`${base}/${type}?_count=1`, { headers });
    case 'create':
      return fhirFetch(`${base}/${type}`, { method: 'POST', body: SAMPLES[type]!(patientId), headers });
    case 'update':
      return fhirFetch(`${base}/${type}/${target!.id}`, {
        method: 'PUT',
        body: { ...target, meta: undefined, id: target!.id },
        headers,
      });
    case 'delete':
      return fhirFetch(`${base}/${type}/${target!.id}`, { method: 'DELETE', headers });
    case 'history':
      return fhirFetch(`${base}/${type}/${target!.id}/_history`, { headers });
  }
}

describe('the permission matrix on the FHIR API', () => {
  // In the describe block: it runs after the file's server has started (root hooks may overlap).
  before(async () => {
    const issuer = new TokenService(server.store, server.keys, { lifetimeSeconds: 3600 });
    const audience = `${server.origin}/fhir`;
    const issue = (subject: string, subjectKind: 'user' | 'client', scope: string) =>
      issuer
        .issue({ subject, subjectKind, scope, audience, issuer: server.origin, now: server.clock.now() })
        .then((t) => t.access_token);
    for (const role of HUMAN_ROLES) {
      const userName = `matrix-${role}`;
      await addAccount(
        server.store,
        { userName, role, password: 'a long demo passphrase 42' },
        operatorActor(),
      );
      // The widest user scope: what is left to refuse is the role's.
      tokens[role] = await issue(userName, 'user', 'user/*.*');
    }
    const { client } = await registerClient(
      server.store,
      { name: 'matrix-system', scopes: 'system/*.*' },
      operatorActor(),
    );
    tokens.system = await issue(client.clientId, 'client', 'system/*.*');
    patientId = (await server.store.create(SAMPLES.Patient!(''))).resource.id!;
  });

  for (const role of [...HUMAN_ROLES, 'system']) {
    it(`${role}: every interaction on a type of each category, as docs/permissions.md says`, async () => {
      const wrong: string[] = [];
      for (const type of Object.keys(SAMPLES)) {
        for (const interaction of INTERACTIONS) {
          const response = await attempt(role, interaction, type);
          // The audit trail is written by the server only, and its entries have one version each:
          // writing or asking for the history of an AuditEvent is not an interaction at all (405).
          if (type === 'AuditEvent' && !['read', 'search'].includes(interaction)) {
            // (Or 403 first, for a role that may not read AuditEvent at all.)
            const expected = documentedAllows(role, 'read', 'AuditEvent') ? 405 : 403;
            if (response.status !== expected && response.status !== 405)
              wrong.push(`${interaction} AuditEvent: expected ${expected}, got ${response.status}`);
            continue;
          }
          const allowed = documentedAllows(role, interaction, type);
          if (allowed && (response.status < 200 || response.status > 299))
            wrong.push(`${interaction} ${type}: expected success, got ${response.status}`);
          if (!allowed && response.status !== 403)
            wrong.push(`${interaction} ${type}: expected 403, got ${response.status}`);
          if (!allowed && response.status === 403)
            assert.equal(response.body.issue[0].code, 'forbidden', `${interaction} ${type}`);
        }
      }
      assert.deepEqual(wrong, []);
    });
  }

  it('a refusal is audited under the account, with its role, as a failure with status 403', async () => {
    const response = await fhirFetch(`${server.origin}/fhir/Observation?_count=1`, {
      headers: { authorization: `Bearer ${tokens['front-desk']}` },
    });
    assert.equal(response.status, 403);
    assert.match(response.body.issue[0].diagnostics, /front-desk role may not search Observation/);
    const [newest] = await server.store.searchAudit({ limit: 1, descending: true });
    const entry = JSON.parse(newest!.entry);
    assert.deepEqual(
      [entry.agent.type, entry.agent.id, entry.agent.role, entry.action, entry.outcome, entry.status],
      ['user', 'matrix-front-desk', 'front-desk', 'search', 'failure', 403],
    );
  });
});
