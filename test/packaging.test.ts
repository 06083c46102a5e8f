/**
 * No Docker engine runs here, so the image and the compose file are kept in step with what is
 * tested — the setup script, the CLI, the configuration schema — by reading them.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_CHROMIUM_PATH } from '../src/browser/chromium.ts';
import { buildProgram } from '../src/cli/main.ts';
import { envSchema } from '../src/config/schema.ts';
import { RECOMMENDED_THREADPOOL_SIZE } from '../src/worker/threadpool.ts';

const read = (file: string) => readFile(file, 'utf8');
const configVariables = new Set(Object.keys(envSchema.shape));
const commands = new Set(buildProgram().commands.map((c) => c.name()));

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  deploy?: { replicas?: number };
  healthcheck?: { test: string[] };
  volumes?: string[];
}

describe('packaging', () => {
  it('the Dockerfile: current LTS Node, multi-stage with dist/, Debian Chromium as setup installs, tini, non-root, health check', async () => {
    const docker = await read('Dockerfile');
    const setup = await read('scripts/setup.sh');
    const { engines } = JSON.parse(await read('package.json')) as { engines: { node: string } };
    const majors = [...docker.matchAll(/^FROM node:(\d+)-bookworm-slim/gm)].map((m) => Number(m[1]));
    expect(majors).toHaveLength(2); // build stage + runtime
    const floor = Number(/(\d+)/.exec(engines.node)![1]);
    for (const major of majors) {
      expect(major % 2).toBe(0); // an LTS line
      expect(major).toBeGreaterThan(floor); // newer than the machines' Node 20 (end of life)
    }
    expect(docker).toMatch(/COPY --from=build \/build\/dist \.\/dist/);
    expect(docker).toMatch(/npm ci --omit=dev/);
    // The same browser the setup script installs and the code launches.
    expect(setup).toMatch(/apt_packages\+=\(chromium\)/);
    expect(docker).toMatch(/apt-get install[^\n]*\bchromium\b/);
    expect(docker).toContain(`CHROMIUM_PATH=${DEFAULT_CHROMIUM_PATH}`);
    expect(docker).toMatch(/apt-get install[^\n]*\btini\b/);
    expect(docker).toMatch(/ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", "bin\/certharvest\.js"\]/);
    expect(docker).toMatch(/^USER (?!root)\S+/m);
    const healthcheck = /^HEALTHCHECK [^\n]*\\\n[^\n]*/m.exec(docker)?.[0] ?? '';
    expect(healthcheck).toContain('/healthz');
    expect(healthcheck).toContain('METRICS_PORT');
    expect(healthcheck).toContain('BOARD_PORT'); // the same image runs the board
    expect(docker).toContain(`UV_THREADPOOL_SIZE=${RECOMMENDED_THREADPOOL_SIZE}`);
    expect(docker).toContain('BOARD_HOST=0.0.0.0');
    // Every variable the image sets is one the configuration knows (or Node/npm's own).
    const envBlock = /^ENV ([\s\S]*?)\n\n/m.exec(docker)![1]!;
    for (const [, name] of envBlock.matchAll(/(\w+)=/g)) {
      if (
        ['DEBIAN_FRONTEND', 'PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD', 'NODE_ENV', 'UV_THREADPOOL_SIZE'].includes(
          name!,
        )
      )
        continue;
      expect(configVariables, name).toContain(name);
    }
    expect(/^CMD \["(\w+)"\]/m.exec(docker)?.[1]).toBe('worker');
    expect(commands).toContain('worker');
  });

  it('compose.yaml: Redis 7 with AOF and noeviction, two workers, the board, a volume; commands and variables exist', async () => {
    const compose = parse(await read('compose.yaml')) as {
      services: Record<string, ComposeService>;
      volumes: Record<string, unknown>;
    };
    const { redis, worker, board } = compose.services;
    expect(redis?.image).toMatch(/^redis:7/);
    expect(redis?.command?.join(' ')).toMatch(/--appendonly yes/);
    expect(redis?.command?.join(' ')).toMatch(/--maxmemory-policy noeviction/);
    expect(worker?.deploy?.replicas).toBe(2);
    expect(worker?.volumes?.some((v) => v.startsWith('certificates:'))).toBe(true);
    expect(Object.keys(compose.volumes)).toContain('certificates');
    for (const [name, service] of Object.entries(compose.services)) {
      if (name === 'redis') continue;
      expect(commands, `${name}: ${service.command?.[0]}`).toContain(service.command?.[0]);
      for (const variable of Object.keys(service.environment ?? {}))
        expect(configVariables, `${name}: ${variable}`).toContain(variable);
    }
    expect(worker?.environment?.METRICS_PORT).toBeTruthy();
    expect(board?.environment?.BOARD_HOST).toBe('0.0.0.0');
    expect(board?.healthcheck?.test.join(' ')).toContain(`:${board?.environment?.BOARD_PORT}/healthz`);
  });

  it('the systemd unit runs the worker with the thread pool set before Node starts, restarting on failure', async () => {
    const unit = await read('deploy/certharvest-worker.service');
    expect(unit).toMatch(/^ExecStart=.*bin\/certharvest\.js worker$/m);
    expect(unit).toContain(`Environment=UV_THREADPOOL_SIZE=${RECOMMENDED_THREADPOOL_SIZE}`);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).not.toMatch(/RestartPreventExitStatus/); // exit 2 is also "Redis not up yet"
    for (const [, name] of unit.matchAll(/^Environment=(\w+)=/gm)) {
      if (['UV_THREADPOOL_SIZE', 'NODE_ENV'].includes(name!)) continue;
      expect(configVariables, name).toContain(name);
    }
  });

  it('the lock file is what npm ci installs: every package of package.json is in it', async () => {
    const pkg = JSON.parse(await read('package.json')) as Record<string, Record<string, string>>;
    const lock = JSON.parse(await read('package-lock.json')) as {
      packages: Record<
        string,
        { dependencies?: Record<string, string>; devDependencies?: Record<string, string> }
      >;
    };
    expect(lock.packages['']?.dependencies).toEqual(pkg.dependencies);
    expect(lock.packages['']?.devDependencies).toEqual(pkg.devDependencies);
    // Optional native packages of every platform are recorded (npm ci refuses a lock without them).
    expect(
      Object.keys(lock.packages).filter((k) => k.includes('msgpackr-extract-')).length,
    ).toBeGreaterThanOrEqual(5);
    expect(await read('scripts/setup.sh')).toMatch(/^\s*npm ci\b/m);
  });

  it('the sandbox is a development package: never copied into the image, and npm ci --omit=dev leaves it and its dependencies out', async () => {
    const docker = await read('Dockerfile');
    expect(docker).not.toMatch(/^COPY[^\n]*\bpackages\b/m);
    expect(docker).not.toMatch(/^COPY[^\n]*sandbox/m);
    const pkg = JSON.parse(await read('package.json')) as Record<string, Record<string, string>>;
    const sandbox = JSON.parse(await read('packages/sandbox/package.json')) as {
      name: string;
      dependencies: Record<string, string>;
    };
    // A dev dependency of the root (not a workspace: npm installs workspaces even with --omit=dev).
    expect(pkg.devDependencies?.[sandbox.name]).toBe('file:packages/sandbox');
    expect(pkg).not.toHaveProperty('workspaces');
    const lock = JSON.parse(await read('package-lock.json')) as {
      packages: Record<string, { dev?: boolean; link?: boolean }>;
    };
    expect(lock.packages[`node_modules/${sandbox.name}`]).toMatchObject({ link: true });
    expect(lock.packages['packages/sandbox']?.dev).toBe(true);
    for (const name of ['oidc-provider', 'pdf-lib', '@types/oidc-provider']) {
      expect(pkg.dependencies, name).not.toHaveProperty(name);
      expect(lock.packages[`node_modules/${name}`]?.dev, name).toBe(true);
    }
    // The setup script reinstalls when the package's own dependencies change.
    expect(await read('scripts/setup.sh')).toContain('packages/sandbox/package.json -nt');
  });
});
