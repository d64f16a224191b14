import type { LoggerService } from '@nestjs/common';

/** One captured log line. */
export interface LogLine {
  level: 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal';
  message: string;
}

/** A Nest logger that keeps every line, for assertions on what was (and was not) logged. */
export class CaptureLogger implements LoggerService {
  readonly lines: LogLine[] = [];

  log(message: unknown, ...rest: unknown[]): void {
    this.add('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.add('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.add('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.add('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.add('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.add('fatal', message, rest);
  }

  /** The messages logged at `level`. */
  at(level: LogLine['level']): string[] {
    return this.lines.filter((line) => line.level === level).map((line) => line.message);
  }

  /** Every line with its extra arguments, as one text to search for secrets. */
  get text(): string {
    return this.lines.map((line) => `${line.level} ${line.message}`).join('\n');
  }

  private add(level: LogLine['level'], message: unknown, rest: unknown[]): void {
    const extra = rest.map((part) => (part instanceof Error ? `${part.message} ${part.stack}` : String(part)));
    this.lines.push({ level, message: [String(message), ...extra].join(' ') });
  }
}
