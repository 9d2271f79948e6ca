import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { operatorPrincipal } from './attribution.ts';
import { allowedInteractions, categoryOf, decide, INTERACTIONS, type Interaction } from './permissions.ts';
import {
  documentedPermissionTables,
  PERMISSIONS_DOC,
  renderPermissionTables,
  tableContent,
} from './permissionTable.ts';
import type { Principal, Role } from './roles.ts';
import { parseScope, parseScopes, scopeCoveredBy } from './scopes.ts';

const person = (role: Role): Principal => ({ kind: 'user', id: `a-${role}`, role });
const all = (principal: Principal, type: string) =>
  [...allowedInteractions(principal, type)].sort().join(',');

describe('permission matrix', () => {
  it('docs/permissions.md shows the matrix the code enforces', () => {
    const documented = documentedPermissionTables(readFileSync(PERMISSIONS_DOC, 'utf8'));
    assert.ok(documented, 'docs/permissions.md lacks the permission-table markers');
    assert.equal(
      tableContent(documented),
      tableContent(renderPermissionTables()),
      'docs/permissions.md and src/access/permissions.ts disagree: run node --import tsx src/access/permissionTable.ts --write',
    );
  });

  it('front desk sees demographics, coverage and the schedule, but no notes or results', () => {
    const desk = person('front-desk');
    for (const type of [
      'Patient',
      'RelatedPerson',
      'Coverage',
      'Appointment',
      'Schedule',
      'Slot',
      'Practitioner',
      'PractitionerRole',
      'Organization',
      'Location',
    ]) {
      assert.equal(decide(desk, 'read', type).allowed, true, `front desk reads ${type}`);
      assert.equal(decide(desk, 'search', type).allowed, true, `front desk searches ${type}`);
    }
    for (const type of [
      'Observation',
      'DiagnosticReport',
      'DocumentReference',
      'Condition',
      'MedicationRequest',
      'Encounter',
      'Claim',
      'AuditEvent',
    ]) {
      for (const interaction of INTERACTIONS) {
        assert.equal(
          decide(desk, interaction, type).allowed,
          false,
          `front desk may not ${interaction} ${type}`,
        );
      }
    }
    assert.match(
      decide(desk, 'read', 'Observation').reason,
      /front-desk role may not read Observation \(clinical\)/,
    );
  });

  it('billing: coverage, claims, accounts and encounters; no notes or results', () => {
    const billing = person('billing');
    assert.equal(all(billing, 'Claim'), 'create,delete,history,read,search,update');
    assert.equal(all(billing, 'Account'), 'create,delete,history,read,search,update');
    assert.equal(all(billing, 'Coverage'), 'create,history,read,search,update');
    assert.equal(all(billing, 'Encounter'), 'history,read,search');
    assert.equal(all(billing, 'DocumentReference'), '');
    assert.equal(all(billing, 'Observation'), '');
  });

  it('security officer: audit trail and account administration, no clinical data', () => {
    const officer = person('security-officer');
    assert.equal(all(officer, 'AuditEvent'), 'read,search');
    assert.equal(decide(officer, 'create', '$accounts').allowed, true);
    assert.equal(decide(officer, 'delete', '$clients').allowed, true);
    const operator = operatorPrincipal({ kind: 'operator', id: 'admin@clinic-server' });
    assert.equal(
      decide(operator, 'create', '$clients').allowed,
      true,
      'the CLI operator administers clients',
    );
    assert.equal(decide(operator, 'read', 'Patient').allowed, false, 'but reads no chart through it');
    for (const type of ['Patient', 'Observation', 'Condition', 'Encounter', 'Claim'])
      assert.equal(all(officer, type), '', type);
  });

  it('clinicians have broad clinical access; nurses do not delete clinical records; nobody writes AuditEvent', () => {
    assert.equal(all(person('physician'), 'Observation'), 'create,delete,history,read,search,update');
    assert.equal(all(person('nurse'), 'Observation'), 'create,history,read,search,update');
    assert.equal(decide(person('physician'), 'read', 'AuditEvent').allowed, false);
    for (const role of [
      'physician',
      'nurse',
      'front-desk',
      'billing',
      'security-officer',
      'system',
    ] as Role[]) {
      for (const interaction of ['create', 'update', 'delete'] as Interaction[]) {
        assert.equal(
          decide(person(role), interaction, 'AuditEvent').allowed,
          false,
          `${role} ${interaction} AuditEvent`,
        );
      }
      assert.equal(decide(person(role), 'export', 'Patient').allowed, role === 'system', `${role} export`);
    }
  });

  it('an unlisted resource type counts as clinical (closed by default)', () => {
    assert.equal(categoryOf('NutritionOrder'), 'clinical');
    assert.equal(decide(person('front-desk'), 'read', 'NutritionOrder').allowed, false);
    assert.equal(decide(person('physician'), 'read', 'NutritionOrder').allowed, true);
  });

  it('a system client may do what its scopes allow and its role allows, no more', () => {
    const everything: Principal = { kind: 'client', id: 'c1', role: 'system', scopes: ['system/*.*'] };
    assert.equal(all(everything, 'Patient'), 'create,delete,export,history,read,search,update');
    assert.equal(
      all(everything, 'AuditEvent'),
      'export,history,read,search',
      'AuditEvent reads included, never writes',
    );
    assert.equal(all(everything, '$accounts'), '', 'no account administration');
    const labReader: Principal = {
      kind: 'client',
      id: 'c2',
      role: 'system',
      scopes: ['system/Observation.rs'],
    };
    assert.equal(all(labReader, 'Observation'), 'export,history,read,search');
    assert.equal(all(labReader, 'Patient'), '');
    assert.match(decide(labReader, 'read', 'Patient').reason, /scopes do not include read on Patient/);
    // A person's token narrows the role; it never widens it.
    const deskApp: Principal = { kind: 'user', id: 'desk', role: 'front-desk', scopes: ['user/*.cruds'] };
    assert.equal(all(deskApp, 'Observation'), '');
    assert.equal(all(deskApp, 'Patient'), 'create,history,read,search,update');
  });
});

describe('SMART scopes', () => {
  const interactions = (scope: string) => [...(parseScope(scope)?.interactions ?? [])].sort().join(',');

  it('reads v2 scopes', () => {
    assert.equal(interactions('system/*.cruds'), 'create,delete,export,history,read,search,update');
    assert.equal(interactions('user/Observation.rs'), 'export,history,read,search');
    assert.equal(interactions('patient/*.r'), 'history,read');
    assert.equal(interactions('system/Patient.c'), 'create');
    assert.equal(interactions('system/Patient.ud'), 'delete,update');
    assert.deepEqual(
      { context: parseScope('patient/*.rs')?.context, type: parseScope('patient/*.rs')?.resourceType },
      { context: 'patient', type: '*' },
    );
  });

  it('reads v1 scopes into the same sets', () => {
    assert.equal(interactions('system/*.read'), 'export,history,read,search');
    assert.equal(interactions('user/Observation.write'), 'create,delete,update');
    assert.equal(interactions('system/*.*'), 'create,delete,export,history,read,search,update');
    assert.equal(interactions('system/*.*'), interactions('system/*.cruds'));
  });

  it('sets apart what is not a resource scope, and refuses misordered or query-narrowed ones', () => {
    const { resourceScopes, unknown } = parseScopes('openid  fhirUser system/Patient.rs launch/patient');
    assert.deepEqual(
      resourceScopes.map((s) => s.scope),
      ['system/Patient.rs'],
    );
    assert.deepEqual(unknown, ['openid', 'fhirUser', 'launch/patient']);
    for (const bad of [
      'system/Patient.sr',
      'system/Patient.',
      'system/Patient.rs?category=laboratory',
      'practice/*.read',
      'system/patient.read',
    ]) {
      assert.equal(parseScope(bad), undefined, bad);
    }
  });

  it('knows when a requested scope is covered by the registered ones', () => {
    const held = parseScopes('system/*.rs system/Patient.cruds').resourceScopes;
    assert.equal(scopeCoveredBy(parseScope('system/Observation.rs')!, held), true);
    assert.equal(scopeCoveredBy(parseScope('system/Patient.u')!, held), true);
    assert.equal(scopeCoveredBy(parseScope('system/Observation.c')!, held), false);
    assert.equal(scopeCoveredBy(parseScope('system/*.cruds')!, held), false);
    assert.equal(scopeCoveredBy(parseScope('user/Patient.r')!, held), false, 'another context');
  });
});
