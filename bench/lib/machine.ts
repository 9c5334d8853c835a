import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os';

export interface MachineFacts {
  cores: number;
  cpuModel: string;
  memoryBytes: number;
  os: string;
  node: string;
  npm: string | undefined;
  /** 1-, 5- and 15-minute load averages when the run started; other work on the machine skews the figures. */
  loadAverage: number[];
}

export interface SourceFacts {
  /** Commit the run was built from, and whether the work tree had uncommitted changes. */
  commit: string | undefined;
  dirty: boolean | undefined;
  /** Installed version of every direct dependency, from package-lock.json. */
  dependencies: Record<string, string>;
}

/** Describes the machine a run happened on, so its figures can be compared with another's. */
export function describeMachine(): MachineFacts {
  return {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryBytes: totalmem(),
    os: `${type()} ${release()}`,
    node: process.version,
    npm: /npm\/(\S+)/.exec(process.env.npm_config_user_agent ?? '')?.[1],
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
  };
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Describes the code under test: commit and the locked versions of the direct dependencies. */
export function describeSource(packageFolder: string): SourceFacts {
  const manifest = JSON.parse(readFileSync(`${packageFolder}/package.json`, 'utf8')) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const lock = JSON.parse(readFileSync(`${packageFolder}/package-lock.json`, 'utf8')) as {
    packages?: Record<string, { version?: string }>;
  };

  const dependencies: Record<string, string> = {};
  const names = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})].sort();
  for (const name of names) {
    dependencies[name] = lock.packages?.[`node_modules/${name}`]?.version ?? 'not in package-lock.json';
  }

  const status = git(['-C', packageFolder, 'status', '--porcelain', '--untracked-files=no']);
  return {
    commit: git(['-C', packageFolder, 'rev-parse', 'HEAD']),
    dirty: status === undefined ? undefined : status.length > 0,
    dependencies,
  };
}
