/** Shared formatting of times, durations and scores, so every view says them the same way. */

export const timeOf = (ms: number): string =>
  new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export const dateTimeOf = (iso: string): string =>
  new Date(iso).toLocaleString([], {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });

/** 95 000 → "1 min", 7 300 000 → "2 h 1 min", 2 days and more → "2 d 3 h". */
export function durationOf(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export const scoreOf = (score: number): string => score.toFixed(2);

/** A principal id for people: `user:ann` → `ann`; keys keep their id (`analyst:1a2b…`). */
export const personOf = (principal: string | null, name?: string | null): string =>
  name ?? (principal === null ? 'unassigned' : principal.replace(/^user:/, ''));

/**
 * Priority is Σ score (basis points) × amount (ten-thousandths of a major unit): shown as score × major units with two
 * decimals, by moving the decimal point of the exact integer string eight places (no float).
 */
export function priorityText(priority: string): string {
  const digits = priority.padStart(9, '0');
  const whole = digits.slice(0, -8).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${whole}.${digits.slice(-8, -6)}`;
}
