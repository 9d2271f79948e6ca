/**
 * The store of the search benchmark: about a million resources. The 515 Synthea bench bundles are
 * imported six times with the project's importer, each copy with new ids (references rewritten to
 * match), new patient family names and shifted birth dates, and each patient given the practitioner and
 * organization of its bundle as general practitioner and managing organization. Practitioners and
 * organizations are shared by all copies (the importer keeps one per identifier), as a practice's are.
 * An appointment book is added: 40 a day for 24 practitioners over 8 weeks around the day it was built,
 * and today's page when a later run falls outside it.
 *
 * Built once (20 to 40 minutes on 2 shared cores: the import slows as the store grows) and kept in /tmp/chartvault-bench-1m ($CHARTVAULT_BENCH_1M), keyed on
 * the store's schema and this generator's version: a change to either builds it again.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importPaths } from '../src/import/importer.ts';
import { initStore, openStore, type BatchWrite, type ResourceStore } from '../src/store/index.ts';
import { databasePath, readSettings } from '../src/store/dataDirectory.ts';
import { loadDataKey } from '../src/store/keyStore.ts';
import { openConnection, type Connection } from '../src/store/sqlite/connection.ts';
import { jsonFiles } from '../test/sharedData.ts';
import { format, syntheaFolder } from './common.ts';

const ARCHIVE = 'synthea-r4-bench-515.tar.gz';
/** Bump when the generated data changes. */
const GENERATOR_VERSION = 1;
const COPIES = 6;
const BOOK_PRACTITIONERS = 24;
const BOOK_PER_DAY = 40;
const BOOK_DAYS_BEFORE = 28;
const BOOK_DAYS_AFTER = 27;
const SLOT_MINUTES = 15;
/** The book starts at 08:00 in the store's zone (UTC). */
const BOOK_FIRST_HOUR = 8;

export const CACHE_DIR = process.env.CHARTVAULT_BENCH_1M ?? '/tmp/chartvault-bench-1m';
const SCHEMA_FILE = fileURLToPath(new URL('../src/store/sqlite/schema.ts', import.meta.url));

export interface BenchStore {
  data: string;
  keys: string;
  marker: Marker;
}

interface Marker {
  key: string;
  resources: number;
  buildSeconds: number;
  builtAt: string;
  /** Days (YYYY-MM-DD, UTC) the appointment book covers. */
  bookDays: string[];
}

/** The cached store, built first when it is missing or was built for another schema or generator. */
export async function benchStore(log: (line: string) => void = console.log): Promise<BenchStore> {
  const data = join(CACHE_DIR, 'data');
  const keys = join(CACHE_DIR, 'keys');
  const markerFile = join(CACHE_DIR, 'marker.json');
  const key = cacheKey();
  let marker = existsSync(markerFile) ? (JSON.parse(readFileSync(markerFile, 'utf8')) as Marker) : undefined;
  if (marker?.key !== key) {
    log(`  building the 1M-resource store in ${CACHE_DIR} (cache key ${key}; 20 to 40 minutes)`);
    rmSync(CACHE_DIR, { recursive: true, force: true });
    mkdirSync(CACHE_DIR, { recursive: true });
    marker = await build(data, keys, key, log);
    writeFileSync(markerFile, JSON.stringify(marker, null, 2));
  }
  const today = utcDay(Date.now());
  if (!marker.bookDays.includes(today)) {
    log(`  the appointment book does not cover ${today}: adding that day`);
    const { store } = openStore(data, keys);
    try {
      marker.resources += await writeBook(store, rawConnection(data, keys), [today]);
    } finally {
      await store.close();
    }
    marker.bookDays.push(today);
    writeFileSync(markerFile, JSON.stringify(marker, null, 2));
  }
  return { data, keys, marker };
}

/** A connection of its own to the store's database, as the store opens it. */
export function rawConnection(data: string, keys: string): Connection {
  const { key } = loadDataKey(keys, readSettings(data).storeId);
  return openConnection(databasePath(data), key, { create: false });
}

function cacheKey(): string {
  return createHash('sha256')
    .update(readFileSync(SCHEMA_FILE))
    .update(`generator ${GENERATOR_VERSION}, ${COPIES} copies`)
    .digest('hex')
    .slice(0, 16);
}

async function build(data: string, keys: string, key: string, log: (line: string) => void): Promise<Marker> {
  const started = performance.now();
  const files = jsonFiles(syntheaFolder(ARCHIVE));
  const { store } = initStore(data, keys, 'UTC');
  let resources = 0;
  const bookDays: string[] = [];
  try {
    for (let copy = 1; copy <= COPIES; copy++) {
      const staging = join(CACHE_DIR, `staging-${copy}`);
      mkdirSync(staging, { recursive: true });
      for (const file of files)
        writeFileSync(join(staging, basename(file)), replicate(readFileSync(file, 'utf8'), copy));
      const report = await importPaths(store, [staging]);
      rmSync(staging, { recursive: true, force: true });
      if (report.rejected.length > 0)
        throw new Error(`import rejected ${report.rejected[0]!.source}: ${report.rejected[0]!.reason}`);
      const created = Object.values(report.byType).reduce((n, t) => n + t.created, 0);
      resources += created;
      log(
        `  copy ${copy}/${COPIES}: ${format(created)} resources in ${format(report.seconds)} s ` +
          `(${format(created / report.seconds)}/s), ${format((performance.now() - started) / 1000)} s so far`,
      );
    }
    const today = Date.parse(utcDay(Date.now()));
    for (let d = -BOOK_DAYS_BEFORE; d <= BOOK_DAYS_AFTER; d++) bookDays.push(utcDay(today + d * 86_400_000));
    resources += await writeBook(store, rawConnection(data, keys), bookDays);
    await store.optimize();
  } finally {
    await store.close();
  }
  const buildSeconds = (performance.now() - started) / 1000;
  log(`  built: ${format(resources)} resources in ${format(buildSeconds)} s`);
  return { key, resources, buildSeconds, builtAt: new Date().toISOString(), bookDays };
}

/**
 * A copy of a Synthea transaction bundle: every entry's uuid (and the patient's own identifiers) replaced
 * by one derived from the copy number, so that references stay consistent; the patient's family names
 * drawn anew and its birth date moved by up to 30 days; its general practitioner and managing
 * organization set to those of the bundle. Practitioners and organizations keep their uuids: the
 * importer identifies them by NPI and keeps one of each.
 */
export function replicate(text: string, copy: number): string {
  const bundle = JSON.parse(text) as { entry?: { fullUrl?: string; resource?: Record<string, unknown> }[] };
  const entries = bundle.entry ?? [];
  const renewed = new Map<string, string>();
  const renew = (uuid: string) => renewed.set(uuid, derivedUuid(copy, uuid));
  const shared = (e: (typeof entries)[number]) =>
    e.resource?.resourceType === 'Practitioner' || e.resource?.resourceType === 'Organization';
  for (const entry of entries) {
    if (!shared(entry) && entry.fullUrl?.startsWith('urn:uuid:')) renew(entry.fullUrl.slice(9));
  }
  const practitioner = entries.find((e) => e.resource?.resourceType === 'Practitioner')?.fullUrl;
  const organization = entries.find((e) => e.resource?.resourceType === 'Organization')?.fullUrl;
  for (const entry of entries) {
    const patient = entry.resource as PatientLike | undefined;
    if (patient?.resourceType !== 'Patient') continue;
    const seed = hashNumber(`${copy}:${patient.id}`);
    for (const identifier of patient.identifier ?? []) {
      if (identifier.value && UUID_ONLY.test(identifier.value)) renew(identifier.value);
      else if (identifier.value) identifier.value = `${identifier.value}-${copy}`;
    }
    (patient.name ?? []).forEach((name, i) => {
      name.family = FAMILY_NAMES[(seed + i * 7919) % FAMILY_NAMES.length];
    });
    if (patient.birthDate) {
      const shift = ((seed >>> 8) % 61) - 30;
      patient.birthDate = utcDay(Date.parse(patient.birthDate) + shift * 86_400_000);
    }
    if (practitioner) patient.generalPractitioner = [{ reference: practitioner }];
    if (organization) patient.managingOrganization = { reference: organization };
  }
  return JSON.stringify(bundle).replace(UUID, (uuid) => renewed.get(uuid) ?? uuid);
}

interface PatientLike {
  resourceType: string;
  id?: string;
  identifier?: { value?: string }[];
  name?: { family?: string }[];
  birthDate?: string;
  generalPractitioner?: { reference: string }[];
  managingOrganization?: { reference: string };
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const UUID_ONLY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function derivedUuid(copy: number, uuid: string): string {
  const h = createHash('sha1').update(`${copy}:${uuid}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function hashNumber(text: string): number {
  return createHash('sha1').update(text).digest().readUInt32BE(0);
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * The appointment book of `days`: for the first practitioners (by id), 40 fifteen-minute consultations a
 * day from 08:00 UTC, each with a patient drawn from all of them. Written with `store.writeBatch`.
 */
async function writeBook(store: ResourceStore, db: Connection, days: string[]): Promise<number> {
  const practitioners = db
    .prepare("SELECT id FROM resource WHERE type = 'Practitioner' AND deleted = 0 ORDER BY id LIMIT ?")
    .pluck()
    .all(BOOK_PRACTITIONERS) as string[];
  const patients = db
    .prepare("SELECT id FROM resource WHERE type = 'Patient' AND deleted = 0 ORDER BY rid")
    .pluck()
    .all() as string[];
  db.close();
  const today = utcDay(Date.now());
  let writes: BatchWrite[] = [];
  let written = 0;
  for (const day of days) {
    for (const [p, practitioner] of practitioners.entries()) {
      for (let slot = 0; slot < BOOK_PER_DAY; slot++) {
        const start = Date.parse(day) + BOOK_FIRST_HOUR * 3_600_000 + slot * SLOT_MINUTES * 60_000;
        const patient = patients[hashNumber(`${day}/${p}/${slot}`) % patients.length]!;
        writes.push({
          kind: 'put',
          resource: {
            resourceType: 'Appointment',
            id: `book-${day}-${p}-${slot}`,
            status: day < today ? 'fulfilled' : 'booked',
            serviceType: [
              { coding: [{ system: 'http://snomed.info/sct', code: '11429006', display: 'Consultation' }] },
            ],
            appointmentType: {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/v2-0276',
                  code: 'ROUTINE',
                  display: 'Routine appointment - default if not valued',
                },
              ],
            },
            description: 'Consultation',
            start: new Date(start).toISOString(),
            end: new Date(start + SLOT_MINUTES * 60_000).toISOString(),
            minutesDuration: SLOT_MINUTES,
            participant: [
              { actor: { reference: `Patient/${patient}` }, required: 'required', status: 'accepted' },
              {
                actor: { reference: `Practitioner/${practitioner}` },
                required: 'required',
                status: 'accepted',
              },
            ],
          },
        });
        if (writes.length === 2000) {
          written += (await store.writeBatch(writes)).length;
          writes = [];
        }
      }
    }
  }
  if (writes.length > 0) written += (await store.writeBatch(writes)).length;
  return written;
}

/** Common US family names (no one a prefix of another), drawn for the copies' patients. */
const FAMILY_NAMES =
  `Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark
Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson
Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards
Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed
Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes
Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan
Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander
Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina
Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells
Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva
Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox
Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne
Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott
Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman
Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval`
    .split(/\s+/)
    .filter((name, i, all) => !all.some((other, j) => j !== i && other.startsWith(name)));
