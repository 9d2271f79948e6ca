/**
 * `chartvault users add|disable|reset-mfa|list`: people's accounts, managed at the server's own console.
 * No login is asked: holding the host and the key folder is the credential, and each action is
 * attributed to the operating-system user who ran it.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  AccessError,
  addAccount,
  decide,
  disableAccount,
  HUMAN_ROLES,
  linkPractitioner,
  listAccounts,
  operatorActor,
  operatorPrincipal,
  resetMfa,
  type AccountSummary,
  type Interaction,
} from '../access/index.ts';
import { openStore, type ResourceStore } from '../store/index.ts';
import { CliError, type StoreLocation } from './main.ts';

/**
 * Checks the operator's permission with the same `decide` the API uses, opens the store, runs `work`,
 * closes it; access-layer refusals become one-line CLI errors.
 */
export async function withAccessStore<T>(
  location: StoreLocation,
  permission: [Interaction, '$accounts' | '$clients'],
  work: (store: ResourceStore) => Promise<T>,
): Promise<T> {
  const decision = decide(operatorPrincipal(), ...permission);
  if (!decision.allowed) throw new CliError(`Not allowed: ${decision.reason}.`);
  const { store } = openStore(location.data, location.keyDir);
  try {
    return await work(store);
  } catch (error) {
    if (error instanceof AccessError) throw new CliError(error.message);
    throw error;
  } finally {
    await store.close();
  }
}

export interface UsersAddOptions extends StoreLocation {
  user: string;
  role: string;
  display?: string;
  passwordFile?: string;
  practitioner?: string;
  json?: boolean;
}

export async function usersAddCommand(options: UsersAddOptions): Promise<void> {
  const password = options.passwordFile === undefined ? undefined : readPasswordFile(options.passwordFile);
  const result = await withAccessStore(options, ['create', '$accounts'], (store) =>
    addAccount(
      store,
      {
        userName: options.user,
        displayName: options.display,
        role: options.role,
        password,
        practitioner: options.practitioner,
      },
      operatorActor(),
    ),
  );
  if (options.json) {
    console.log(
      JSON.stringify({
        user: result.account.userName,
        role: result.account.role,
        enrolment_code: result.enrolmentCode,
        enrolment_expires: result.enrolmentExpires,
      }),
    );
    return;
  }
  console.log(
    `Added ${result.account.userName} (${result.account.displayName}), role ${result.account.role}.`,
  );
  if (result.enrolmentCode) {
    console.log(`One-time enrolment code, shown only now, valid until ${result.enrolmentExpires}:`);
    console.log(`  ${result.enrolmentCode}`);
    console.log(
      'Hand it to the person directly (not by e-mail); with it they choose their own password once, at /enrol on the server (https://HOST:PORT/enrol).',
    );
  }
  console.log('A second factor (authenticator app) is required: it is enrolled at first sign-in.');
}

export async function usersLinkCommand(
  options: StoreLocation & { user: string; practitioner: string },
): Promise<void> {
  const unlink = options.practitioner === 'none';
  const account = await withAccessStore(options, ['update', '$accounts'], (store) =>
    linkPractitioner(store, options.user, unlink ? undefined : options.practitioner, operatorActor()),
  );
  console.log(
    unlink
      ? `${account.userName} is no longer linked to a Practitioner: no care team includes them.`
      : `${account.userName} is Practitioner/${account.practitioner}: on the care team of the patients who name that practitioner.`,
  );
}

export async function usersDisableCommand(options: StoreLocation & { user: string }): Promise<void> {
  const account = await withAccessStore(options, ['update', '$accounts'], (store) =>
    disableAccount(store, options.user, operatorActor()),
  );
  console.log(
    `Disabled ${account.userName}: sign-in refused, and tokens and sessions stop working at their next request.`,
  );
}

export async function usersResetMfaCommand(options: StoreLocation & { user: string }): Promise<void> {
  const account = await withAccessStore(options, ['update', '$accounts'], (store) =>
    resetMfa(store, options.user, operatorActor()),
  );
  console.log(
    `Reset the second factor of ${account.userName}: the old authenticator and recovery codes no longer work; a new one is enrolled at next sign-in.`,
  );
}

export async function usersListCommand(options: StoreLocation & { json?: boolean }): Promise<void> {
  const accounts = await withAccessStore(options, ['search', '$accounts'], (store) => listAccounts(store));
  if (options.json) {
    console.log(JSON.stringify(accounts, null, 2));
    return;
  }
  if (accounts.length === 0) {
    console.log(
      `No accounts yet. Add one with: chartvault users add --user NAME --role ROLE (${HUMAN_ROLES.join(', ')})`,
    );
    return;
  }
  console.log(formatTable(accounts));
}

function formatTable(accounts: AccountSummary[]): string {
  const rows = [
    ['user', 'role', 'name', 'status', 'mfa', 'created'],
    ...accounts.map((a) => [
      a.userName,
      a.role,
      a.displayName,
      a.disabled
        ? 'disabled'
        : a.passwordSet
          ? 'active'
          : a.enrolmentPending
            ? 'enrolment pending'
            : 'no password',
      a.mfaEnrolled ? 'enrolled' : 'not yet',
      a.created.slice(0, 10),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The file's text without its final line break (editors add one; a password never ends with one). */
function readPasswordFile(file: string): string {
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch {
    throw new CliError(`Cannot read the password file ${resolve(file)}.`);
  }
}
