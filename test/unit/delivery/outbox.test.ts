import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { createOutboxSender } from '../../../src/delivery/outbox.ts';
import { DeliveryError } from '../../../src/ports/message-sender.ts';
import { createTestClock, type TestClock } from '../../helpers/clock.ts';

const NOW = Date.UTC(2031, 0, 1, 9, 30);
let dir: string;
let clock: TestClock;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'twofold-outbox-'));
  clock = createTestClock(NOW);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const logger = pino({ level: 'silent' });

describe('outbox delivery (development)', () => {
  it('appends one JSON line per message with channel, to, code, text and at', async () => {
    const outbox = createOutboxSender({ dataDir: dir, clock, logger });
    await outbox.send({
      channel: 'sms',
      to: '+15555550123',
      code: '405123',
      text: '405123 is your Twofold security code.',
    });
    clock.advance(1000);
    await outbox.send({
      channel: 'voice',
      to: '+15555550124',
      code: '999000',
      text: 'Your Twofold security code is: 9, 9, 9, 0, 0, 0.',
    });
    const text = await readFile(path.join(dir, 'outbox.jsonl'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      {
        channel: 'sms',
        to: '+15555550123',
        code: '405123',
        text: '405123 is your Twofold security code.',
        at: new Date(NOW).toISOString(),
      },
      {
        channel: 'voice',
        to: '+15555550124',
        code: '999000',
        text: 'Your Twofold security code is: 9, 9, 9, 0, 0, 0.',
        at: new Date(NOW + 1000).toISOString(),
      },
    ]);
    expect(Object.keys(lines[0]!)).toEqual(['channel', 'to', 'code', 'text', 'at']);
  });

  it('creates the file readable by its owner only (0600): it holds live codes', async () => {
    await createOutboxSender({ dataDir: dir, clock, logger }).send({
      channel: 'sms',
      to: '+15555550123',
      code: '405123',
      text: 'x',
    });
    expect((await stat(path.join(dir, 'outbox.jsonl'))).mode & 0o777).toBe(0o600);
  });

  it('a text with newlines still takes one line', async () => {
    await createOutboxSender({ dataDir: dir, clock, logger }).send({
      channel: 'sms',
      to: '+15555550123',
      code: '405123',
      text: 'line one\nline two',
    });
    const text = await readFile(path.join(dir, 'outbox.jsonl'), 'utf8');
    expect(text.trimEnd().split('\n')).toHaveLength(1);
  });

  it('an unwritable outbox is a DeliveryError', async () => {
    const outbox = createOutboxSender({ dataDir: path.join(dir, 'missing', 'dir'), clock, logger });
    await expect(outbox.send({ channel: 'sms', to: '+15555550123', code: '405123', text: 'x' })).rejects.toBeInstanceOf(
      DeliveryError,
    );
  });
});
