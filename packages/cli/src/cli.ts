import { Command, CommanderError, Option } from 'commander';
import { parseBackendUrl } from './backend-url.js';
import { answer } from './commands/answer.js';
import { cancel } from './commands/cancel.js';
import { parsePositiveInt, parseStatus, type CommandContext } from './commands/context.js';
import { checkpointShow, checkpointsTimeline, diff, runsList, runsShow } from './commands/inspect.js';
import { deleteRun, migrate, parsePruneStatuses, prune, verify } from './commands/maintain.js';
import { resume } from './commands/resume.js';
import { connect, type Connection } from './connect.js';
import { parseDuration } from './duration.js';
import { classify, EXIT } from './errors.js';
import { encryptionFromEnv } from './keys.js';
import { Output, type CliIo } from './output.js';

interface GlobalOptions {
  backend?: string;
  schema?: string;
  tablePrefix?: string;
  prefix?: string;
  keyEnv?: string[];
  json?: boolean;
  progress?: boolean;
}

const EXIT_CODES_HELP = `
Exit codes:
  0  ok
  1  the operation failed (corruption found, an answer refused, a run that failed on resume...)
  2  usage error (unknown command or option, bad backend URL, an argument that does not parse)
  3  run or checkpoint not found
  4  backend unreachable, or its package not installed

Backend URLs (--backend, or the SAVEPOINT_BACKEND variable):
  sqlite:./.savepoint/app.db     needs @savepoint/backend-sqlite
  file:./.savepoint/files        needs @savepoint/backend-file
  postgres://user:pass@host/db   needs @savepoint/backend-postgres (--schema, --table-prefix)
  redis://host:6379/0            needs @savepoint/backend-redis (--prefix)`;

type Action = (ctx: CommandContext, ...args: any[]) => Promise<number | void>;

/**
 * Runs the savepoint command line (`argv` without the node and script paths) and resolves with the exit code.
 * Never exits the process itself: the bin does, so it can be embedded and tested in-process.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  let connection: Promise<Connection> | undefined;
  let output = new Output(io, { json: argv.includes('--json'), progress: undefined });
  const cwd = io.cwd ?? process.cwd();

  const program = new Command('savepoint')
    .description('Inspect and operate Savepoint runs: list, show, diff, answer, cancel, resume, prune, verify.')
    .addOption(new Option('-b, --backend <url>', 'backend URL (default: $SAVEPOINT_BACKEND)'))
    .option('--schema <name>', 'PostgreSQL schema holding the tables (default public)')
    .option('--table-prefix <prefix>', 'PostgreSQL/SQLite table prefix (default savepoint_)')
    .option('--prefix <prefix>', 'Redis key prefix (default savepoint:)')
    .option('--key-env <NAME>', 'decrypt with the key(s) in this environment variable, as <keyId>:<base64 of 32 bytes>[,...] (repeatable; the first encrypts)', (v: string, all: string[] | undefined) => [...(all ?? []), v])
    .option('--json', 'print one JSON document on stdout (stable shapes, see the README)')
    .option('--progress', 'show progress on stderr even when it is not a terminal')
    .option('--no-progress', 'never show progress')
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) });

  const act =
    (action: Action) =>
    async (...args: unknown[]): Promise<void> => {
      const command = args[args.length - 1] as Command;
      const globals = command.optsWithGlobals<GlobalOptions>();
      output = new Output(io, { json: globals.json === true, progress: globals.progress });
      const ctx: CommandContext = {
        io,
        output,
        connection: () =>
          (connection ??= (async () => {
            const spec = parseBackendUrl(globals.backend ?? io.env.SAVEPOINT_BACKEND, { schema: globals.schema, tablePrefix: globals.tablePrefix, prefix: globals.prefix });
            return connect(spec, encryptionFromEnv(globals.keyEnv ?? [], io.env));
          })()),
      };
      exitCode = (await action(ctx, ...args.slice(0, -1))) ?? EXIT.ok;
    };

  const runs = program.command('runs').description('list runs, show one');
  runs
    .command('list')
    .description('runs, most recently active first')
    .option('--flow <flowId>', 'only runs of this flow')
    .addOption(new Option('--status <status>', 'only runs whose head has this status').choices(['active', 'paused', 'completed', 'failed', 'canceled', 'pending_input']))
    .option('--tenant <tenantId>', 'only runs of this tenant')
    .option('--limit <n>', 'at most n runs', '50')
    .addHelpText('after', '\nExample:\n  savepoint -b sqlite:./.savepoint/app.db runs list --status pending_input')
    .action(
      act((ctx, opts: { flow?: string; status?: string; tenant?: string; limit: string }) =>
        runsList(ctx, {
          flowId: opts.flow,
          status: opts.status === undefined ? undefined : parseStatus(opts.status),
          tenantId: opts.tenant,
          limit: parsePositiveInt(opts.limit, '--limit'),
        }),
      ),
    );
  runs
    .command('show')
    .description("a run's status, its pending inputs (with their JSON Schema) and its node states")
    .argument('<runId>')
    .action(act((ctx, runId: string) => runsShow(ctx, runId)));

  program
    .command('checkpoints')
    .description("a run's timeline: seq, checkpoint id, status, time and the nodes each checkpoint changed")
    .argument('<runId>')
    .option('--limit <n>', 'only the newest n checkpoints')
    .action(act((ctx, runId: string, opts: { limit?: string }) => checkpointsTimeline(ctx, runId, opts.limit === undefined ? undefined : parsePositiveInt(opts.limit, '--limit'))));

  program
    .command('checkpoint')
    .description('one checkpoint')
    .command('show')
    .description('a checkpoint with its decoded state (input, node states, pending inputs)')
    .argument('<checkpointId>')
    .action(act((ctx, id: string) => checkpointShow(ctx, id)));

  program
    .command('diff')
    .description('what changed between two checkpoints: nodes added, changed (status, output) or removed, pending inputs')
    .argument('<checkpointA>')
    .argument('<checkpointB>')
    .action(act((ctx, a: string, b: string) => diff(ctx, a, b)));

  program
    .command('answer')
    .description('answer a pending input; the JSON value is checked against the stored JSON Schema before anything is written')
    .argument('<runId>')
    .argument('<nodePath>')
    .argument('<json>', "the answer as JSON, e.g. '{\"ok\":true}'")
    .option('--module <file>', "resume the run here with the answer, using this module's workflow")
    .option('--workflow <name>', 'the workflow to use in --module (optional when it exports one)')
    .option('--idempotency-key <key>', 'the same key again is a retry of this answer, not a second answer')
    .addHelpText(
      'after',
      '\nWithout --module the answer is stored in the backend inbox: a runtime-bridge worker waiting for it takes it at once,\n' +
        'a paused run takes it when a runtime-bridge worker resumes it. With --module the run resumes in this process.\n\n' +
        "Example:\n  savepoint answer 0197c0de-... approve '{\"ok\":true}'",
    )
    .action(
      act((ctx, runId: string, nodePath: string, json: string, opts: { module?: string; workflow?: string; idempotencyKey?: string }) =>
        answer(ctx, runId, nodePath, json, { module: opts.module, workflow: opts.workflow, idempotencyKey: opts.idempotencyKey, cwd }),
      ),
    );

  program
    .command('cancel')
    .description('cancel a run: marks its head canceled, or asks the runtime-bridge worker running it to stop')
    .argument('<runId>')
    .addHelpText(
      'after',
      '\nNo workflow code is needed. A run nobody holds is marked canceled under a lease. A run a worker holds gets a\n' +
        'cancel request in the inbox (status cancel_requested): runtime-bridge workers act on it; a plain workflow.run()\n' +
        'in another process has no inbox channel and keeps running.',
    )
    .action(act((ctx, runId: string) => cancel(ctx, runId)));

  program
    .command('delete')
    .description("delete a run's checkpoints and blobs")
    .argument('<runId>')
    .option('--force', 'delete it even while a worker holds it')
    .action(act((ctx, runId: string, opts: { force?: boolean }) => deleteRun(ctx, runId, opts.force === true)));

  program
    .command('prune')
    .description('remove finished runs last updated longer ago than --older-than (retention)')
    .option('--older-than <duration>', 'e.g. 30d, 12h, 90m', '30d')
    .option('--status <list>', 'comma-separated finished statuses', 'completed,failed,canceled')
    .option('--flow <flowId>', 'only runs of this flow')
    .option('--dry-run', 'list what would be removed, remove nothing')
    .addHelpText('after', '\nExample:\n  savepoint prune --older-than 30d --status completed,canceled --dry-run')
    .action(
      act((ctx, opts: { olderThan: string; status: string; flow?: string; dryRun?: boolean }) =>
        prune(ctx, { olderThanMs: parseDuration(opts.olderThan, '--older-than'), statuses: parsePruneStatuses(opts.status), flowId: opts.flow, dryRun: opts.dryRun === true }),
      ),
    );

  program
    .command('migrate')
    .description("create or upgrade the backend's tables (SQLite, PostgreSQL), directories (file) or check the connection (Redis)")
    .action(act((ctx) => migrate(ctx)));

  program
    .command('verify')
    .description('load every checkpoint (of one run, or all) with integrity checks: header digests and re-hashed blobs')
    .argument('[runId]')
    .action(act((ctx, runId: string | undefined) => verify(ctx, runId)));

  program
    .command('resume')
    .description("resume a run with your workflow code and print the result (the workflow's own backend is used)")
    .argument('<runId>')
    .requiredOption('--module <file>', 'a module exporting the Workflow (a named export, or a `workflows` record)')
    .option('--workflow <name>', 'the export to use (optional when the module exports one workflow)')
    .option('--wait-for-lease', 'wait for a lease another worker holds to lapse instead of failing')
    .addHelpText('after', '\nExample:\n  savepoint resume --module ./dist/workflows.js --workflow research 0197c0de-...')
    .action(
      act((ctx, runId: string, opts: { module: string; workflow?: string; waitForLease?: boolean }) =>
        resume(ctx, runId, { module: opts.module, workflow: opts.workflow, waitForLease: opts.waitForLease, cwd }),
      ),
    );

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    exitCode = report(error, output, io);
  } finally {
    if (connection) await connection.then((c) => c.close()).catch(() => undefined);
  }
  return exitCode;
}

function report(error: unknown, output: Output, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Commander printed its message already; help and --version are successes.
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? EXIT.ok : EXIT.usage;
  }
  const { exitCode, code, message, details } = classify(error);
  io.stderr.write(`savepoint: ${message}\n`);
  if (output.json) io.stdout.write(`${JSON.stringify({ error: { code, message, ...details } }, null, 2)}\n`);
  return exitCode;
}
