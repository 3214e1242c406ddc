import type { LoggerService } from '@nestjs/common';

/** Collects every log line, so tests can assert that no key is ever logged. */
export class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  private push(level: string, args: unknown[]): void {
    this.lines.push(`${level} ${args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}\n${a.stack}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`);
  }
  log(...a: unknown[]): void {
    this.push('log', a);
  }
  error(...a: unknown[]): void {
    this.push('error', a);
  }
  warn(...a: unknown[]): void {
    this.push('warn', a);
  }
  debug(...a: unknown[]): void {
    this.push('debug', a);
  }
  verbose(...a: unknown[]): void {
    this.push('verbose', a);
  }
  fatal(...a: unknown[]): void {
    this.push('fatal', a);
  }
  get text(): string {
    return this.lines.join('\n');
  }
}
