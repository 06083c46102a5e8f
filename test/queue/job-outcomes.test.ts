import { describe, expect, it } from 'vitest';
import { CertharvestError } from '../../src/errors/index.ts';
import {
  discoverSettlement,
  downloadSettlement,
  failureOf,
  userRefOf,
} from '../../src/queue/job-outcomes.ts';
import { certificateResult, parseResultRecord, settlementJson } from '../../src/queue/result-record.ts';

const onDisk = { path: '/out/1/7-1.pdf', sha256: 'a'.repeat(64), bytes: 10 };

describe('a download job’s return value, read back', () => {
  it('is the result the job returned, with nothing else', () => {
    expect(downloadSettlement({ status: 'stored', ...onDisk, source: 'api', extra: 'x' })).toEqual({
      status: 'stored',
      ...onDisk,
      source: 'api',
    });
    expect(downloadSettlement({ status: 'already-stored', ...onDisk })).toEqual({
      status: 'already-stored',
      ...onDisk,
    });
  });

  it('a value this version cannot read still says the job stored the PDF, where unknown', () => {
    expect(downloadSettlement({ status: 'already-stored' })).toEqual({ status: 'already-stored' });
    for (const odd of [
      null,
      undefined,
      'done',
      42,
      { status: 'failed' },
      { status: 'stored', bytes: 'ten' },
    ]) {
      expect(downloadSettlement(odd)).toEqual({ status: 'stored' });
    }
  });
});

describe('a discover job’s end', () => {
  it('counts what parses of its return value, and none of the rest', () => {
    const rejected = { ref: '7-x (user 1)', code: 'LMS_DATA_INVALID', reason: 'bad id' };
    expect(
      discoverSettlement({ badgesIgnored: 2, rejected: [rejected, { ref: 1 }], rejectedCount: 5, stored: 3 }),
    ).toEqual({
      status: 'done',
      badges: 2,
      rejected: [rejected],
      rejectedCount: 5,
      stored: 3,
    });
    expect(discoverSettlement(null)).toEqual({
      status: 'done',
      badges: 0,
      rejected: [],
      rejectedCount: 0,
      stored: 0,
    });
    expect(discoverSettlement({ badgesIgnored: 'two', rejected: 'none', stored: 'many' })).toEqual({
      status: 'done',
      badges: 0,
      rejected: [],
      rejectedCount: 0,
      stored: 0,
    });
  });

  it('names the user as the batch did, or the job when its data does not say', () => {
    expect(userRefOf({ id: 'j1', data: { by: 'userName', value: 'jdoe' } })).toBe('userName jdoe');
    expect(userRefOf({ id: 'j1', data: { kind: 'all-users' } })).toBe('job j1');
  });

  it('a failure carries our error’s code, else says the job stalled or failed', () => {
    expect(failureOf({ stalledCounter: 0 }, new CertharvestError('PDF_INVALID', 'cut short'))).toEqual({
      code: 'PDF_INVALID',
      reason: 'cut short',
    });
    const lowercase = Object.assign(new Error('x'), { code: 'econnreset' });
    expect(failureOf({ stalledCounter: 0 }, lowercase).code).toBe('JOB_FAILED');
    expect(failureOf({ stalledCounter: 1 }, new Error('lost')).code).toBe('JOB_STALLED');
  });
});

describe('a batch’s record of a certificate', () => {
  it('is written flat, the reason bounded', () => {
    expect(JSON.parse(settlementJson({ status: 'failed', code: 'X', reason: 'r'.repeat(900) }))).toEqual({
      status: 'failed',
      code: 'X',
      reason: 'r'.repeat(500),
    });
  });

  it('gives the ids the batch stored, never the ones its label names', () => {
    const d = JSON.stringify({ userId: 'jdoe_1', orgUnitId: 7, issuedId: 1, title: 'T', issuedDate: null });
    const record = parseResultRecord(
      JSON.stringify({ status: 'stored', ref: '7-1 (user 999)', d, ...onDisk, source: 'api' }),
    );
    expect(record && certificateResult('school.example:7:1', record)).toEqual({
      certKey: 'school.example:7:1',
      userId: 'jdoe_1',
      orgUnitId: 7,
      issuedId: 1,
      status: 'stored',
      ...onDisk,
      source: 'api',
    });
  });

  it('without a description (an older record): the key’s ids, and no user', () => {
    const record = parseResultRecord(JSON.stringify({ status: 'queued', ref: '7-1 (user 999)' }));
    expect(record && certificateResult('school.example:7:1', record)).toEqual({
      certKey: 'school.example:7:1',
      userId: 0,
      orgUnitId: 7,
      issuedId: 1,
      status: 'queued',
    });
  });

  it('is refused when it is not one', () => {
    expect(parseResultRecord('not json')).toBeNull();
    expect(parseResultRecord(JSON.stringify({ status: 'lost', ref: 'x' }))).toBeNull();
  });
});
