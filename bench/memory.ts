/**
 * Peak memory while a benchmark phase runs: this Node process's RSS, and the Chromium processes
 * it (or its children) launched, read from /proc every 100 ms.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface MemoryPeaks {
  /** Peak RSS of this Node process, bytes. */
  nodeRss: number;
  /** Peak of the summed RSS of every Chromium process descending from this one, bytes. */
  chromiumRss: number;
  /**
   * Peak of the summed PSS (proportional set size: shared pages divided among the processes that
   * share them) of those Chromium processes, bytes; sampled every 500 ms. Summed RSS counts the
   * pages Chromium's processes share once per process; PSS does not.
   */
  chromiumPss: number;
  /** Most Chromium processes seen at once. */
  chromiumProcesses: number;
  /** Peak RSS of descendant redis-server processes, bytes. */
  redisRss: number;
  samples: number;
}

interface ProcInfo {
  pid: number;
  ppid: number;
}

/** Start sampling; `stop()` ends it and returns the peaks. */
export function sampleMemory(intervalMs = 100): { stop(): MemoryPeaks; current(): MemoryPeaks } {
  const peaks: MemoryPeaks = {
    nodeRss: 0,
    chromiumRss: 0,
    chromiumPss: 0,
    chromiumProcesses: 0,
    redisRss: 0,
    samples: 0,
  };
  const cmdlines = new Map<number, string>();
  let ticks = 0;
  const tick = () => {
    peaks.samples++;
    peaks.nodeRss = Math.max(peaks.nodeRss, process.memoryUsage.rss());
    const tree = descendants(process.pid);
    let chromiumRss = 0;
    let redisRss = 0;
    const chromium: number[] = [];
    for (const p of tree) {
      let cmd = cmdlines.get(p.pid);
      if (cmd === undefined) {
        cmd = readCmdline(p.pid);
        cmdlines.set(p.pid, cmd);
      }
      if (cmd.includes('chromium')) {
        chromiumRss += readRss(p.pid);
        chromium.push(p.pid);
      } else if (cmd.includes('redis-server')) {
        redisRss += readRss(p.pid);
      }
    }
    peaks.chromiumRss = Math.max(peaks.chromiumRss, chromiumRss);
    peaks.redisRss = Math.max(peaks.redisRss, redisRss);
    peaks.chromiumProcesses = Math.max(peaks.chromiumProcesses, chromium.length);
    if (ticks++ % 5 === 0 && chromium.length > 0) {
      peaks.chromiumPss = Math.max(
        peaks.chromiumPss,
        chromium.reduce((sum, pid) => sum + readPss(pid), 0),
      );
    }
    // Pids are reused: forget command lines of processes that are gone.
    if (cmdlines.size > 512) cmdlines.clear();
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  return {
    current: () => ({ ...peaks }),
    stop() {
      clearInterval(timer);
      tick();
      return { ...peaks };
    },
  };
}

/** Every live process below `root` (not `root` itself). */
export function descendants(root: number): ProcInfo[] {
  const all: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readStat(Number(name));
    if (info) all.push(info);
  }
  const children = new Map<number, ProcInfo[]>();
  for (const p of all) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  const out: ProcInfo[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Descendant processes whose command line mentions Chromium (for the leak check at the end). */
export function chromiumDescendants(root = process.pid): number[] {
  return descendants(root)
    .filter((p) => readCmdline(p.pid).includes('chromium'))
    .map((p) => p.pid);
}

function readStat(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); ppid is field 4.
    return { pid, ppid: Number(fields[1]) };
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
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function readPss(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
