import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api/client';

/** Runs `load` when `deps` change; `reload()` runs it again. Stale answers (deps changed meanwhile) are dropped. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: ApiError | Error; loading: boolean }>({ loading: true });
  const seq = useRef(0);
  const run = useCallback(async (quiet = false) => {
    const n = ++seq.current;
    if (!quiet) setState((s) => ({ ...s, loading: true }));
    try {
      const data = await load();
      if (n === seq.current) setState({ data, loading: false });
    } catch (e) {
      if (n === seq.current) setState((s) => ({ data: s.data, error: e as Error, loading: false }));
    }
  }, deps);
  useEffect(() => {
    void run();
  }, [run]);
  return { ...state, reload: run };
}

/** Calls `fn` every `ms` while the tab is visible (ms = 0 pauses). */
export function useInterval(fn: () => void, ms: number) {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    if (!ms) return;
    const id = setInterval(() => {
      if (document.visibilityState === 'visible') saved.current();
    }, ms);
    return () => clearInterval(id);
  }, [ms]);
}

export const errorText = (e: unknown) => (e instanceof ApiError ? e.detail : e instanceof Error ? e.message : String(e));

export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  return (
    <div class="alert alert-error" role="alert">
      {title ? <strong>{title}: </strong> : null}
      {errorText(error)}
    </div>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p class="muted" role="status" aria-live="polite">
      {label}
    </p>
  );
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "3 min", "5 h", "12 d". */
export function duration(ms: number): string {
  const a = Math.abs(ms);
  if (a < 1000) return `${Math.round(a)} ms`;
  if (a < MINUTE) return `${(a / 1000).toFixed(a < 10_000 ? 1 : 0)} s`;
  if (a < HOUR) return `${Math.round(a / MINUTE)} min`;
  if (a < 2 * DAY) return `${Math.round(a / HOUR)} h`;
  return `${Math.round(a / DAY)} d`;
}

export const ago = (iso: string | undefined | null, now = Date.now()) => (iso ? `${duration(now - Date.parse(iso))} ago` : 'never');
export const inFuture = (iso: string | undefined | null, now = Date.now()) => (!iso ? '—' : Date.parse(iso) <= now ? 'now' : `in ${duration(Date.parse(iso) - now)}`);
export const fmtDate = (iso: string | undefined | null) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '—');
export const fmtNum = (n: number | undefined | null) => (n === undefined || n === null ? '—' : n.toLocaleString());

// The API's in-progress statuses (src/domain/statuses.ts IN_PROGRESS_STATUSES).
const IN_PROGRESS = new Set(['Queued', 'Fetching', 'MapQueued', 'Mapping', 'ProcessingQueued', 'Processing', 'ValidationQueued', 'Validating']);
export const isInProgress = (s: string | undefined) => !!s && IN_PROGRESS.has(s);

export function statusTone(status: string | undefined): 'ok' | 'warn' | 'bad' | 'info' | 'muted' {
  if (!status) return 'muted';
  if (status === 'Complete' || status === 'Linked' || status === 'success') return 'ok';
  if (status === 'Initial' || status === 'NotSupported' || status === 'Cancelled' || status === 'Unlinked') return 'muted';
  if (isInProgress(status) || status === 'PendingAuth') return 'info';
  if (status === 'Deauthorized') return 'bad';
  return 'bad';
}

export function Badge({ status, children }: { status?: string; children?: ComponentChildren }) {
  return <span class={`badge badge-${statusTone(status)}`}>{children ?? status ?? '—'}</span>;
}

export function Pager({ page, pageSize, total, onPage, label }: { page: number; pageSize: number; total: number; onPage: (p: number) => void; label: string }) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return (
    <nav class="pager" aria-label={`${label} pages`}>
      <button type="button" class="btn" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        ← Previous
      </button>
      <span aria-live="polite">
        Page {page} of {pages.toLocaleString()} · {total.toLocaleString()} {label}
      </span>
      <button type="button" class="btn" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Next →
      </button>
    </nav>
  );
}

/** Copies text; where the Clipboard API is refused (plain http, no permission) the text is selected for Ctrl+C. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState<string | null>(null);
  const ref = useRef<HTMLInputElement>(null);
  return (
    <span class="copy">
      <input ref={ref} class="copy-text" readOnly value={text} aria-label={`${label}: value`} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
      <button
        type="button"
        class="btn btn-small"
        onClick={async () => {
          try {
            await navigator.clipboard.writeText(text);
            setDone('Copied');
          } catch {
            ref.current?.select();
            setDone('Press Ctrl+C');
          }
          setTimeout(() => setDone(null), 2000);
        }}
      >
        {done ?? label}
      </button>
    </span>
  );
}

/** Horizontally scrollable table region; focusable so keyboard users can scroll it. */
export function TableWrap({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

export function PageHeader({ title, children, sub }: { title: string; sub?: ComponentChildren; children?: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · Syncline`;
  }, [title]);
  return (
    <div class="page-header">
      <div>
        <h1>{title}</h1>
        {sub ? <p class="muted sub">{sub}</p> : null}
      </div>
      {children ? <div class="actions">{children}</div> : null}
    </div>
  );
}

/** The platform's mark: Syncline's own generated SVG (/branding/{key}/icon.svg), decorative next to its name. */
export function PlatformMark({ platformKey, size = 20 }: { platformKey?: string | undefined; size?: number }) {
  if (!platformKey) return null;
  return <img class="mark" src={`/branding/${encodeURIComponent(platformKey)}/icon.svg`} alt="" width={size} height={size} />;
}
