/**
 * A throwaway Dovecot 2.3 (IMAP + POP3) that checks passwords against Twofold with the OAuth2
 * password grant (DESIGN §4, app passwords): Dovecot's oauth2 passdb posts the typed password to
 * the token endpoint, then introspects the access token it got back.
 *
 * Needs the Debian packages: dovecot-imapd dovecot-pop3d (they pull in dovecot-core, Dovecot 2.3).
 * Installs nothing itself; startDovecot() throws, naming the packages, when /usr/sbin/dovecot is
 * missing (tests skip with that reason outside CI).
 *
 * What Dovecot 2.3.19 sends (src/lib-oauth2/oauth2-request.c):
 *  - grant: POST grant_url, form body grant_type=password&username=&password=&client_id=&client_secret=
 *    (client_secret_post; `scope` only when configured). 2xx with access_token → introspection;
 *    400 {"error":"invalid_grant"} → wrong password (IMAP "NO [AUTHENTICATIONFAILED]");
 *    any other error code, a 5xx or a timeout → temporary failure ("NO [UNAVAILABLE]").
 *  - introspection: POST introspection_url, form body token=&client_id=&client_secret=. The reply must
 *    hold `username` (compared with the login name, both lowercased) and `active` = true.
 */
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from './server.ts';
import { readIfExists, stopChild, waitForPort } from './processes.ts';

export const DOVECOT_BINARY = '/usr/sbin/dovecot';
export const DOVECOT_PACKAGES = 'dovecot-imapd dovecot-pop3d';

export interface DovecotOptions {
  tokenUrl: string;
  introspectionUrl: string;
  clientId: string;
  clientSecret: string;
  /** Sent with the grant and then required in the token's `scope` (Dovecot's oauth2 `scope`). */
  scope?: string;
}

export interface RunningDovecot {
  imapPort: number;
  pop3Port: number;
  stop(): Promise<void>;
  /** Dovecot's log file plus anything the master printed before its log was set up. */
  logs(): string;
}

/** Why Dovecot cannot run here, or null when it can. */
export function dovecotMissing(): string | null {
  return existsSync(DOVECOT_BINARY)
    ? null
    : `${DOVECOT_BINARY} not found: install the Debian packages ${DOVECOT_PACKAGES}`;
}

export async function startDovecot(options: DovecotOptions): Promise<RunningDovecot> {
  const missing = dovecotMissing();
  if (missing) throw new Error(missing);
  let lastError: unknown;
  // A free port can be taken between our probe and Dovecot's bind; try again with fresh ones.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      lastError = error;
      if (!String(error).includes('Address already in use')) throw error;
    }
  }
  throw lastError;
}

async function startOnce(options: DovecotOptions): Promise<RunningDovecot> {
  const dir = mkdtempSync(path.join(tmpdir(), 'twofold-dovecot-'));
  // Login processes (dovenull), auth (dovecot) and mail processes (mailUser) must reach their paths.
  chmodSync(dir, 0o755);
  const imapPort = await freePort();
  const pop3Port = await freePort();
  const { uid, gid } = mailAccount();
  for (const sub of ['run', 'state', 'home']) mkdirSync(path.join(dir, sub));
  chownSync(path.join(dir, 'home'), uid, gid);

  const oauth2Conf = path.join(dir, 'dovecot-oauth2.conf.ext');
  writeFileSync(oauth2Conf, oauth2Config(options), { mode: 0o600 });
  const conf = path.join(dir, 'dovecot.conf');
  const logFile = path.join(dir, 'dovecot.log');
  writeFileSync(conf, dovecotConfig(dir, oauth2Conf, logFile, [imapPort, pop3Port]));

  let output = '';
  const child = spawn(DOVECOT_BINARY, ['-F', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk: Buffer) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  let savedLogs: string | null = null;
  const logs = () => savedLogs ?? `${output}${readIfExists(logFile)}`;
  const cleanup = async () => {
    await stopChild(child, exited);
    savedLogs = logs();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitForPort(imapPort, exited, 15_000);
    await waitForPort(pop3Port, exited, 5_000);
  } catch (error) {
    await cleanup();
    throw new Error(`Dovecot did not start: ${(error as Error).message}\n--- dovecot logs ---\n${savedLogs}`);
  }
  return { imapPort, pop3Port, stop: cleanup, logs };
}

function oauth2Config(options: DovecotOptions): string {
  const lines: [string, string][] = [
    ['grant_url', options.tokenUrl],
    ['use_grant_password', 'yes'],
    ['client_id', options.clientId],
    ['client_secret', options.clientSecret],
    ['introspection_url', options.introspectionUrl],
    ['introspection_mode', 'post'],
    ['force_introspection', 'yes'],
    ['username_attribute', 'username'],
    ['username_format', '%Lu'],
    ['active_attribute', 'active'],
    ['active_value', 'true'],
    ['timeout_msecs', '5000'],
    ['debug', 'yes'],
  ];
  if (options.scope) lines.push(['scope', options.scope]);
  return lines.map(([key, value]) => `${key} = ${quote(value)}\n`).join('');
}

function dovecotConfig(dir: string, oauth2Conf: string, logFile: string, ports: [number, number]): string {
  const [imapPort, pop3Port] = ports;
  const { uid, gid } = mailAccount();
  const rootless = process.getuid?.() !== 0;
  const me = quote(userInfo().username);
  return `# Written by test/helpers/dovecot.ts for one test run.
instance_name = ${quote(`twofold-${path.basename(dir)}`)}
base_dir = ${quote(path.join(dir, 'run'))}
state_dir = ${quote(path.join(dir, 'state'))}
log_path = ${quote(logFile)}
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Lu
auth_failure_delay = 0
auth_cache_size = 0
auth_verbose = yes
auth_debug = yes
mail_location = maildir:~/Maildir
mail_uid = ${uid}
mail_gid = ${gid}
first_valid_uid = ${uid}
first_valid_gid = ${gid}
shutdown_clients = yes
${rootless ? `default_login_user = ${me}\ndefault_internal_user = ${me}\ndefault_internal_group = ${quote(groupName(gid))}\n` : ''}
passdb {
  driver = oauth2
  mechanisms = plain login
  args = ${quote(oauth2Conf)}
}
userdb {
  driver = static
  args = uid=${uid} gid=${gid} home=${path.join(dir, 'home')}/%u
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${imapPort}
  }
  inet_listener imaps {
    port = 0
  }${rootless ? '\n  chroot =' : ''}
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${pop3Port}
  }
  inet_listener pop3s {
    port = 0
  }${rootless ? '\n  chroot =' : ''}
}
# Failed logins from one IP make anvil delay that IP's next logins (up to 15 s); every test
# connects from 127.0.0.1, so switch the penalty off: auth cannot open this socket.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }${rootless ? '\n  chroot =' : ''}
}
${rootless ? 'service auth-worker {\n  user = $default_internal_user\n}\n' : ''}`;
}

/** Dovecot's "quoted" value: backslash escapes, no line breaks. */
function quote(value: string): string {
  if (/[\r\n\0]/.test(value)) throw new Error(`Dovecot setting values cannot hold line breaks: ${value}`);
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Mail processes run as the `mail` system user when we are root (not as root), else as ourselves. */
function mailAccount(): { uid: number; gid: number } {
  if (process.getuid?.() !== 0) return { uid: process.getuid!(), gid: process.getgid!() };
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n');
  for (const name of ['mail', 'nobody']) {
    const fields = passwd.find((line) => line.startsWith(`${name}:`))?.split(':');
    if (fields) return { uid: Number(fields[2]), gid: Number(fields[3]) };
  }
  throw new Error('no `mail` or `nobody` user in /etc/passwd for Dovecot to run mail processes as');
}

function groupName(gid: number): string {
  const entry = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .find((line) => line.split(':')[2] === String(gid));
  if (!entry) throw new Error(`gid ${gid} has no name in /etc/group, which Dovecot needs`);
  return entry.split(':')[0]!;
}

/**
 * A line-oriented conversation with a mail server. `talk` gets the greeting already consumed and
 * returns the verdict; a server that hangs up mid-way yields "closed: <last line>".
 */
function converse(
  port: number,
  timeoutMs: number,
  talk: (io: { read(): Promise<string>; write(text: string): void }) => Promise<string>,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = createConnection({ host: '127.0.0.1', port });
    const lines: string[] = [];
    let buffer = '';
    let waiting: ((line: string | null) => void) | null = null;
    let closed = false;
    let last = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no verdict from 127.0.0.1:${port} within ${timeoutMs} ms (last line: ${last})`));
    }, timeoutMs);
    const deliver = () => {
      if (!waiting) return;
      const next = lines.shift();
      if (next !== undefined || closed) {
        const resume = waiting;
        waiting = null;
        resume(next ?? null);
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        lines.push(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
      deliver();
    });
    socket.on('close', () => {
      closed = true;
      deliver();
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    const io = {
      read: () =>
        new Promise<string>((res, rej) => {
          waiting = (line) => (line === null ? rej(new HungUp(last)) : res((last = line)));
          deliver();
        }),
      write: (text: string) => void socket.write(text),
    };
    io.read()
      .then(() => talk(io))
      .then(
        (verdict) => resolve(verdict),
        (error) => (error instanceof HungUp ? resolve(`closed: ${error.message}`) : reject(error)),
      )
      .finally(() => {
        clearTimeout(timer);
        socket.destroy();
      });
  });
}

class HungUp extends Error {}

/** "OK", "NO", or the server's own words for anything else. */
export type Verdict = 'OK' | 'NO' | (string & {});

/** IMAP astring for LOGIN: a quoted string, or a synchronising literal for 8-bit or CR/LF text. */
function imapArgument(value: string): { inline: string } | { literal: Buffer } {
  if (/^[\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(value)) return { inline: `"${value.replace(/[\\"]/g, '\\$&')}"` };
  return { literal: Buffer.from(value, 'utf8') };
}

/**
 * `a1 LOGIN user password` against Dovecot. "OK" when it logs in, "NO" when it refuses the
 * credentials; any other answer comes back whole (e.g. "NO [UNAVAILABLE] Temporary authentication
 * failure. ..." when the grant endpoint errs other than with invalid_grant).
 */
export function imapLogin(port: number, user: string, password: string, timeoutMs = 15_000): Promise<Verdict> {
  return converse(port, timeoutMs, async (io) => {
    const parts = [imapArgument(user), imapArgument(password)];
    let line = 'a1 LOGIN';
    for (const part of parts) {
      if ('inline' in part) {
        line += ` ${part.inline}`;
        continue;
      }
      io.write(`${line} {${part.literal.length}}\r\n`);
      const reply = await io.read();
      if (!reply.startsWith('+')) return reply.replace(/^a1 /, '');
      io.write(part.literal.toString('utf8'));
      line = '';
    }
    io.write(`${line}\r\n`);
    let reply: string;
    do reply = await io.read();
    while (!reply.startsWith('a1 ') && !reply.startsWith('* BYE'));
    const verdict = reply.replace(/^a1 /, '');
    if (verdict.startsWith('OK')) {
      io.write('a2 LOGOUT\r\n');
      await io.read().catch(() => '');
      return 'OK';
    }
    return /^NO \[(AUTHENTICATIONFAILED|AUTHORIZATIONFAILED)\]/.test(verdict) ? 'NO' : verdict;
  });
}

/**
 * POP3 USER/PASS against Dovecot: "OK" (+OK), "NO" (-ERR [AUTH] ...), else the server's line
 * (e.g. "-ERR [SYS/TEMP] Temporary authentication failure. ...").
 */
export function pop3Login(port: number, user: string, password: string, timeoutMs = 15_000): Promise<Verdict> {
  if (/[\r\n]/.test(user + password)) return Promise.reject(new Error('POP3 USER/PASS cannot carry line breaks'));
  return converse(port, timeoutMs, async (io) => {
    io.write(`USER ${user}\r\n`);
    const userReply = await io.read();
    if (!userReply.startsWith('+OK')) return userReply;
    io.write(`PASS ${password}\r\n`);
    const verdict = await io.read();
    if (verdict.startsWith('+OK')) {
      io.write('QUIT\r\n');
      await io.read().catch(() => '');
      return 'OK';
    }
    return verdict.startsWith('-ERR [AUTH]') ? 'NO' : verdict;
  });
}
