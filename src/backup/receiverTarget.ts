/**
 * A backup target on an append-only receiver (`chartvault receiver`, on another machine), reached over
 * mutually authenticated TLS with the client certificate made at pairing and the receiver's
 * certificate pinned. The receiver offers only put-if-absent, get, size and list: whatever this
 * server's credential is used for, it can add backups and read them, never replace or delete them.
 */
import { createHash } from 'node:crypto';
import { BackupError } from './backupError.ts';
import { isListPrefix, isObjectName, OBJECT_NAME_RULE } from './receiver/objectNames.ts';
import {
  ReceiverClient,
  receiverMessage,
  type ReceiverConnection,
  type ReceiverResponse,
} from './receiver/receiverClient.ts';
import { connectionOf, findPairing } from './receiver/practicePairings.ts';
import { TargetConflict, type BackupTarget } from './target.ts';

export class ReceiverTarget implements BackupTarget {
  readonly description: string;
  private readonly client: ReceiverClient;

  constructor(connection: ReceiverConnection, practice?: string) {
    this.client = new ReceiverClient(connection);
    this.description = `receiver ${connection.url}${practice ? ` (practice ${practice})` : ''}`;
  }

  async putIfAbsent(path: string, bytes: Buffer): Promise<'written' | 'exists'> {
    const response = await this.client.request({
      method: 'PUT',
      path: this.objectPath(path),
      body: bytes,
      headers: {
        'content-type': 'application/octet-stream',
        'x-content-sha256': createHash('sha256').update(bytes).digest('hex'),
      },
    });
    if (response.status === 201) return 'written';
    if (response.status === 200) return 'exists';
    if (response.status === 409)
      throw new TargetConflict(
        `${this.description}: ${receiverMessage(response)} Run chartvault backup verify.`,
      );
    throw this.failure(`storing ${path}`, response);
  }

  async get(path: string): Promise<Buffer | undefined> {
    const response = await this.client.request({ method: 'GET', path: this.objectPath(path) });
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw this.failure(`reading ${path}`, response);
    return response.body;
  }

  async size(path: string): Promise<number | undefined> {
    const response = await this.client.request({ method: 'HEAD', path: this.objectPath(path) });
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw this.failure(`asking the size of ${path}`, response);
    return Number(response.headers['content-length']);
  }

  async list(folder: string): Promise<string[]> {
    const prefix = folder === '' || folder.endsWith('/') ? folder : `${folder}/`;
    if (!isListPrefix(prefix)) throw new BackupError(`cannot list ${folder} on a receiver`);
    const response = await this.client.request({
      method: 'GET',
      path: `/v1/list?prefix=${encodeURIComponent(prefix)}`,
    });
    if (response.status !== 200) throw this.failure(`listing ${prefix}`, response);
    return (JSON.parse(response.body.toString()) as { objects: string[] }).objects;
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.client.close();
  }

  private objectPath(path: string): string {
    if (!isObjectName(path)) throw new BackupError(`${path}: ${OBJECT_NAME_RULE}`);
    return `/v1/objects/${path}`;
  }

  private failure(what: string, response: ReceiverResponse): BackupError {
    return new BackupError(`${this.description} refused ${what}: ${receiverMessage(response)}`);
  }
}

/**
 * The receiver target that `spec` names for the store in `dataDir`: its https address or the name
 * given at pairing (`receiver` by default); undefined when the store has no such pairing.
 */
export function pairedReceiverTarget(dataDir: string, spec: string): ReceiverTarget | undefined {
  const pairing = findPairing(dataDir, spec);
  return pairing ? new ReceiverTarget(connectionOf(pairing), pairing.practice) : undefined;
}
