/**
 * Child process of the benchmark: one sandbox LMS, its batch of students and the expected
 * certificate hashes. Started by `sandbox-process.ts`; talks over the IPC channel only.
 */
import { createHash } from 'node:crypto';
import { createInstitution, startSandbox, type Sandbox } from '@certharvest/sandbox';
import type {
  ChildMessage,
  ExpectedCertificate,
  ParentMessage,
  SandboxChildOptions,
} from './sandbox-process.ts';

const send = (msg: ChildMessage) => process.send?.(msg);

/**
 * Students needed for `target` certificates: the smallest count (near enough: within a few
 * students) whose whole institution holds at least `target`. The batch is then every student, so
 * a whole-institution batch (`allUsers`) finds the same certificates as the list of students.
 * (A smaller institution is not a prefix of a larger one: the seed's draws interleave.)
 */
function userCountFor(target: number): number {
  const count = (n: number) => createInstitution({ userCount: n }).certificates().length;
  let n = Math.max(10, Math.ceil(target / 2));
  let got = count(n);
  // About two certificates per student: aim from the measured rate, then walk up.
  n = Math.max(1, Math.floor((n * target) / Math.max(1, got)) - 2);
  got = count(n);
  while (got < target) {
    if (n >= 100_000) throw new RangeError(`the sandbox cannot hold ${target} certificates`);
    n = Math.min(100_000, n + Math.max(1, Math.ceil((target - got) / 2.5)));
    got = count(n);
  }
  return n;
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? '{}') as SandboxChildOptions;
  const perStudent = options.certificatesPerStudent;
  const userCount =
    perStudent === undefined
      ? userCountFor(options.certificates)
      : Math.ceil(options.certificates / perStudent);
  const sandbox: Sandbox = await startSandbox({
    userCount,
    ...(perStudent === undefined ? {} : { certificatesPerStudent: perStudent }),
    knobs: { ...options.knobs, latencyMs: options.latencyMs },
  });
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await sandbox.close().catch(() => {});
    process.exit(0);
  };
  process.on('disconnect', () => void close());
  process.on('SIGTERM', () => void close());
  process.on('SIGINT', () => {}); // the parent decides when we stop (Ctrl-C reaches the whole group)
  process.on('message', (raw) => {
    const msg = raw as ParentMessage;
    if (msg.type === 'stats') send({ type: 'stats', id: msg.id, stats: sandbox.stats });
    else if (msg.type === 'close') void close();
  });

  const { institution } = sandbox;
  const students: number[] = [];
  const certificates: ExpectedCertificate[] = [];
  for (const student of institution.students) {
    students.push(student.UserId);
    for (const award of institution.certificatesOf(student.UserId)) {
      // Also renders (and caches) every PDF now, so the timed runs do not pay for pdf-lib.
      const pdf = await sandbox.certificatePdf(award.IssuedId);
      certificates.push({
        userId: award.UserId,
        orgUnitId: award.OrgUnitId,
        issuedId: award.IssuedId,
        sha256: createHash('sha256').update(pdf).digest('hex'),
        bytes: pdf.length,
      });
    }
  }
  send({
    type: 'ready',
    url: sandbox.url,
    env: sandbox.env,
    userCount,
    students,
    certificates,
    pid: process.pid,
  });
}

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
