import { StringDecoder } from 'node:string_decoder';
import { liveSecrets, type LiveSecrets } from './live-secrets.js';

/**
 * Characters escaped in every write: C0 controls but newline and tab (CR could overwrite a
 * line on a terminal), DEL, C1 controls (U+0080-U+009F: 8-bit CSI/OSC, NEL), the line and
 * paragraph separators U+2028/U+2029, and the bidirectional controls (U+061C, U+200E,
 * U+200F, U+202A-U+202E, U+2066-U+2069) that reorder how a line reads. ESC is handled on
 * its own: it survives only as the start of an allowed colour sequence.
 */
const DANGEROUS = /[\u0000-\u0008\u000b-\u001a\u001c-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const SCAN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** A plain SGR sequence: ESC [ parameters m. */
const SGR = /\u001b\[([0-9;]{0,64})m/y;
/**
 * SGR parameters any stream keeps: what loggers' own colouring uses (Nest's console logger,
 * chalk/colorette basics): reset, bold, dim, italic, underline and their resets, the
 * foreground colours but black, default foreground. None can move the cursor, erase, or
 * hide text.
 */
const PALETTE = new Set([0, 1, 2, 3, 4, 22, 23, 24, 31, 32, 33, 34, 35, 36, 37, 39, 90, 91, 92, 93, 94, 95, 96, 97]);
/** On a terminal every SGR is kept but blink (5, 6) and conceal (8). */
const TTY_REFUSED = new Set([5, 6, 8]);

/** An escape sequence not finished at the end of a write (held back with the text, so a colour is not cut in two). */
const OPEN_ESCAPE = /\u001b(?:\[[0-9;]{0,64})?$/;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

function sgrAllowed(params: string, tty: boolean): boolean {
  const codes = params === '' ? [0] : params.split(';').map((p) => (p === '' ? 0 : Number(p)));
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (!tty) {
      // Nest's console logger colours the context with a 256-colour index (38;5;3): the 16
      // basic colours but black and dark grey are part of the palette too.
      if (c === 38 && codes[i + 1] === 5) {
        const n = codes[i + 2];
        if (n === undefined || n === 0 || n === 8 || n > 15) return false;
        i += 2;
        continue;
      }
      if (!PALETTE.has(c)) return false;
      continue;
    }
    if (c === 38 || c === 48 || c === 58) {
      // Extended colour: 5;n or 2;r;g;b (their arguments are not codes).
      const mode = codes[i + 1];
      if (mode === 5) i += 2;
      else if (mode === 2) i += 4;
      else return false;
      if (i >= codes.length) return false;
      continue;
    }
    if (TTY_REFUSED.has(c) || c > 107) return false;
  }
  return true;
}

/**
 * The text with every dangerous control character escaped (`\x1b`, `\u202e`, ...), so
 * data inside a log line cannot forge lines, reorder text or drive the terminal. Plain
 * colour sequences (SGR, `ESC[...m`) are kept: on a terminal (`tty`) any colour, style or
 * reset but blink and conceal; elsewhere only the logger palette (foreground colours,
 * bold, dim, italic, underline, resets). Every other escape sequence (cursor movement,
 * erase, OSC titles and hyperlinks, DCS) loses its ESC and shows as text.
 * @internal
 */
export function neutraliseControls(text: string, tty: boolean): string {
  if (!DANGEROUS.test(text) && !text.includes('\u001b')) return text;
  SCAN.lastIndex = 0;
  let out = '';
  let from = 0;
  for (let m = SCAN.exec(text); m !== null; m = SCAN.exec(text)) {
    const at = m.index;
    if (text[at] === '\u001b') {
      SGR.lastIndex = at;
      const sgr = SGR.exec(text);
      if (sgr && sgrAllowed(sgr[1]!, tty)) {
        SCAN.lastIndex = at + sgr[0].length;
        continue;
      }
    }
    out += text.slice(from, at) + escapeChar(text[at]!);
    from = at + 1;
  }
  return from === 0 ? text : out + text.slice(from);
}

type Write = (chunk: unknown, ...rest: unknown[]) => boolean;
type Callback = (err?: Error | null) => void;

/**
 * One stream's scrubber. Each write goes out at once, scrubbed, but for its tail that could
 * be the beginning of a tracked secret (`pendingStart`: at most the longest tracked form,
 * whatever the line's length): that tail is held until the next write shows whether the
 * secret follows (then it is scrubbed whole), and written at exit. No timer and no line
 * bound decide it, so a secret split across writes is scrubbed however long the line or the
 * pause; what is held stays under the longest form (a few KiB).
 */
class StreamScrubber {
  private pending = '';
  private readonly decoder = new StringDecoder('utf8');

  constructor(
    private readonly original: Write,
    private readonly registry: LiveSecrets,
    private readonly tty: boolean,
  ) {}

  write(text: string, callback: Callback | undefined): boolean {
    const all = this.pending + text;
    const cut = this.holdFrom(all);
    this.pending = all.slice(cut);
    if (cut === 0) {
      // Everything is held: the callback still follows every earlier write.
      if (callback) this.original('', 'utf8', callback);
      return true;
    }
    return this.emit(all.slice(0, cut), callback);
  }

  /**
   * Where the held tail starts: the possible start of a form, moved past a complete form
   * that spans it (emitted whole, scrubbed), and before an unfinished escape sequence.
   */
  private holdFrom(all: string): number {
    let cut = this.registry.pendingStart(all);
    const spanning = this.registry.safeCut(all, cut);
    if (spanning > cut) cut = spanning + this.registry.pendingStart(all.slice(spanning));
    const escape = OPEN_ESCAPE.exec(all);
    return escape !== null && escape.index < cut ? escape.index : cut;
  }

  decode(chunk: Buffer): string {
    return this.decoder.write(chunk);
  }

  /** Writes whatever is held (exit). */
  flush(): void {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    if (rest !== '') this.emit(rest, undefined);
  }

  private emit(text: string, callback: Callback | undefined): boolean {
    return this.original(neutraliseControls(this.registry.scrub(text), this.tty), 'utf8', callback);
  }
}

let installed = false;

/**
 * Scrubs every write to stdout and stderr (console, Nest's Logger, pino, third-party
 * code) of the live secrets, also a secret written in pieces (the tail of a write that
 * could begin a secret is held until the next write, and written at exit), and
 * escapes dangerous control characters: C0/C1 controls but newline and tab, the Unicode
 * line separators and bidirectional overrides, and every escape sequence but colours.
 * Colours survive: on a terminal any plain SGR colour or style but blink and conceal;
 * piped to a file or collector, the palette loggers use for their own formatting
 * (foreground colours, bold, dim, underline, resets). Idempotent.
 * Writes that bypass `process.stdout` (a raw `fs.writeSync(1, ...)`) are not covered:
 * the canary suite checks for exactly that.
 *
 * @example
 * installStdioRedaction(); // first line of main.ts
 */
export function installStdioRedaction(): void {
  if (installed) return;
  installed = true;
  const scrubbers: StreamScrubber[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream) as Write;
    const scrubber = new StreamScrubber(original, liveSecrets, stream.isTTY === true);
    scrubbers.push(scrubber);
    (stream as { write: Write }).write = (chunk: unknown, ...rest: unknown[]): boolean => {
      const encoding = typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : undefined;
      const callback = rest.find((r): r is Callback => typeof r === 'function');
      let text: string;
      if (typeof chunk === 'string') {
        text = encoding && !/^utf-?8$/i.test(encoding) && Buffer.isEncoding(encoding) ? scrubber.decode(Buffer.from(chunk, encoding)) : chunk;
      } else if (Buffer.isBuffer(chunk) || chunk instanceof Uint8Array) {
        text = scrubber.decode(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } else {
        return original(chunk, ...rest);
      }
      return scrubber.write(text, callback);
    };
  }
  process.on('exit', () => {
    for (const s of scrubbers) s.flush();
  });
}
