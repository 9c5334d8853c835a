import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** Clock ticks per second of /proc times (`getconf CLK_TCK`, 100 on common Linux systems). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/**
 * Returns the CPU time (user + system) a process has used so far, in seconds, read from
 * /proc/PID/stat. Returns undefined where /proc is missing or the process has exited.
 */
export function readCpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }

  // The command name in field 2 may contain spaces, so fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  if (!Number.isFinite(userTicks) || !Number.isFinite(systemTicks)) {
    return undefined;
  }
  return (userTicks + systemTicks) / ticksPerSecond();
}

/** Returns the peak resident set size of a process in bytes (VmHWM in /proc/PID/status), or undefined. */
export function readPeakRssBytes(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }

  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}

/**
 * Returns the CPU time, in seconds, that every process whose command name is `command`
 * (such as `postgres` or `redis-server`) has used so far, summed. Processes that exit
 * between two readings drop out of the sum, so a difference is a lower bound. Returns
 * undefined where /proc is missing.
 */
export function readCpuSecondsOfCommand(command: string): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return undefined;
  }

  let total = 0;
  for (const entry of entries) {
    let name: string;
    try {
      name = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (name === command) {
      total += readCpuSeconds(Number(entry)) ?? 0;
    }
  }
  return total;
}

/** Returns the current resident set size of a process in bytes (VmRSS in /proc/PID/status), or undefined. */
export function readCurrentRssBytes(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }

  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}
