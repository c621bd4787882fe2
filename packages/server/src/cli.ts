/**
 * The `perch-server` command: runs the server, or (`perch-server token …`) prints a development
 * token. Startup prints exactly one line with the URL, which scripts and tests parse.
 */
import { parseArgs } from 'node:util';
import { mintToken } from './auth.js';
import type { ServerOptions } from './options.js';

const HELP = `perch-server — the Perch reference server (chat, presence, status feed over WebSocket)

Usage:
  perch-server [options]                 run the server
  perch-server token --sub ID --name N   print a development token (HS256) for a user

Server options:
  --port N                 TCP port (default 8080; 0 picks a free one)
  --host H                 interface to bind (default 127.0.0.1)
  --db FILE                SQLite file (default ./perch.db; :memory: for a throw-away one)
  --secret S               HS256 secret shared with your site (else env PERCH_SECRET)
  --audience A             expected "aud" claim (default perch)
  --issuer I               expected "iss" claim (default perch)
  --origin URL             allow browser pages from this origin (repeatable); the server's own
                           origin is always allowed; clients without an Origin header are allowed
  --demo                   seed a demo company into an empty database, serve examples/ and
                           /demo/token?user=ID, /demo/people (never in production)
  --static DIR             serve the files of DIR at /
  --hello-timeout-ms N     close connections that send no hello within N ms (default 10000)
  --heartbeat-ms N         ping interval; a socket missing a pong is dropped, and one whose token
                           expired (without reauth) is closed with 4004 (default 30000)
  --rate-per-connection N  requests per second per connection (default 30)
  --burst-per-connection N burst per connection (default 2 × rate)
  --rate-per-identity N    requests per second per user, all connections (default 60)
  --burst-per-identity N   burst per user (default 2 × rate)
  --flood-limit N          throttled requests within 10 s before closing with 4029 (default 200)
  --max-buffered-bytes N   send buffer of a slow reader before it is cut off with 4003 (default 1048576)
  --max-anonymous-per-address N
                           connections one address (IPv6: one /64) may hold without a signed-in
                           user: HTTP requests, WebSockets before hello, visitors (default 256);
                           more are closed at once
  --max-connections-per-user N
                           connections one user or visitor may hold at once (default 32); a
                           sign-in beyond them is refused with rate_limited (close 4029)
  --visitor-retention-hours N
                           remove a visitor who belongs to no conversation, has no connection
                           open and has not signed in for N hours, with its token (default 24;
                           checked at start and hourly); visitors who chatted are kept
  -h, --help               show this help

Token options:
  --sub ID --name NAME [--secret S] [--ttl SECONDS (default 3600)] [--audience A] [--issuer I]
  [--title T] [--department D] [--phone P] [--email E] [--location L] [--tz ZONE] [--avatar URL]
`;

/** A second stop signal this soon after the first is the same one delivered twice, not a second request. */
const SIGNAL_ECHO_MS = 1000;

/** A mistake in the command line, reported without a stack trace. */
class UsageError extends Error {}

function number(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0) throw new UsageError(`--${flag} must be a non-negative number; got ${JSON.stringify(value)}.`);
  return parsed;
}

async function token(argv: string[]): Promise<void> {
  const profile = ['title', 'department', 'phone', 'email', 'location', 'tz', 'avatar'] as const;
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      sub: { type: 'string' },
      name: { type: 'string' },
      secret: { type: 'string' },
      ttl: { type: 'string' },
      audience: { type: 'string' },
      issuer: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...Object.fromEntries(profile.map((claim) => [claim, { type: 'string' as const }])),
    },
  });
  if (values.help) return void process.stdout.write(HELP);
  const secret = values.secret ?? process.env.PERCH_SECRET;
  if (values.sub === undefined || values.name === undefined) throw new UsageError('token needs --sub ID and --name NAME.');
  if (secret === undefined || secret === '') throw new UsageError('token needs --secret S (or env PERCH_SECRET), the same one the server uses.');
  const claims: Record<string, string> = {};
  for (const claim of profile) {
    const value = (values as Record<string, string | undefined>)[claim];
    if (value !== undefined) claims[claim] = value;
  }
  const ttl = number('ttl', values.ttl);
  const text = await mintToken({
    ...claims,
    secret,
    sub: values.sub,
    name: values.name,
    ...(ttl === undefined ? {} : { ttlSeconds: ttl }),
    ...(values.audience === undefined ? {} : { audience: values.audience }),
    ...(values.issuer === undefined ? {} : { issuer: values.issuer }),
  });
  process.stdout.write(`${text}\n`);
}

function serverOptions(argv: string[]): ServerOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      port: { type: 'string' },
      host: { type: 'string' },
      db: { type: 'string' },
      secret: { type: 'string' },
      audience: { type: 'string' },
      issuer: { type: 'string' },
      origin: { type: 'string', multiple: true },
      demo: { type: 'boolean' },
      static: { type: 'string' },
      'hello-timeout-ms': { type: 'string' },
      'heartbeat-ms': { type: 'string' },
      'rate-per-connection': { type: 'string' },
      'burst-per-connection': { type: 'string' },
      'rate-per-identity': { type: 'string' },
      'burst-per-identity': { type: 'string' },
      'flood-limit': { type: 'string' },
      'max-buffered-bytes': { type: 'string' },
      'max-anonymous-per-address': { type: 'string' },
      'max-connections-per-user': { type: 'string' },
      'visitor-retention-hours': { type: 'string' },
    },
  });
  if (values.help) return undefined;
  const options: ServerOptions = {
    db: values.db ?? './perch.db',
    demo: values.demo ?? false,
    origins: values.origin ?? [],
  };
  const secret = values.secret ?? process.env.PERCH_SECRET;
  if (secret !== undefined && secret !== '') options.secret = secret;
  if (options.secret === undefined && !options.demo) {
    throw new UsageError('No secret: pass --secret S or set PERCH_SECRET (the HS256 secret your site signs tokens with), or try --demo.');
  }
  const set = <K extends keyof ServerOptions>(key: K, value: ServerOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('port', number('port', values.port));
  set('host', values.host);
  set('audience', values.audience);
  set('issuer', values.issuer);
  set('staticDir', values.static);
  set('helloTimeoutMs', number('hello-timeout-ms', values['hello-timeout-ms']));
  set('heartbeatMs', number('heartbeat-ms', values['heartbeat-ms']));
  set('floodLimit', number('flood-limit', values['flood-limit']));
  set('maxBufferedBytes', number('max-buffered-bytes', values['max-buffered-bytes']));
  set('maxAnonymousPerAddress', number('max-anonymous-per-address', values['max-anonymous-per-address']));
  set('maxConnectionsPerUser', number('max-connections-per-user', values['max-connections-per-user']));
  set('visitorRetentionHours', number('visitor-retention-hours', values['visitor-retention-hours']));
  for (const kind of ['connection', 'identity'] as const) {
    const perSecond = number(`rate-per-${kind}`, values[`rate-per-${kind}`]);
    const burst = number(`burst-per-${kind}`, values[`burst-per-${kind}`]);
    if (perSecond === undefined && burst === undefined) continue;
    const rate = perSecond ?? (kind === 'connection' ? 30 : 60);
    set(kind === 'connection' ? 'connectionRate' : 'identityRate', { perSecond: rate, burst: burst ?? 2 * rate });
  }
  return options;
}

async function serve(options: ServerOptions): Promise<void> {
  // Loaded only to serve, so that --help, usage errors and `token` answer at once.
  const { startServer } = await import('./server.js');
  const server = await startServer(options);
  let stoppingSince: number | undefined;
  const stop = (signal: string) => {
    if (stoppingSince !== undefined) {
      // One Ctrl+C often arrives twice: the terminal signals the whole process group, and a parent
      // (npm start, scripts/start.mjs, timeout) forwards it as well. Only a signal that comes a
      // moment later is someone insisting; the echo must not cut the graceful shutdown short.
      if (performance.now() - stoppingSince < SIGNAL_ECHO_MS) return;
      process.stderr.write(`perch-server: ${signal} again, exiting without waiting.\n`);
      process.exit(1);
    }
    stoppingSince = performance.now();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`perch-server: shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  // Handlers first: whoever reads the URL line below may send SIGTERM right away.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.stdout.write(`perch-server listening on ${server.url} (db ${options.db}${options.demo ? ', demo mode' : ''})\n`);
  if (server.devSecret !== undefined) {
    process.stdout.write(`demo: generated dev secret ${server.devSecret} (pass --secret to choose one); tokens from /demo/token?user=alice\n`);
  }
}

/** Runs the command line `argv` (without `node` and the script). */
export async function runCli(argv: string[]): Promise<void> {
  try {
    if (argv[0] === 'token') return await token(argv.slice(1));
    const options = serverOptions(argv);
    if (options === undefined) return void process.stdout.write(HELP);
    await serve(options);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof UsageError || code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      process.stderr.write(`perch-server: ${(error as Error).message}\nRun perch-server --help for the options.\n`);
      process.exitCode = 2;
      return;
    }
    if (code === 'EADDRINUSE') {
      process.stderr.write('perch-server: the port is already in use; pass another --port (or --port 0 for any free one).\n');
    } else {
      process.stderr.write(`perch-server: ${(error as Error).message}\n`);
    }
    process.exitCode = 1;
  }
}
