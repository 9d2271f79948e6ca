/** Finding the files to import and putting them in an order where referenced data comes first. */
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface ImportSource {
  file: string;
  format: 'json' | 'ndjson';
  bytes: number;
}

/** Referenced by everything else; NDJSON exports refer to them by conditional references. */
const FIRST_TYPES = ['Organization', 'Location', 'Practitioner', 'PractitionerRole', 'Patient', 'Medication'];

export function findSources(paths: string[]): { sources: ImportSource[]; problems: string[] } {
  const sources: ImportSource[] = [];
  const problems: string[] = [];
  const visit = (path: string, explicit: boolean) => {
    let stats;
    try {
      stats = statSync(path);
    } catch {
      problems.push(`${path}: no such file or folder`);
      return;
    }
    if (stats.isDirectory()) {
      for (const name of readdirSync(path).sort()) visit(join(path, name), false);
    } else if (/\.ndjson$/i.test(path)) sources.push({ file: path, format: 'ndjson', bytes: stats.size });
    else if (/\.json$/i.test(path)) sources.push({ file: path, format: 'json', bytes: stats.size });
    else if (explicit) problems.push(`${path}: not a .json or .ndjson file`);
  };
  for (const path of paths) visit(path, true);
  return { sources: sources.sort((a, b) => rank(a) - rank(b)), problems };
}

/** Shared reference data first (Synthea's hospital and practitioner files, NDJSON of those types). */
function rank(source: ImportSource): number {
  const name = basename(source.file);
  if (/^(hospitalInformation|practitionerInformation)/.test(name)) return 0;
  const type = FIRST_TYPES.findIndex((t) => name.startsWith(t + '.') || name === `${t}.ndjson`);
  return type >= 0 ? 1 + type : FIRST_TYPES.length + 1;
}
