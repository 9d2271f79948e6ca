/**
 * `chartvault clients add|revoke|list`: registered systems that get access tokens at /oauth/token.
 * Attributed to the operating-system user who ran the command, like `users`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  listClients,
  loadOrCreateTokenKeys,
  operatorActor,
  registerClient,
  revokeClient,
} from '../access/index.ts';
import { readSettings } from '../store/index.ts';
import { CliError, type StoreLocation } from './main.ts';
import { withAccessStore } from './usersCommand.ts';

export interface ClientsAddOptions extends StoreLocation {
  name: string;
  scopes: string;
  jwks?: string;
  jwksUrl?: string;
  /** Apps people sign in to (authorization code flow): the exact redirect URIs, repeatable. */
  redirectUri?: string[];
  /** A public app (no secret; PKCE only). */
  public?: boolean;
  json?: boolean;
}

export async function clientsAddCommand(options: ClientsAddOptions): Promise<void> {
  const jwks = options.jwks === undefined ? undefined : readJwksFile(options.jwks);
  const result = await withAccessStore(options, ['create', '$clients'], async (store) => {
    // The token signing key is made by the first command that needs it and holds the key folder.
    loadOrCreateTokenKeys(options.keyDir, readSettings(options.data).storeId);
    return registerClient(
      store,
      {
        name: options.name,
        scopes: options.scopes,
        jwks,
        jwksUrl: options.jwksUrl,
        redirectUris: options.redirectUri,
        public: options.public,
      },
      operatorActor(),
    );
  });
  const { client, clientSecret } = result;
  if (options.json) {
    console.log(
      JSON.stringify(
        clientSecret
          ? { client_id: client.clientId, client_secret: clientSecret }
          : { client_id: client.clientId },
      ),
    );
    return;
  }
  console.log(`Registered client ${client.name} with scopes ${client.scopes.join(' ')}.`);
  console.log(`client_id:     ${client.clientId}`);
  if (client.redirectUris) {
    console.log(`redirect URIs: ${client.redirectUris.join(' ')}`);
    console.log(
      'People authorize this app at /oauth/authorize (authorization code with PKCE S256); it gets tokens at /oauth/token.',
    );
  }
  if (client.authMethod === 'none') {
    console.log('A public app: it has no secret and proves each code with its PKCE code_verifier.');
    return;
  }
  if (clientSecret) {
    console.log(`client_secret: ${clientSecret}`);
    console.log(
      'The secret is shown only now (only its hash is kept). Use HTTP Basic at /oauth/token (client_secret_basic).',
    );
  } else {
    console.log(
      'The client signs its own assertions (private_key_jwt) with the key whose public half you registered.',
    );
  }
}

export async function clientsRevokeCommand(options: StoreLocation & { clientId: string }): Promise<void> {
  const client = await withAccessStore(options, ['update', '$clients'], (store) =>
    revokeClient(store, options.clientId, operatorActor()),
  );
  console.log(
    `Revoked ${client.name} (${client.clientId}): no new tokens, and its current tokens stop working at once.`,
  );
}

export async function clientsListCommand(options: StoreLocation & { json?: boolean }): Promise<void> {
  const clients = await withAccessStore(options, ['search', '$clients'], (store) => listClients(store));
  if (options.json) {
    console.log(JSON.stringify(clients, null, 2));
    return;
  }
  if (clients.length === 0) {
    console.log(
      "No clients yet. Register one with: chartvault clients add --name NAME --scopes 'system/*.rs'",
    );
    return;
  }
  for (const client of clients) {
    console.log(
      `${client.clientId}  ${client.name}  ${client.revoked ? 'revoked' : 'active'}  ${client.authMethod}  ${client.scopes.join(' ')}  (added ${client.created.slice(0, 10)} by ${client.createdBy})`,
    );
  }
}

function readJwksFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new CliError(`Cannot read the JWKS file ${resolve(file)}.`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(
      `${resolve(file)} is not JSON (${(error as Error).message}); it should hold {"keys": [...]}.`,
    );
  }
}
