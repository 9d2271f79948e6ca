/**
 * The `chartvault` command. Each sub-command lives in its own module, loaded only when it runs; this file
 * only wires them.
 */
import { Command, Option } from 'commander';
import { FhirError } from '../fhir/outcome.ts';
import { StoreError, defaultKeyDir } from '../store/index.ts';

/** A failure the user can fix; printed as one line without a stack trace. */
export class CliError extends Error {}

export interface StoreLocation {
  data: string;
  keyDir: string;
}

const dataOption = () => new Option('--data <dir>', 'data directory of the store').env('CHARTVAULT_DATA');
const keyDirOption = () =>
  new Option('--key-dir <dir>', 'folder holding the data key (outside the data directory)').default(
    defaultKeyDir(),
  );

export async function main(argv: string[]): Promise<void> {
  const program = new Command('chartvault')
    .description('ChartVault: a FHIR R4 clinical record system that survives a ransomware attack.')
    .showHelpAfterError();

  program
    .command('init')
    .description('create a new encrypted store and its data key')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .option('--time-zone <zone>', "the practice's IANA time zone (default: the machine's)")
    .option('--yes', 'do not ask questions')
    .option('--kit-out <file>', 'write the recovery kit here (default: in the key folder)')
    .option('--tls-cert <file>', 'TLS certificate (PEM) to serve instead of a self-signed one')
    .option('--tls-key <file>', 'private key (PEM) of --tls-cert')
    .action(async (options) => (await import('./initCommand.ts')).initCommand(options));

  program
    .command('serve')
    .description('serve the FHIR API')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .option(
      '--host <host>',
      'address to listen on (HTTPS on any address; plain HTTP on loopback only)',
      '127.0.0.1',
    )
    .option('--port <port>', 'port; 0 picks a free one', '8080')
    .option('--insecure-http', 'serve plain HTTP (loopback only)')
    .option('--read-only', 'answer reads (audited) and refuse every change: an emergency copy')
    .option(
      '--from-backup <target>',
      "with --read-only and --kit: restore the target's newest snapshot into --data (a new folder) first",
    )
    .option('--kit <file>', 'the recovery kit, for --from-backup')
    .option('--paired-data <dir>', 'for a receiver target: the data directory paired with it')
    .action(async (options) => (await import('./serveCommand.ts')).serveCommand(options));

  program
    .command('import')
    .description('import FHIR Bundles (batch, transaction, collection), single resources and Bulk NDJSON')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .argument('<paths...>', 'files or folders')
    .option('--workers <n>', 'worker threads preparing files')
    .option('--no-progress', 'no progress bar')
    .action(async (paths, options) => (await import('./importCommand.ts')).importCommand(paths, options));

  program
    .command('demo')
    .description('create a demo practice (and the store, if needed), then serve it')
    .addOption(dataOption().default('.chartvault-demo'))
    .addOption(keyDirOption())
    .option('--reset', 'delete the demo data directory and its key first')
    .option('--no-serve', 'exit after generating')
    .option('--patients <n>', 'number of patients', '300')
    .option('--time-zone <zone>', "the practice's IANA time zone (default: the machine's)")
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port; 0 picks a free one', '8080')
    .action(async (options) => (await import('./demoCommand.ts')).demoCommand(options));

  const downtime = program
    .command('downtime')
    .description('the offline, encrypted downtime copy of the coming clinic days and their charts');
  downtime
    .command('export')
    .description('write a downtime file now (to --out, or to every downtime location)')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .option('--out <file>', 'write this one file (otherwise: every configured downtime location)')
    .option('--passphrase-file <file>', 'file holding the downtime passphrase (otherwise: the one set up)')
    .option('--days <n>', 'clinic days to include, today first (default 3)')
    .option('--census', 'include every active patient, not only the scheduled ones')
    .option('--include-restricted', 'include charts labelled restricted')
    .option('--max-size-mb <n>', 'size limit for census mode (default 25)')
    .action(async (options) => (await import('./downtimeCommand.ts')).downtimeExportCommand(options));
  downtime
    .command('setup')
    .description('set the downtime passphrase, locations and schedule used by serve')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .option('--passphrase-file <file>', 'file holding the (new) downtime passphrase')
    .option('--location <dir...>', 'folders that receive copies (replaces the list)')
    .option('--days <n>', 'clinic days per copy, today first (default 3)')
    .option('--census', 'include every active patient')
    .option('--no-census', 'only scheduled patients')
    .option('--include-restricted', 'include charts labelled restricted')
    .option('--no-include-restricted', 'leave restricted charts out')
    .option('--stale-after-hours <n>', 'the viewer warns when a copy is older (default 8)')
    .option('--clinic-hours <start-end>', 'hourly exports in these local hours (default 7-19)')
    .option('--night-hour <h>', 'the nightly export hour (default 2)')
    .option('--max-size-mb <n>', 'size limit for census mode (default 25)')
    .action(async (options) => (await import('./downtimeCommand.ts')).downtimeSetupCommand(options));
  downtime
    .command('status')
    .description('show the downtime settings and the copies at each location')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .action(async (options) => (await import('./downtimeCommand.ts')).downtimeStatusCommand(options));

  program
    .command('kit')
    .description('write the recovery kit (backup key and restore steps) again')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .option('--out <file>', 'where to write it (default: in the key folder)')
    .action(async (options) => (await import('./kitCommand.ts')).kitCommand(options));

  const backup = program.command('backup').description('encrypted, incremental, write-once backups');
  backup
    .command('run')
    .description('take one snapshot now')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .requiredOption(
      '--to <target>',
      'backup target: a directory (an external disk, a NAS share), a paired receiver (https://HOST:PORT or its name), or s3://BUCKET/PREFIX',
    )
    .action(async (options) => (await import('./backupCommand.ts')).backupRunCommand(options));
  backup
    .command('prune')
    .description(
      'apply the retention policy to a target that allows deletion (a directory; S3 once locks run out)',
    )
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .requiredOption('--to <target>', 'backup target')
    .option(
      '--keep <rules>',
      "retention, e.g. hourly=48,daily=30,weekly=12,monthly=12,yearly=7 (default: the schedule's, else those)",
    )
    .option('--dry-run', 'say what would be removed, remove nothing')
    .action(async (options) => (await import('./backupCommand.ts')).backupPruneCommand(options));
  backup
    .command('pair')
    .description('pair this store with a backup receiver, using the code and fingerprint it printed')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .requiredOption('--to <url>', "the receiver's address, https://HOST:PORT")
    .requiredOption('--code <code>', 'the one-time code from chartvault receiver pair')
    .requiredOption('--fingerprint <sha256>', "the receiver's certificate fingerprint, as it printed it")
    .option('--name <name>', 'the name to use in --to (default: receiver)')
    .action(async (options) => (await import('./receiverCommand.ts')).backupPairCommand(options));
  backup
    .command('verify')
    .description('check that every snapshot in a target is complete and readable')
    .requiredOption('--from <target>', 'backup target')
    .requiredOption('--kit <file>', 'the recovery kit')
    .option('--read-data', 'also read, authenticate and decrypt every pack')
    .option('--sample <percent>', "with --read-data: read tonight's share of a rotation (e.g. 10%)")
    .option('--paired-data <dir>', 'for a receiver target: the data directory paired with it')
    .action(async (options) => (await import('./backupCommand.ts')).backupVerifyCommand(options));

  backup
    .command('schedule')
    .description(
      'the targets serve backs up to (every minute by default), nightly verification, weekly drill',
    )
    .addOption(dataOption().makeOptionMandatory())
    .option('--to <target...>', 'the targets, replacing the list (a directory, or a paired receiver)')
    .option('--every <minutes>', 'minutes between snapshots (default 1)')
    .option('--verify-at <HH:MM>', 'local time of the nightly verification (default 02:30)')
    .option('--drill <day HH:MM>', 'day and local time of the weekly restore drill (default "sunday 03:30")')
    .option(
      '--keep <rules>',
      'retention applied each night, e.g. hourly=48,daily=30,weekly=12,monthly=12,yearly=7',
    )
    .option('--off', 'no scheduled backups')
    .action(async (options) => (await import('./backupScheduleCommand.ts')).backupScheduleCommand(options));
  backup
    .command('status')
    .description('where the backups are, how old, which copy is offline, and the last restore drill')
    .addOption(dataOption().makeOptionMandatory())
    .option('--json', 'print the status as JSON')
    .action(async (options) => (await import('./backupStatusCommand.ts')).backupStatusCommand(options));
  backup
    .command('drill')
    .description('rehearse a restore: restore into a throw-away store, check it, time it, then remove it')
    .requiredOption('--from <target>', 'backup target')
    .requiredOption('--kit <file>', 'the recovery kit')
    .option('--data <dir>', 'the live store, to keep the result for backup status and the audit trail')
    .addOption(keyDirOption())
    .option('--snapshot <id>', 'snapshot id (default: the newest)')
    .option('--paired-data <dir>', 'for a receiver target: the data directory paired with it')
    .action(async (options) => (await import('./drillCommand.ts')).backupDrillCommand(options));

  program
    .command('restore')
    .description(
      'make a new store from a backup target and the recovery kit; with --patient, bring one chart back into the live store',
    )
    .requiredOption('--from <target>', 'backup target')
    .requiredOption('--kit <file>', 'the recovery kit')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .option('--snapshot <id>', 'snapshot id (default: the newest)')
    .option('--at <time>', 'the newest snapshot taken at or before this time (e.g. 2026-11-28T07:40:00Z)')
    .option('--patient <id>', "restore only this patient's chart into the live store --data, as new versions")
    .option('--dry-run', 'with --patient: say what would be written back, and write nothing')
    .option('--paired-data <dir>', 'for a receiver target: the data directory paired with it')
    .action(async (options) =>
      options.patient
        ? (await import('./restorePatientCommand.ts')).restorePatientCommand(options)
        : (await import('./restoreCommand.ts')).restoreCommand(options),
    );

  // The append-only backup receiver, run on another machine (docs/operations/backup.md).
  const receiver = program
    .command('receiver')
    .description('the append-only backup receiver, run on another machine (default: serve)');
  receiver
    .command('serve', { isDefault: true })
    .description('serve the receiver over HTTPS with mutual TLS (makes its certificate on first start)')
    .requiredOption('--data <dir>', "the receiver's data directory")
    .requiredOption('--port <port>', 'port; 0 picks a free one')
    .option('--host <host>', 'address to listen on', '0.0.0.0')
    .option('--max-object-mb <n>', 'largest object accepted, in MiB (default 256)')
    .action(async (options) => (await import('./receiverCommand.ts')).receiverServeCommand(options));
  receiver
    .command('pair')
    .description("print a one-time pairing code (15 minutes) and this receiver's certificate fingerprint")
    .requiredOption('--data <dir>', "the receiver's data directory")
    .option('--name <label>', 'a label for the practice (stored on the receiver only)')
    .option('--practice <id>', 'pair a new server with this existing practice (after a restore)')
    .option('--replace', "with --practice: the new server replaces the practice's earlier ones")
    .action(async (options) => (await import('./receiverCommand.ts')).receiverPairCommand(options));
  receiver
    .command('status')
    .description('practices, objects, bytes, last write and alarms')
    .requiredOption('--data <dir>', "the receiver's data directory")
    .option('--json', 'print JSON')
    .action(async (options) => (await import('./receiverCommand.ts')).receiverStatusCommand(options));
  receiver
    .command('prune')
    .description('remove what retention lets go and no kept snapshot needs (never below the minimum)')
    .requiredOption('--data <dir>', "the receiver's data directory")
    .requiredOption('--practice <id>', 'the practice id (receiver status lists them)')
    .requiredOption('--keep-days <n>', 'keep everything that arrived in these last days (30 or more)')
    .option('--kit <file>', "the practice's recovery kit, to read which objects snapshots need")
    .option(
      '--keep <rules>',
      'with --kit, what to keep beyond --keep-days (default hourly=48,daily=30,weekly=12,monthly=12,yearly=7)',
    )
    .option('--dry-run', 'say what would be removed, remove nothing')
    .action(async (options) => (await import('./receiverCommand.ts')).receiverPruneCommand(options));
  receiver
    .command('export')
    .description("copy a practice's backups to a folder or disk, for restore --from DIR on a new machine")
    .requiredOption('--data <dir>', "the receiver's data directory")
    .requiredOption('--practice <id>', 'the practice id (receiver status lists them)')
    .requiredOption('--out <dir>', 'the folder to copy into')
    .action(async (options) => (await import('./receiverCommand.ts')).receiverExportCommand(options));

  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('verify')
    .description('check the audit chain and its signed checkpoints; names the first entry that breaks it')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .action(async (options) => (await import('./auditCommand.ts')).auditVerifyCommand(options));
  audit
    .command('forward')
    .description('have serve forward audit entries as they happen (JSON lines to a file, syslog over TLS)')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .option('--to-file <file>', 'append JSON lines to this file')
    .option('--syslog-tls <host:port>', 'send RFC 5424 messages over TLS (RFC 5425) to this collector')
    .option('--ca <file>', "the collector's CA certificate (PEM), when the system's CAs do not vouch for it")
    .action(async (options) => (await import('./auditCommand.ts')).auditForwardCommand(options));
  const report = program.command('report').description('reports from the audit trail');
  report
    .command('alerts')
    .description('what the security officer reviews: every break-the-glass access, with its reason')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .option('--json', 'print JSON')
    .action(async (options) => (await import('./reportCommand.ts')).reportAlertsCommand(options));
  report
    .command('access')
    .description("who has seen or changed a patient's record")
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .requiredOption('--patient <id>', 'the Patient id')
    .option('--since <date>', 'only accesses from this date on')
    .option('--json', 'print JSON')
    .action(async (options) => (await import('./reportCommand.ts')).reportAccessCommand(options));

  const keys = program.command('keys').description('rotate the keys of a store, each with its own command');
  keys
    .command('rotate-tls')
    .description(
      'install a new TLS certificate and key (self-signed, or --tls-cert/--tls-key); serve uses it on restart',
    )
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .option(
      '--tls-cert <file>',
      'certificate (PEM, may hold the chain) to install instead of a self-signed one',
    )
    .option('--tls-key <file>', 'private key (PEM) of --tls-cert')
    .action(async (options) => (await import('./keysCommand.ts')).rotateTlsCommand(options));
  keys
    .command('rotate-store')
    .description('re-encrypt the database under a new data key (stop serve first)')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .action(async (options) => (await import('./keysCommand.ts')).rotateStoreCommand(options));
  keys
    .command('rotate-backup')
    .description(
      'a lost or stolen recovery kit: a new backup key and kit; back up to new targets from then on',
    )
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .option(
      '--kit-out <file>',
      'where to write the new kit (default: in the key folder, the old one kept aside)',
    )
    .action(async (options) => (await import('./backupKeyRotation.ts')).rotateBackupKeyCommand(options));
  keys
    .command('rotate-audit')
    .description(
      "a new signing key for the audit chain's checkpoints; the old one stays valid for those it signed (stop serve first)",
    )
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .action(async (options) => (await import('./auditKeyRotation.ts')).rotateAuditKeyCommand(options));

  const users = program
    .command('users')
    .description("people's accounts (attributed to the OS user running this)");
  users
    .command('add')
    .description('add a named account; without --password-file, print a one-time enrolment code')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .requiredOption('--user <name>', 'user name (letters, digits, . _ - @)')
    .requiredOption('--role <role>', 'physician, nurse, front-desk, billing or security-officer')
    .option('--display <name>', 'the name shown to others')
    .option('--password-file <file>', 'file holding the first password')
    .option('--practitioner <id>', "the person's Practitioner id: puts them on their patients' care teams")
    .option('--json', 'print the result as JSON')
    .action(async (options) => (await import('./usersCommand.ts')).usersAddCommand(options));
  users
    .command('link')
    .description("link an account to the person's Practitioner (care teams of restricted charts)")
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .requiredOption('--user <name>', 'user name')
    .requiredOption('--practitioner <id>', "the Practitioner id, or 'none' to unlink")
    .action(async (options) => (await import('./usersCommand.ts')).usersLinkCommand(options));
  users
    .command('disable')
    .description('disable an account: sign-in, sessions and tokens stop at once')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .requiredOption('--user <name>', 'user name')
    .action(async (options) => (await import('./usersCommand.ts')).usersDisableCommand(options));
  users
    .command('reset-mfa')
    .description(
      "remove an account's authenticator and recovery codes (a new one is enrolled at next sign-in)",
    )
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .requiredOption('--user <name>', 'user name')
    .action(async (options) => (await import('./usersCommand.ts')).usersResetMfaCommand(options));
  users
    .command('list')
    .description('list the accounts')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .option('--json', 'print JSON')
    .action(async (options) => (await import('./usersCommand.ts')).usersListCommand(options));

  const clients = program
    .command('clients')
    .description('registered systems (OAuth clients) that get access tokens');
  clients
    .command('add')
    .description(
      'register a client: a secret for client_secret_basic, or its public keys for private_key_jwt',
    )
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .requiredOption('--name <name>', 'what the client is, e.g. lab-interface')
    .requiredOption('--scopes <scopes>', "SMART scopes, space-separated, e.g. 'system/*.rs'")
    .option('--jwks <file>', "the client's public keys (JWKS JSON): private_key_jwt")
    .option('--jwks-url <url>', 'where the client publishes its JWKS (https): private_key_jwt')
    .option(
      '--redirect-uri <uri>',
      'an app people sign in to: its redirect URI (repeatable)',
      (uri: string, uris: string[] = []) => [...uris, uri],
    )
    .option('--public', 'a public app (no secret; PKCE only); needs --redirect-uri')
    .option('--json', 'print {"client_id", "client_secret"} as JSON')
    .action(async (options) => (await import('./clientsCommand.ts')).clientsAddCommand(options));
  clients
    .command('revoke')
    .description('revoke a client: no new tokens, its current tokens stop at once')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .requiredOption('--client-id <id>', 'the client_id')
    .action(async (options) => (await import('./clientsCommand.ts')).clientsRevokeCommand(options));
  clients
    .command('list')
    .description('list the registered clients')
    .addOption(dataOption().makeOptionMandatory())
    .addOption(keyDirOption())
    .option('--json', 'print JSON')
    .action(async (options) => (await import('./clientsCommand.ts')).clientsListCommand(options));

  // S3 targets (s3://BUCKET/PREFIX): how to reach the bucket, on every command that opens a target.
  // Given with a data directory, they are remembered there (docs/operations/backup.md, "S3").
  for (const path of [
    ['backup', 'run'],
    ['backup', 'verify'],
    ['backup', 'drill'],
    ['backup', 'prune'],
    ['restore'],
  ]) {
    const command = path.reduce((parent, name) => parent.commands.find((c) => c.name() === name)!, program);
    command
      .option('--s3-endpoint <url>', 'S3 target: the provider endpoint (B2, Wasabi, MinIO; default AWS)')
      .option('--s3-region <region>', 'S3 target: the bucket region (default us-east-1)')
      .option('--s3-credentials <file>', 'S3 target: credentials file (default: the AWS_* variables)')
      .option('--s3-retention-days <n>', 'S3 target: days each object is locked (default 30)')
      .hook('preAction', async (thisCommand) =>
        (await import('./backupCommand.ts')).useS3Options(thisCommand.opts()),
      );
  }

  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CliError || error instanceof StoreError || error instanceof FhirError) {
      console.error(`chartvault: ${error.message}`);
      process.exit(1);
    }
    console.error(`chartvault: unexpected error: ${(error as Error).message}`);
    if (process.env.CHARTVAULT_DEBUG) console.error((error as Error).stack);
    process.exit(2);
  }
}
