/**
 * What a benchmark run costs, read from /proc every 100 ms: peak RSS of this Node process and
 * of the Chromium processes below it, and the CPU time of this process and of its helpers
 * (Chromium, the sandbox LMS child, redis-server). `cpuSeconds()` reads the CPU figures at any
 * moment, so a phase of the run (the downloads) can be charged on its own.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

type Kind = 'chromium' | 'sandbox' | 'redis' | 'other';

export interface ResourceUsage {
  /** Peak RSS of this Node process, bytes. */
  nodeRss: number;
  /** Peak of the summed RSS of every Chromium process descending from this one, bytes. */
  chromiumRss: number;
  /**
   * Peak of the summed PSS (proportional set size: a shared page is divided among the processes
   * sharing it) of those Chromium processes, bytes; sampled every 2 s. Summed RSS counts the
   * pages Chromium's processes share once per process; PSS counts them once.
   */
  chromiumPss: number;
  /** Most Chromium processes seen at once. */
  chromiumProcesses: number;
  /** Peak RSS of descendant redis-server processes, bytes. */
  redisRss: number;
  /** CPU seconds (user + system) used while sampling. */
  cpuSeconds: CpuSeconds;
  samples: number;
}

/** CPU seconds (user + system) of this Node process and of each kind of helper process. */
export interface CpuSeconds {
  node: number;
  chromium: number;
  sandbox: number;
  redis: number;
}

export interface ResourceSampler {
  /** CPU used since sampling began, read now (helpers to the 10 ms of /proc's clock ticks). */
  cpuSeconds(): CpuSeconds;
  /** End sampling and return the figures. */
  stop(): ResourceUsage;
}

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime, in ticks. */
  cpuTicks: number;
}

/**
 * Start sampling; `stop()` ends it and returns the figures. Every `intervalMs` the known helper
 * processes are read; the whole of /proc is scanned for new descendants every fifth sample only,
 * which keeps the sampler's own cost (charged to this process) small.
 */
export function sampleResources(intervalMs = 100): ResourceSampler {
  const usage: ResourceUsage = {
    nodeRss: 0,
    chromiumRss: 0,
    chromiumPss: 0,
    chromiumProcesses: 0,
    redisRss: 0,
    cpuSeconds: { node: 0, chromium: 0, sandbox: 0, redis: 0 },
    samples: 0,
  };
  const cpuStart = process.cpuUsage();
  /** Helper processes and their CPU ticks at the first and the latest sample that saw them. */
  const tracked = new Map<number, { kind: Exclude<Kind, 'other'>; first: number; last: number }>();
  const ignored = new Set<number>();
  let n = 0;
  let firstScan = true;
  const scan = () => {
    for (const p of descendants(process.pid)) {
      if (tracked.has(p.pid) || ignored.has(p.pid)) continue;
      const kind = kindOf(readCmdline(p.pid));
      if (kind === 'other') ignored.add(p.pid);
      // A process that was there when sampling began counts from then; a newer one from zero.
      else tracked.set(p.pid, { kind, first: firstScan ? p.cpuTicks : 0, last: p.cpuTicks });
    }
  };
  const tick = () => {
    if (n % 5 === 0) scan();
    usage.samples++;
    usage.nodeRss = Math.max(usage.nodeRss, process.memoryUsage.rss());
    let chromiumRss = 0;
    let redisRss = 0;
    const chromium: number[] = [];
    for (const [pid, t] of tracked) {
      const stat = readStat(pid);
      if (!stat) continue; // exited: keep its last CPU figure
      t.last = stat.cpuTicks;
      if (t.kind === 'chromium') {
        chromiumRss += readRss(pid);
        chromium.push(pid);
      } else if (t.kind === 'redis') {
        redisRss += readRss(pid);
      }
    }
    usage.chromiumRss = Math.max(usage.chromiumRss, chromiumRss);
    usage.redisRss = Math.max(usage.redisRss, redisRss);
    usage.chromiumProcesses = Math.max(usage.chromiumProcesses, chromium.length);
    // smaps_rollup is costly (about 1 ms per Chromium process): every 20th sample only.
    if (n % 20 === 0 && chromium.length > 0) {
      usage.chromiumPss = Math.max(
        usage.chromiumPss,
        chromium.reduce((sum, pid) => sum + readPss(pid), 0),
      );
    }
    n++;
    firstScan = false;
  };
  const cpuSeconds = (): CpuSeconds => {
    scan();
    const cpu: CpuSeconds = { node: 0, chromium: 0, sandbox: 0, redis: 0 };
    for (const [pid, t] of tracked) {
      const stat = readStat(pid);
      if (stat) t.last = stat.cpuTicks;
      cpu[t.kind] += (t.last - t.first) / TICKS_PER_SECOND;
    }
    const own = process.cpuUsage(cpuStart);
    cpu.node = (own.user + own.system) / 1e6;
    return cpu;
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    cpuSeconds,
    stop() {
      clearInterval(timer);
      n = 0; // one last full look
      tick();
      usage.cpuSeconds = cpuSeconds();
      return structuredClone(usage);
    },
  };
}

function kindOf(cmdline: string): Kind {
  if (cmdline.includes('chromium')) return 'chromium';
  if (cmdline.includes('sandbox-child')) return 'sandbox';
  if (cmdline.includes('redis-server')) return 'redis';
  return 'other';
}

/** Every live process below `root` (not `root` itself). */
function descendants(root: number): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const p = readStat(Number(name));
    if (!p) continue;
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const out: ProcStat[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Descendant helper processes (Chromium, redis-server, the sandbox child): pids, for a last-resort kill. */
export function helperDescendants(root = process.pid): number[] {
  return descendants(root)
    .filter((p) => kindOf(readCmdline(p.pid)) !== 'other')
    .map((p) => p.pid);
}

/** Descendant processes whose command line mentions Chromium (for the leak check at the end). */
export function chromiumDescendants(root = process.pid): number[] {
  return descendants(root)
    .filter((p) => kindOf(readCmdline(p.pid)) === 'chromium')
    .map((p) => p.pid);
}

/**
 * CPU seconds of this process's threads, read from /proc/self/task: the main thread (JavaScript,
 * the event loop) apart from all the others (the libuv pool, which runs the file system calls,
 * and V8's platform threads: GC, compilation), each as user and system time.
 */
export interface ThreadCpu {
  mainUser: number;
  mainSystem: number;
  otherUser: number;
  otherSystem: number;
}

export function threadCpu(): ThreadCpu {
  const cpu: ThreadCpu = { mainUser: 0, mainSystem: 0, otherUser: 0, otherSystem: 0 };
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return cpu;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const user = Number(fields[11]) / TICKS_PER_SECOND;
      const system = Number(fields[12]) / TICKS_PER_SECOND;
      if (Number(tid) === process.pid) {
        cpu.mainUser += user;
        cpu.mainSystem += system;
      } else {
        cpu.otherUser += user;
        cpu.otherSystem += system;
      }
    } catch {
      // the thread ended meanwhile
    }
  }
  return cpu;
}

export function threadCpuSince(start: ThreadCpu): ThreadCpu {
  const now = threadCpu();
  return {
    mainUser: now.mainUser - start.mainUser,
    mainSystem: now.mainSystem - start.mainSystem,
    otherUser: now.otherUser - start.otherUser,
    otherSystem: now.otherSystem - start.otherSystem,
  };
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (the command name) is in parentheses and may hold spaces: split after the last ')'.
    // fields[0] is then field 3 (state): ppid is field 4, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]), cpuTicks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined; // gone meanwhile
  }
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** VmRSS of /proc/<pid>/status, bytes (0 when the process is gone). */
function readRss(pid: number): number {
  return readKb(`/proc/${pid}/status`, /^VmRSS:\s+(\d+) kB/m);
}

/** Pss of /proc/<pid>/smaps_rollup, bytes. */
function readPss(pid: number): number {
  return readKb(`/proc/${pid}/smaps_rollup`, /^Pss:\s+(\d+) kB/m);
}

function readKb(file: string, pattern: RegExp): number {
  try {
    const m = pattern.exec(readFileSync(file, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
