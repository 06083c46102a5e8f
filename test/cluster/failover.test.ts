/**
 * A master of the Redis Cluster dies mid-batch (run by `npm run test:cluster` only, after the
 * other cluster suites: it stops a node they may be using). The master that holds the batch's
 * prefix slot is SIGKILLed while downloads run; its replica takes over (`cluster-node-timeout
 * 2000`: a few seconds), the worker's commands wait through it, and the batch completes with
 * exact counts and every certificate whole. The node is started again at the end (it rejoins as
 * a replica).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleepUntil } from '../helpers/index.ts';
import {
  expectAllStoredWhole,
  startPipeline,
  studentsWithCertificates,
  type Pipeline,
} from '../pipeline/harness.ts';
import { CLUSTER_PORTS, killNode, makeWhole, ownerOf, roleOf } from './nodes.ts';

let p: Pipeline | undefined;
beforeAll(() => makeWhole());
afterAll(async () => {
  await p?.close();
  await makeWhole();
}, 120_000);

describe('a Redis Cluster failover mid-batch', () => {
  it("the master of the prefix's slot is killed: its replica takes over, the batch completes exactly, every certificate whole", async () => {
    // Slow answers (250 ms) so that downloads go on well past the take-over (a few seconds).
    p = await startPipeline({ sandbox: { userCount: 80 }, knobs: { latencyMs: 250 } });
    const users = studentsWithCertificates(p.sandbox, 60);
    const certs = users.flatMap((u) => p!.sandbox.institution.certificatesOf(u)).length;
    const { slot, master, replica } = await ownerOf(CLUSTER_PORTS[0], p.config.queuePrefix);
    if (!replica) throw new Error(`the master of slot ${slot} (${master.port}) has no replica to take over`);
    // Ask a node that survives.
    const survivor = CLUSTER_PORTS.find((port) => port !== master.port)!;

    const started = Date.now();
    const { batchId } = await p.submit({ users });
    await sleepUntil(async () => ((await p!.tracker.status(batchId))?.certsStored ?? 0) >= 5, 30_000, 20);
    const before = (await p.tracker.status(batchId))!;
    expect(before.done).toBe(false);

    const killedAt = Date.now();
    await killNode(master.port);
    await sleepUntil(async () => (await roleOf(replica.port)) === 'master', 30_000, 100);
    const promotedMs = Date.now() - killedAt;
    // The others learn it by gossip, a moment later.
    await sleepUntil(
      async () =>
        (await ownerOf(survivor, p!.config.queuePrefix).catch(() => undefined))?.master.port === replica.port,
      10_000,
      100,
    );

    const status = await p.waitDone(batchId, 120_000);
    const doneMs = Date.now() - killedAt;
    expect(status).toMatchObject({
      state: 'done',
      usersTotal: users.length,
      usersDone: users.length,
      usersFailed: 0,
      certsFound: certs,
      certsStored: certs,
      certsFailed: 0,
    });
    expect(await expectAllStoredWhole(p, users)).toBe(certs);
    console.warn(
      `failover: slot ${slot}, master ${master.port} killed after ${killedAt - started} ms ` +
        `(${before.certsStored}/${certs} certificates stored); replica ${replica.port} master after ` +
        `${promotedMs} ms; batch done ${doneMs} ms after the kill`,
    );
  }, 240_000);
});
