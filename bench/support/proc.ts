import { readFileSync } from 'node:fs';

/** Linux: a process's /proc/<pid>/stat fields from the 3rd (state) on — utime is [11], stime [12], cutime [13], cstime [14]. */
export function procStatFields(pid: number): string[] {
  const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return raw.slice(raw.lastIndexOf(')') + 2).split(' ');
}

/** ms per clock tick (CLK_TCK 100 on Linux). */
export const MS_PER_TICK = 10;

/** CPU ms (user + system) a live process has used so far, e.g. a PostgreSQL backend (pg_backend_pid()). */
export function processCpuMs(pid: number): number {
  const f = procStatFields(pid);
  return (Number(f[11]) + Number(f[12])) * MS_PER_TICK;
}
