import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { domainErrors } from '../../src/domain/error-codes.ts';
import { AppError, assertThat, errorCatalogue } from '../../src/domain/errors.ts';
import { factorErrors } from '../../src/factors/error-codes.ts';
import { httpErrors } from '../../src/http/error-codes.ts';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );

describe('error codes', () => {
  it('are each defined once, in one module catalogue, so a code always answers the same status', () => {
    const codes = [domainErrors, httpErrors, factorErrors].flatMap((catalogue) => Object.keys(catalogue.specs));
    expect(codes.filter((code, i) => codes.indexOf(code) !== i)).toEqual([]);
  });

  it('are raised only through a catalogue: no AppError is built by hand outside domain/errors.ts', () => {
    const builders = sources(SRC)
      .filter((file) => !file.endsWith(path.join('domain', 'errors.ts')))
      .filter((file) => /new AppError\(/.test(readFileSync(file, 'utf8')))
      .map((file) => path.relative(SRC, file));
    expect(builders).toEqual([]);
  });

  it('keep the status of the code and let the words name what they must', () => {
    const catalogue = errorCatalogue({ gone: { status: 410, message: 'It is gone.' } });
    const plain = catalogue.raise('gone');
    expect([plain.code, plain.status, plain.message, plain.expose]).toEqual(['gone', 410, 'It is gone.', true]);
    const named = catalogue.raise('gone', { message: 'Acme is gone.', fields: { name: 'Taken.' } });
    expect([named.status, named.message, named.fields]).toEqual([410, 'Acme is gone.', { name: 'Taken.' }]);
  });

  it('assertThat narrows or throws the given error', () => {
    const value: string | undefined = undefined;
    expect(() => assertThat(value, () => httpErrors.raise('account_gone'))).toThrow(AppError);
    expect(() => assertThat('here', httpErrors.raise('account_gone'))).not.toThrow();
  });
});
