/** `chartvault audit verify` and `chartvault audit forward` (docs/audit-chain.md, sections 6 and 7). */
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { commandLineAgent } from '../audit/agents.ts';
import { writeForwardingSettings, type ForwardingSettings } from '../audit/forwarding.ts';
import { AuditKeyError, loadAuditSigningKey } from '../audit/signingKey.ts';
import { verifyAuditChain } from '../audit/verify.ts';
import { openStore } from '../store/index.ts';
import { CliError } from './main.ts';
import { openCommandAuditTrail } from './commandAuditTrail.ts';

export async function auditVerifyCommand(options: { data: string; keyDir: string }): Promise<void> {
  const started = performance.now();
  const { store, settings } = openStore(options.data, options.keyDir);
  try {
    let publicKey;
    try {
      publicKey = loadAuditSigningKey(options.keyDir, settings.storeId)?.publicKey;
    } catch (error) {
      if (error instanceof AuditKeyError) throw new CliError(error.message);
      throw error;
    }
    const report = await verifyAuditChain({
      store,
      dataDir: options.data,
      storeId: settings.storeId,
      publicKey,
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    if (!report.ok) throw new CliError(`the audit chain is broken: ${report.problem}.`);
    console.log(`Audit chain intact: ${report.entries} entries, checked in ${seconds} s.`);
    const last = report.lastCheckpoint;
    if (last) {
      console.log(`Last checkpoint: entry #${last.seq}, signed ${last.time} with key ${last.key}.`);
      if (report.uncheckpointed > 0)
        console.log(
          `${report.uncheckpointed} entries after it are protected by the chain alone until the next checkpoint.`,
        );
    } else {
      console.log(
        publicKey
          ? 'No checkpoint yet: one is signed when serve or a CLI command that changes the store finishes.'
          : 'No audit signing key in the key folder and no checkpoint yet: only the chain was checked.',
      );
    }
  } finally {
    await store.close();
  }
}

export async function auditForwardCommand(options: {
  data: string;
  keyDir: string;
  toFile?: string;
  syslogTls?: string;
  ca?: string;
}): Promise<void> {
  if (!options.toFile && !options.syslogTls)
    throw new CliError('Say where to forward: --to-file FILE and/or --syslog-tls HOST:PORT.');
  let syslog: ForwardingSettings['syslog'];
  if (options.syslogTls) {
    const match = /^(.+):(\d{1,5})$/.exec(options.syslogTls);
    if (!match || Number(match[2]) > 65535)
      throw new CliError(
        `--syslog-tls takes HOST:PORT (e.g. logs.example.org:6514), not "${options.syslogTls}".`,
      );
    if (options.ca && !existsSync(options.ca)) throw new CliError(`--ca ${options.ca}: no such file.`);
    syslog = {
      host: match[1]!.replace(/^\[(.*)\]$/, '$1'),
      port: Number(match[2]),
      ca: options.ca && resolve(options.ca),
    };
  }
  const { store, settings } = openStore(options.data, options.keyDir);
  try {
    const head = await store.auditHead();
    const forwarding: ForwardingSettings = {
      file: options.toFile ? resolve(options.toFile) : undefined,
      syslog,
      fromSeq: head.seq + 1,
    };
    await store.appendAudit({
      agent: commandLineAgent(),
      action: 'configure',
      resource: { type: 'audit-forwarding' },
      outcome: 'success',
      detail: {
        ...(forwarding.file ? { file: forwarding.file } : {}),
        ...(syslog ? { syslog: `${syslog.host}:${syslog.port}` } : {}),
      },
    });
    writeForwardingSettings(options.data, forwarding);
    rmSync(join(resolve(options.data), 'audit-forwarded.json'), { force: true });
    const trail = await openCommandAuditTrail(store, settings, options);
    await trail.close();
    console.log(
      `Audit entries from #${forwarding.fromSeq} on will be forwarded by chartvault serve to ` +
        [forwarding.file, syslog && `syslog over TLS at ${syslog.host}:${syslog.port}`]
          .filter(Boolean)
          .join(' and ') +
        ' (without search query strings).',
    );
  } finally {
    await store.close();
  }
}
