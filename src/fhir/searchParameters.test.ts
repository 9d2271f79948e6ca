import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  expressionFor,
  getSearchParameter,
  resourceTypes,
  searchParametersFor,
  splitUnion,
} from './searchParameters.ts';

test('the R4 resource types: 146 concrete ones, no abstract ones', () => {
  assert.equal(resourceTypes.length, 146);
  for (const type of ['Patient', 'Observation', 'Bundle', 'Binary', 'Parameters', 'MolecularSequence']) {
    assert.ok(resourceTypes.includes(type), type);
  }
  assert.ok(!resourceTypes.includes('Resource'));
  assert.ok(!resourceTypes.includes('DomainResource'));
});

test('every type gets the Resource parameters; only DomainResource types get _text', () => {
  for (const type of resourceTypes) {
    const codes = searchParametersFor(type).map((p) => p.code);
    for (const code of ['_id', '_lastUpdated', '_tag', '_profile', '_security', '_source']) {
      assert.ok(codes.includes(code), `${type} ${code}`);
    }
  }
  assert.equal(getSearchParameter('Patient', '_lastUpdated')?.expression, 'Resource.meta.lastUpdated');
  assert.equal(getSearchParameter('Patient', '_text')?.type, 'string');
  assert.equal(getSearchParameter('Patient', '_text')?.expression, undefined); // left to the server
  assert.equal(getSearchParameter('Bundle', '_text'), undefined);
  assert.equal(getSearchParameter('Bundle', '_id')?.expression, 'Resource.id');
});

test('a shared definition keeps only the part of its union that applies to the type', () => {
  const patient = getSearchParameter('Observation', 'patient');
  assert.equal(patient?.type, 'reference');
  assert.equal(patient?.expression, 'Observation.subject.where(resolve() is Patient)');
  assert.deepEqual(patient?.targets, ['Patient']);
  assert.equal(
    getSearchParameter('Practitioner', 'phone')?.expression,
    "Practitioner.telecom.where(system='phone')",
  );
  assert.equal(
    getSearchParameter('ValueSet', 'context-quantity')?.expression,
    '(ValueSet.useContext.value as Quantity) | (ValueSet.useContext.value as Range)',
  );
  assert.equal(getSearchParameter('Patient', 'family')?.expression, 'Patient.name.family');
  assert.equal(getSearchParameter('Observation', 'value-quantity')?.type, 'quantity');
});

test('an expression without a type prefix applies as is', () => {
  assert.equal(getSearchParameter('InsurancePlan', 'name')?.expression, 'name | alias');
});

test('composite parameters carry their components as codes, types and expressions', () => {
  const composite = getSearchParameter('Observation', 'code-value-quantity');
  assert.equal(composite?.type, 'composite');
  assert.equal(composite?.expression, 'Observation');
  assert.deepEqual(
    composite?.components?.map(({ code, type, expression }) => ({ code, type, expression })),
    [
      { code: 'code', type: 'token', expression: 'code' },
      { code: 'value-quantity', type: 'quantity', expression: 'value.as(Quantity)' },
    ],
  );
  assert.equal(
    getSearchParameter('Observation', 'combo-code-value-quantity')?.expression,
    'Observation | Observation.component',
  );
});

test('searchParametersFor: codes are unique per type and unknown types have none', () => {
  for (const type of resourceTypes) {
    const codes = searchParametersFor(type).map((p) => p.code);
    assert.equal(new Set(codes).size, codes.length, type);
  }
  assert.ok(searchParametersFor('Observation').length > 40);
  assert.deepEqual(searchParametersFor('NoSuchType'), []);
});

test('splitUnion splits at top-level bars only', () => {
  assert.deepEqual(splitUnion("A.x | (B.y as T) | C.z.where(s = 'a|b') | D.w.where((p | q).exists())"), [
    'A.x',
    '(B.y as T)',
    "C.z.where(s = 'a|b')",
    'D.w.where((p | q).exists())',
  ]);
  assert.deepEqual(splitUnion('Patient.name'), ['Patient.name']);
});

test('expressionFor keeps parenthesized parts of the type and drops other types', () => {
  assert.equal(
    expressionFor(
      '(Observation.value as Quantity) | (Condition.onset as Age) | Observation.component.value',
      'Observation',
    ),
    '(Observation.value as Quantity) | Observation.component.value',
  );
  assert.equal(expressionFor('Patient.name | Practitioner.name', 'Device'), undefined);
});
