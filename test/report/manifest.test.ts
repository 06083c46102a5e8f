import { describe, expect, it } from 'vitest';
import { MANIFEST_COLUMNS, manifestRow, manifestRowSchema } from '../../src/report/manifest.ts';

describe('the manifest row', () => {
  it('has the columns of its schema, in the schema’s order', () => {
    expect([...MANIFEST_COLUMNS]).toEqual(Object.keys(manifestRowSchema.unwrap().shape));
  });

  it('is what its schema describes', () => {
    const row = manifestRow('~u:userName jdoe', {
      status: 'failed',
      ref: 'userName jdoe',
      kind: 'user',
      u: 'userName jdoe',
      code: 'LMS_USER_NOT_FOUND',
      reason: 'no such user',
    });
    expect(Object.keys(row)).toEqual([...MANIFEST_COLUMNS]);
    expect(manifestRowSchema.parse(row)).toEqual(row);
  });
});
