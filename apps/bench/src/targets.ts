// The targets of issue 10 / DESIGN §9, each checked against a figure of this run and printed `met` or `missed`.
// A target whose figure could not be measured (server absent, LangGraph failed) is not counted.

export interface TargetCheck {
  figure: string;
  value: number;
  unit: 'ms' | 'x' | 'KiB' | '%';
  /** What the value must not exceed, in the same unit. */
  limit: number;
  /** The target as the issue states it. */
  target: string;
  met: boolean;
}

export class Targets {
  readonly checks: TargetCheck[] = [];

  /** Records `value <= limit`; skipped when the figure is missing. */
  atMost(figure: string, value: number | null | undefined, limit: number, unit: TargetCheck['unit'], target: string): void {
    if (value === null || value === undefined || !Number.isFinite(value)) return;
    this.checks.push({ figure, value, unit, limit, target, met: value <= limit });
  }

  print(log: (line: string) => void): void {
    const width = Math.max(...this.checks.map((c) => c.figure.length), 10);
    for (const c of this.checks) {
      log(`${c.figure.padEnd(width)}  ${format(c.value, c.unit).padStart(12)}  target ${c.target.padEnd(36)} ${c.met ? 'met' : 'missed'}`);
    }
  }

  get met(): number {
    return this.checks.filter((c) => c.met).length;
  }

  get missed(): number {
    return this.checks.length - this.met;
  }

  summary(): string {
    return `targets: ${this.met} met, ${this.missed} missed (of ${this.checks.length})`;
  }
}

export function format(value: number, unit: TargetCheck['unit']): string {
  if (unit === 'ms') return `${value < 10 ? value.toFixed(3) : value.toFixed(1)} ms`;
  if (unit === 'KiB') return `${value.toFixed(0)} KiB`;
  if (unit === '%') return `${value.toFixed(1)}%`;
  return `${value.toFixed(2)}x`;
}
