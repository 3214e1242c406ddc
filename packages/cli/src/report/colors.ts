/** ANSI colours, applied only when enabled. */
export interface Colors {
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  gray(s: string): string;
  bold(s: string): string;
  green(s: string): string;
  magenta(s: string): string;
}

const wrap = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;

/** Colours for a stream: on for a TTY unless NO_COLOR is set, or when FORCE_COLOR is set. */
export function colorsFor(stream: { isTTY?: boolean } | undefined, env: NodeJS.ProcessEnv = process.env, forced?: boolean): Colors {
  const on = forced ?? ((env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0') || (stream?.isTTY === true && env['NO_COLOR'] === undefined));
  const id = (s: string): string => s;
  return on
    ? { red: wrap(31, 39), yellow: wrap(33, 39), cyan: wrap(36, 39), gray: wrap(90, 39), bold: wrap(1, 22), green: wrap(32, 39), magenta: wrap(35, 39) }
    : { red: id, yellow: id, cyan: id, gray: id, bold: id, green: id, magenta: id };
}
