/**
 * A worker killed in the middle of uploading a certificate: a child process stores a big PDF
 * (streamed, past the in-memory limit) through S3CertificateStore, holds its body once half of it
 * has gone out, and is SIGKILLed right then.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

/** Certificate `6606-9` of user 101, `size` bytes, under `s3://<bucket>/harvest`, host school.example. */
const CHILD = (storeModule: string, helperModule: string) => `
import { createHash, randomBytes } from 'node:crypto';
import { Transform } from 'node:stream';
import { S3CertificateStore } from ${JSON.stringify(storeModule)};
import { motoClient } from ${JSON.stringify(helperModule)};

const [endpoint, bucket, spoolDir, size] = process.argv.slice(1);
const pdf = Buffer.concat([Buffer.from('%PDF-1.7\\n'), randomBytes(Number(size) - 16), Buffer.from('\\n%%EOF\\n')]);
process.stdout.write('sha256 ' + createHash('sha256').update(pdf).digest('hex') + '\\n');
const client = motoClient(endpoint);
client.middlewareStack.add((next) => async (args) => {
  const request = args.request;
  if (request.method === 'PUT' && request.path.endsWith('.pdf') && typeof request.body?.pipe === 'function') {
    let sent = 0;
    request.body = request.body.pipe(new Transform({
      transform(chunk, _encoding, done) {
        const before = sent;
        sent += chunk.length;
        if (before < pdf.length / 2 && sent >= pdf.length / 2) {
          process.stdout.write('half\\n');
          setTimeout(() => done(null, chunk), 60_000);
        } else done(null, chunk);
      },
    }));
  }
  return next(args);
}, { step: 'finalizeRequest' });
const store = new S3CertificateStore({ url: 's3://' + bucket + '/harvest', lmsHost: 'school.example', client, spoolDir });
const cert = { userId: 101, orgUnitId: 6606, issuedId: 9, awardId: 7, title: 'Big', issuedDate: null };
await store.save(cert, pdf, 'api', { knownAbsent: true });
process.stdout.write('done\\n');
`;

export interface KilledUpload {
  signal: NodeJS.Signals | null;
  /** What the child printed: `sha256 <hex>`, `half`, never `done`. */
  printed: string;
  /** The PDF's sha256, as the child printed it. */
  sha256: string;
  bytes: number;
}

export async function killMidUpload(options: {
  endpoint: string;
  bucket: string;
  spoolDir: string;
  bytes?: number;
}): Promise<KilledUpload> {
  const bytes = options.bytes ?? 24 * 1024 * 1024;
  const script = CHILD(
    path.resolve('src/storage/s3-certificate-store.ts'),
    path.resolve('test/helpers/moto-server.ts'),
  );
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
      options.endpoint,
      options.bucket,
      options.spoolDir,
      String(bytes),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    },
  );
  let printed = '';
  let errors = '';
  child.stderr.on('data', (d: Buffer) => (errors += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      printed += d.toString();
      if (printed.includes('half\n')) resolve();
    });
    child.once('exit', () =>
      reject(new Error(`the child ended before half its upload: ${printed}${errors}`)),
    );
  });
  child.kill('SIGKILL');
  const signal = await exited;
  const sha256 = /sha256 ([0-9a-f]{64})/.exec(printed)?.[1] ?? '';
  return { signal, printed, sha256, bytes };
}
