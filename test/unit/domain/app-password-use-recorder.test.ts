import { describe, expect, it } from 'vitest';

import { createUseRecorder } from '../../../src/domain/legacy-sign-in.ts';
import type { AppPasswordUse } from '../../../src/ports/app-password-store.ts';
import { StoreUnavailableError } from '../../../src/ports/store-unavailable.ts';

const T0 = Date.UTC(2031, 0, 1);
const IP = '203.0.113.7';

/** App password uses are written in batches off the grant's path; a failing write loses nothing it can keep. */
describe('the app password use recorder', () => {
  it('a store error during a flush is reported to onError, not thrown', async () => {
    const failure = new Error('the database is down');
    const failing = { recordAppPasswordUses: () => Promise.reject(failure) };
    const reported: unknown[] = [];
    const recorder = createUseRecorder({ store: failing, onError: (error) => void reported.push(error) });
    recorder.add({ id: 'some-id', at: T0, ip: IP, protocol: 'imap' });
    await expect(recorder.flush()).resolves.toBeUndefined();
    expect(reported).toEqual([failure]);
  });

  it('uses that could not be written while the database was away are written at the next flush', async () => {
    const outage = new StoreUnavailableError('database', new Error('connection refused'));
    let down = true;
    const written: AppPasswordUse[][] = [];
    const flaky = {
      recordAppPasswordUses: async (batch: AppPasswordUse[]) => {
        if (down) throw outage;
        written.push(batch);
      },
    };
    const recorder = createUseRecorder({ store: flaky, onError: () => {} });
    recorder.add({ id: 'laptop', at: T0, ip: IP, protocol: 'imap' });
    recorder.add({ id: 'phone', at: T0, ip: IP, protocol: 'dav' });
    await recorder.flush();
    recorder.add({ id: 'laptop', at: T0 + 1000, ip: IP, protocol: 'smtp' });
    down = false;
    await recorder.flush();
    expect(written).toHaveLength(1);
    expect(Object.fromEntries(written[0]!.map((use) => [use.id, use.protocol]))).toEqual({
      laptop: 'smtp',
      phone: 'dav',
    });
  });
});
