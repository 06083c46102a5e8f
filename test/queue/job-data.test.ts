/** The job shapes with ids as the LMS gives them: whole numbers (Brightspace) or strings (Learn). */
import { describe, expect, it } from 'vitest';
import { certificateSchema } from '../../src/certificate/index.ts';
import { batchJsonSchema, batchSubmissionSchema, downloadJobSchema } from '../../src/queue/index.ts';
import { filtersFrom } from '../../src/cli/filter-flags.ts';

const learn = {
  userId: '_45_1',
  orgUnitId: '7f3c2a10-9b1e-4c5d-8e7f-0a1b2c3d4e5f',
  issuedId: '_123_4',
  awardId: '_9_1',
  title: 'Fire Safety',
  issuedDate: null,
};
const brightspace = { ...learn, userId: 101, orgUnitId: 6606, issuedId: 42, awardId: 7 };

describe('certificateSchema', () => {
  it('keeps string ids as strings and numbers as numbers', () => {
    expect(certificateSchema.parse(learn)).toEqual(learn);
    expect(certificateSchema.parse(brightspace)).toEqual(brightspace);
  });

  it.each([
    ['an empty string', ''],
    ['a control character', '_1_1\n'],
    ['a string over 200 characters', 'x'.repeat(201)],
    ['zero', 0],
    ['a fraction', 1.5],
    ['an unsafe integer', 2 ** 60],
    ['null', null],
  ])('refuses %s as an id', (_what, bad) => {
    expect(certificateSchema.safeParse({ ...learn, issuedId: bad }).success).toBe(false);
  });
});

describe('downloadJobSchema', () => {
  it('carries a Learn certificate with string ids', () => {
    const data = {
      ...learn,
      batchId: 'b1',
      certKey: 'school.example:7f3c2a10~2D9b1e~2D4c5d~2D8e7f~2D0a1b2c3d4e5f:_123_4',
    };
    expect(downloadJobSchema.parse(data)).toEqual(data);
  });
});

describe('batch filters', () => {
  it('accept org unit ids of either kind', () => {
    const batch = batchSubmissionSchema.parse({ users: [1], filters: { orgUnitIds: [6606, '_7_1'] } });
    expect(batch.filters?.orgUnitIds).toEqual([6606, '_7_1']);
    expect(batchSubmissionSchema.safeParse({ users: [1], filters: { orgUnitIds: [''] } }).success).toBe(
      false,
    );
  });

  it('are described in the JSON Schema as a number or a string', () => {
    const schema = batchJsonSchema() as {
      properties: {
        filters: { properties: { orgUnitIds: { items: { anyOf: Record<string, unknown>[] } } } };
      };
    };
    const { anyOf } = schema.properties.filters.properties.orgUnitIds.items;
    expect(anyOf).toEqual([
      expect.objectContaining({ type: 'integer', exclusiveMinimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
      expect.objectContaining({ type: 'string', minLength: 1, maxLength: 200, pattern: expect.any(String) }),
    ]);
    // The pattern is ECMA-262 with the `u` flag, as JSON Schema's `pattern` is read.
    const pattern = new RegExp(anyOf[1]!.pattern as string, 'u');
    expect(pattern.test('_7_1')).toBe(true);
    expect(pattern.test('a\u0001')).toBe(false);
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });

  it('--org-unit parses whole numbers as numbers and anything else as string ids', () => {
    expect(filtersFrom({ orgUnit: '6606, 6610' })).toEqual({ filters: { orgUnitIds: [6606, 6610] } });
    expect(filtersFrom({ orgUnit: '_7_1,_9_1' })).toEqual({ filters: { orgUnitIds: ['_7_1', '_9_1'] } });
    expect(filtersFrom({ orgUnit: '007' })).toEqual({ filters: { orgUnitIds: ['007'] } });
    expect(() => filtersFrom({ orgUnit: '6606,,6610' })).toThrow(/--org-unit/);
    expect(() => filtersFrom({ orgUnit: 'x'.repeat(201) })).toThrow(/--org-unit/);
  });
});
