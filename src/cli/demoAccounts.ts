/**
 * The demo practice's people and script: one staff account per role, with a password and an enrolled
 * authenticator (its TOTP secret printed, to type into an authenticator app), and one read-only system
 * client for trying the API with curl. Each `chartvault demo` gives them new credentials (new
 * passwords, new authenticators, a new client replacing the last), because no secret is stored in a
 * readable form to print again. For a demo store only: a real practice adds its people with
 * `chartvault users add`, each enrolling their own authenticator.
 */
import { randomBytes } from 'node:crypto';
import {
  addAccount,
  confirmTotpEnrolment,
  getAccount,
  HUMAN_ROLES,
  listClients,
  operatorActor,
  registerClient,
  resetMfa,
  revokeClient,
  setPassword,
  startTotpEnrolment,
  type HumanRole,
} from '../access/index.ts';
import { currentCode, TOTP_SETTINGS } from '../access/totp.ts';
import type { ResourceStore } from '../store/index.ts';

export interface DemoAccount {
  userName: string;
  role: HumanRole;
  password: string;
  totpSecret: string;
}

export interface DemoCredentials {
  accounts: DemoAccount[];
  client: { clientId: string; clientSecret: string; scopes: string };
}

const DEMO_CLIENT_NAME = 'demo-script';
const DEMO_CLIENT_SCOPES = 'system/*.rs';

/** Makes (or renews) the demo accounts and the demo client; returns their new credentials. */
export async function makeDemoCredentials(store: ResourceStore): Promise<DemoCredentials> {
  const actor = operatorActor();
  const accounts: DemoAccount[] = [];
  for (const role of HUMAN_ROLES) {
    const userName = `demo-${role}`;
    const password = randomBytes(12).toString('base64url');
    if (await getAccount(store, userName)) {
      await setPassword(store, userName, password, actor);
      await resetMfa(store, userName, actor);
    } else {
      await addAccount(store, { userName, role, password, displayName: `Demo ${role}` }, actor);
    }
    const { secret } = await startTotpEnrolment(store, userName);
    // Confirmed with the previous period's code, so that the code showing now still signs in.
    const previous = currentCode(secret, Date.now() - TOTP_SETTINGS.period * 1000);
    if (!(await confirmTotpEnrolment(store, userName, previous)))
      throw new Error(`the demo authenticator of ${userName} did not confirm`);
    accounts.push({ userName, role, password, totpSecret: secret });
  }
  for (const old of await listClients(store))
    if (old.name === DEMO_CLIENT_NAME && !old.revoked) await revokeClient(store, old.clientId, actor);
  const { client, clientSecret } = await registerClient(
    store,
    { name: DEMO_CLIENT_NAME, scopes: DEMO_CLIENT_SCOPES },
    actor,
  );
  return {
    accounts,
    client: { clientId: client.clientId, clientSecret: clientSecret!, scopes: DEMO_CLIENT_SCOPES },
  };
}

/** The credentials as the demo prints them: a table of accounts and the curl lines for the client. */
export function demoCredentialsText(credentials: DemoCredentials, origin: string, certFile: string): string {
  const rows = credentials.accounts.map(
    (a) => `  ${a.role.padEnd(17)} ${a.userName.padEnd(22)} ${a.password.padEnd(18)} ${a.totpSecret}`,
  );
  const { clientId, clientSecret, scopes } = credentials.client;
  return [
    'Demo staff accounts (sign in at ' + origin + '/login; add the TOTP secret to an authenticator app):',
    `  ${'role'.padEnd(17)} ${'user name'.padEnd(22)} ${'password'.padEnd(18)} TOTP secret`,
    ...rows,
    `Demo system client (${scopes}, read and search only) for the API:`,
    `  TOKEN=$(curl -s --cacert ${certFile} -u '${clientId}:${clientSecret}' -d grant_type=client_credentials ${origin}/oauth/token | sed 's/.*"access_token":"\\([^"]*\\)".*/\\1/')`,
    `  curl -s --cacert ${certFile} -H "Authorization: Bearer $TOKEN" '${origin}/fhir/Patient?family=smith&_count=3'`,
    'These credentials are new on every run of the demo (earlier ones stop working); they are for this demo store only.',
  ].join('\n');
}
