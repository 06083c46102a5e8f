/** The likely fix `submit` suggests when every reference was refused. */
import { describe, expect, it } from 'vitest';
import { refusedRefsHint } from '../../src/cli/refused-refs.ts';

describe('refusedRefsHint', () => {
  it('reads the refused references: CSV rows, names with spaces, links, long text', () => {
    expect(refusedRefsHint(['1001;Doe;Jane', '1002;Roe;Rick'], 'userId')).toMatch(
      /whole CSV rows: give the file a header row naming the column/,
    );
    expect(refusedRefsHint(['Jane Doe', 'Rick Roe'], 'userId')).toMatch(
      /they hold spaces: .*--by userName or --by orgDefinedId if the file holds those/,
    );
    expect(refusedRefsHint(['https://lms.example/u/1'], 'userName')).toMatch(
      /slashes: paths or web addresses/,
    );
    expect(refusedRefsHint(['x'.repeat(300)], 'userId')).toMatch(/much longer than an id/);
    expect(refusedRefsHint([''], 'orgDefinedId')).toMatch(
      /holds orgDefinedId values \(--by userId or --by userName for other kinds/,
    );
  });
});
