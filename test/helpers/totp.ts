import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** RFC 4648 base32 decoding (the otpauth secret), independent of the server's code. */
export function fromBase32(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of text.replace(/[\s=]/g, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(char);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 TOTP (SHA-1, 30 s, 6 digits) computed with node:crypto alone: an independent oracle. */
export function totpAt(secret: Buffer, epochSeconds: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(epochSeconds / 30)));
  const mac = createHmac('sha1', secret).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(binary).padStart(6, '0');
}

export function secretFromUri(uri: string): Buffer {
  return fromBase32(new URL(uri).searchParams.get('secret')!);
}

function readOutboxLines(dataDir: string): { channel: string }[] {
  try {
    return readFileSync(path.join(dataDir, 'outbox.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as never);
  } catch {
    return [];
  }
}

/**
 * The codes the outbox delivery driver wrote (SMS and voice), newest last. Emails share the file
 * but are sent in the background, so they are left out: the last line is always the last code.
 */
export function readOutbox(dataDir: string): { channel: string; to: string; code: string; text: string; at: string }[] {
  return readOutboxLines(dataDir).filter((line) => line.channel !== 'email') as never;
}

/** The emails the outbox mail driver wrote, oldest first. */
export function readOutboxEmails(dataDir: string): { to: string; subject: string; text: string; at: string }[] {
  return readOutboxLines(dataDir).filter((line) => line.channel === 'email') as never;
}
