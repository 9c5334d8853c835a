import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './api-client.js';

/** A tool command of the `hookline` CLI. */
export interface ToolCommand {
  name: string;
  /** Full help text, printed by `hookline NAME --help`. */
  help: string;
  /** The options it parses, each of which the help describes. */
  options: NonNullable<ParseArgsConfig['options']>;
  /** Runs the command with the arguments after its name and resolves with the exit status. */
  run(args: string[]): Promise<number>;
}

/** Parses a command's arguments; unknown options and missing values become a UsageError. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Parses a whole number option within bounds, naming the option when it is invalid. */
export function integerOption(name: string, text: string | undefined, minimum: number, maximum: number): number | undefined {
  if (text === undefined) {
    return undefined;
  }
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < minimum || value > maximum) {
    throw new UsageError(`Invalid --${name} "${text}": expected a whole number from ${minimum} to ${maximum}.`);
  }
  return value;
}

/** Splits a comma-separated option into its items, or returns undefined when it is absent. */
export function listOption(text: string | undefined): string[] | undefined {
  if (text === undefined) {
    return undefined;
  }
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
