import { describe, expect, it } from 'vitest';
import { OutputUnavailableError, toOutputError, UnsafeIdError } from '../../src/storage/index.ts';

const sysError = (code: string, path?: string) =>
  Object.assign(new Error(`${code}: something`), {
    code,
    errno: -1,
    syscall: 'write',
    ...(path && { path }),
  });

describe('toOutputError', () => {
  it.each([
    ['ENOSPC', 'OUTPUT_FULL'],
    ['EDQUOT', 'OUTPUT_FULL'],
    ['EACCES', 'OUTPUT_UNWRITABLE'],
    ['EPERM', 'OUTPUT_UNWRITABLE'],
    ['EROFS', 'OUTPUT_UNWRITABLE'],
    ['ENOTDIR', 'OUTPUT_UNWRITABLE'],
    ['EISDIR', 'OUTPUT_UNWRITABLE'],
    ['ENOENT', 'OUTPUT_UNWRITABLE'],
  ])('maps %s to %s', (errno, code) => {
    const cause = sysError(errno);
    const error = toOutputError(cause, '/out', '/out/101/1-2.pdf');
    expect(error).toBeInstanceOf(OutputUnavailableError);
    expect(error).toMatchObject({
      code,
      errno,
      retryable: false,
      outputDir: '/out',
      path: '/out/101/1-2.pdf',
      cause,
    });
  });

  it('names OUTPUT_DIR, the failing path and the fix', () => {
    const full = toOutputError(
      sysError('ENOSPC', '/out/.partial/h-1-ab.tmp'),
      '/out',
      '/out/101/1-2.pdf',
    ) as Error;
    expect(full.message).toMatch(/OUTPUT_DIR \(\/out\) is full/);
    expect(full.message).toContain('/out/.partial/h-1-ab.tmp');
    expect(full.message).toMatch(/free space.*certharvest resume/i);

    const denied = toOutputError(sysError('EACCES'), '/out', '/out/101/1-2.pdf') as Error;
    expect(denied.message).toContain('/out/101/1-2.pdf');
    expect(denied.message).toMatch(/permissions.*certharvest resume/i);
  });

  it('passes other errors through unchanged', () => {
    for (const err of [
      sysError('EIO'),
      sysError('EMFILE'),
      new Error('boom'),
      new UnsafeIdError('userId', 'x'),
      'text',
    ]) {
      expect(toOutputError(err, '/out', '/out/x')).toBe(err);
    }
  });
});
