import { describe, expect, it } from 'vitest';

import { secondsText } from '../../../src/domain/duration-text.ts';
import { distinctLabel } from '../../../src/http/routes/factors/method-label.ts';

describe('the words on method lists and waits (issue 8)', () => {
  it('shows a label only when it says more than the kind name', () => {
    expect(distinctLabel('Authenticator app', 'Authenticator app')).toBeNull();
    expect(distinctLabel('Text messages', 'Text message (SMS)')).toBeNull();
    expect(distinctLabel('Pixel phone', 'Authenticator app')).toBe('Pixel phone');
    expect(distinctLabel('Work phone', 'Text message (SMS)')).toBe('Work phone');
  });

  it('says "1 second", never "1 seconds"', () => {
    expect(secondsText(1)).toBe('1 second');
    expect(secondsText(2)).toBe('2 seconds');
  });
});
