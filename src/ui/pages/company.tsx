import { useEffect, useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { api, ApiError, ok, type Connection, type DataStatus, type PullOperation, type SyncSetting, type SyncSettings } from '../api/client';
import { ago, Badge, CopyButton, PlatformMark, ErrorBox, errorText, fmtDate, inFuture, isInProgress, Loading, PageHeader, TableWrap, useAsync, useInterval } from '../components/ui';
import { CompanyTabs } from './company-tabs';

const HOUR = 3_600_000;

/** How fresh a type is against its schedule: within it, up to twice it, beyond (or never). */
export function freshness(lastSuccess: string | undefined, scheduleHours: number | undefined, now = Date.now()): 'fresh' | 'due' | 'stale' | 'never' | 'unscheduled' {
  if (!lastSuccess) return 'never';
  if (!scheduleHours) return 'unscheduled';
  const age = now - Date.parse(lastSuccess);
  if (age <= scheduleHours * HOUR) return 'fresh';
  if (age <= 2 * scheduleHours * HOUR) return 'due';
  return 'stale';
}

interface Cell {
  latest?: PullOperation;
  lastSuccess?: string;
}

/** Newest pull and newest success per data type for one connection, from its newest pulls (one page, newest first). */
function cellsFor(history: PullOperation[]): Map<string, Cell> {
  const out = new Map<string, Cell>();
  for (const op of history) {
    const c = out.get(op.dataType) ?? {};
    if (!c.latest) c.latest = op;
    if (!c.lastSuccess && op.status === 'Complete') c.lastSuccess = op.completed;
    out.set(op.dataType, c);
  }
  return out;
}

export function CompanyPage() {
  const { params } = useRoute();
  const id = params.id!;
  const company = useAsync(() => ok(api.GET('/companies/{companyId}', { params: { path: { companyId: id } } })), [id]);
  const grid = useAsync(async () => {
    const [status, settings, conns] = await Promise.all([
      ok(api.GET('/companies/{companyId}/dataStatus', { params: { path: { companyId: id } } })),
      ok(api.GET('/companies/{companyId}/syncSettings', { params: { path: { companyId: id } } })),
      ok(api.GET('/companies/{companyId}/connections', { params: { path: { companyId: id }, query: { pageSize: 50 } } })),
    ]);
    // One page of each connection's newest pulls: enough for the current state of every type, never the whole history.
    const histories = await Promise.all(
      conns.results.map((c) =>
        ok(api.GET('/companies/{companyId}/data/history', { params: { path: { companyId: id }, query: { query: `connectionId=${c.id}`, orderBy: '-requested', pageSize: 200 } } })).then(
          (h) => [c.id, cellsFor(h.results)] as const,
        ),
      ),
    );
    return { status, settings, connections: conns.results, cells: new Map(histories) };
  }, [id]);

  const running = !!grid.data && [...grid.data.cells.values()].some((m) => [...m.values()].some((c) => isInProgress(c.latest?.status)));
  // Live progress: every 2 s while a pull runs, every 15 s otherwise.
  useInterval(() => void grid.reload(true), running ? 2000 : 15000);

  const name = company.data?.name;
  return (
    <main id="main" class="container">
      <CompanyTabs id={id} name={name} />
      <PageHeader title={name ?? 'Company'} sub={company.data ? <>Created {fmtDate(company.data.created)} · <span class="mono">{id}</span></> : null}>
        {grid.data ? <RefreshAll companyId={id} connections={grid.data.connections} onDone={() => grid.reload(true)} /> : null}
      </PageHeader>
      <ErrorBox error={company.error} title="Could not load the company" />
      {company.data ? (
        <p class="linkline">
          Link URL for the business: <CopyButton text={company.data.redirect} label="Copy link URL" />
        </p>
      ) : null}
      <ErrorBox error={grid.error} title="Could not load data status" />
      {grid.loading && !grid.data ? <Loading /> : null}
      {grid.data ? (
        <>
          <Grid companyId={id} data={grid.data} onChange={() => grid.reload(true)} />
          <Connections companyId={id} connections={grid.data.connections} onChange={() => grid.reload(true)} />
          <SettingsEditor companyId={id} settings={grid.data.settings} onSaved={() => grid.reload(true)} />
        </>
      ) : null}
    </main>
  );
}

function RefreshAll({ companyId, connections, onDone }: { companyId: string; connections: Connection[]; onDone: () => void }) {
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const linked = connections.some((c) => c.status === 'Linked');
  return (
    <div class="refresh-all">
      <button
        type="button"
        class="btn btn-primary"
        disabled={busy || !linked}
        title={linked ? undefined : 'No linked connection'}
        onClick={async () => {
          setBusy(true);
          try {
            await ok(api.POST('/companies/{companyId}/data/all', { params: { path: { companyId } } }));
            setMsg({ ok: true, text: 'Queued every data type (types already in progress were skipped).' });
            onDone();
          } catch (e) {
            setMsg({ ok: false, text: errorText(e) });
          } finally {
            setBusy(false);
          }
        }}
      >
        Refresh all
      </button>
      {msg ? (
        <span role="status" class={msg.ok ? 'text-ok' : 'text-bad'}>
          {msg.text}
        </span>
      ) : null}
    </div>
  );
}

interface GridData {
  status: DataStatus;
  settings: SyncSettings;
  connections: Connection[];
  cells: Map<string, Map<string, Cell>>;
}

function Grid({ companyId, data, onChange }: { companyId: string; data: GridData; onChange: () => void }) {
  const order = new Map(data.settings.settings.map((s) => [s.dataType as string, s]));
  const types = Object.keys(data.status).sort((a, b) => (order.get(a)?.syncOrder ?? 99) - (order.get(b)?.syncOrder ?? 99) || a.localeCompare(b));
  const conns = data.connections;
  const now = Date.now();
  if (!conns.length)
    return (
      <section class="card">
        <h2>Freshness</h2>
        <p class="muted">No connection yet. Send the business the link URL above to connect its accounting software.</p>
      </section>
    );
  return (
    <section aria-labelledby="grid-title">
      <h2 id="grid-title">Freshness</h2>
      <p class="legend muted">
        Age of the last successful pull against the type's schedule: <span class="fresh-fresh legend-chip">within schedule</span>{' '}
        <span class="fresh-due legend-chip">overdue</span> <span class="fresh-stale legend-chip">over twice the schedule</span>
      </p>
      <TableWrap label="Freshness by data type and connection">
        <table class="table grid">
          <thead>
            <tr>
              <th scope="col">Data type</th>
              {conns.map((c) => (
                <th scope="col" key={c.id}>
                  <PlatformMark platformKey={c.integrationKey} /> {c.platformName} <Badge status={c.status} />
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {types.map((t) => {
              const setting = order.get(t);
              return (
                <tr key={t}>
                  <th scope="row">
                    {t}
                    <div class="muted small">{setting?.syncSchedule ? `every ${setting.syncSchedule} h` : 'no schedule'}</div>
                  </th>
                  {conns.map((c) => (
                    <GridCell
                      key={c.id}
                      companyId={companyId}
                      connection={c}
                      type={t}
                      cell={data.cells.get(c.id)?.get(t) ?? (conns.length === 1 ? fromStatus(data.status[t]) : {})}
                      setting={setting}
                      now={now}
                      onChange={onChange}
                    />
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableWrap>
    </section>
  );
}

/** With one connection, dataStatus is that connection's state (for types older than the page of history read). */
function fromStatus(s: DataStatus[string] | undefined): Cell {
  return s ? { lastSuccess: s.lastSuccessfulSync, latest: s.currentStatus === 'Initial' ? undefined : ({ status: s.currentStatus } as PullOperation) } : {};
}

function GridCell(props: { companyId: string; connection: Connection; type: string; cell: Cell; setting?: SyncSetting; now: number; onChange: () => void }) {
  const { companyId, connection, type, cell, setting, now } = props;
  const [note, setNote] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const status = cell.latest?.status;
  const running = isInProgress(status);
  useEffect(() => {
    if (!running) setNote(null);
  }, [running]);
  const fresh = freshness(cell.lastSuccess, setting?.syncSchedule, now);
  // The scheduler pulls a type again syncSchedule hours after its last pull ended, whatever the outcome.
  const lastEnded = cell.latest?.completed ?? cell.lastSuccess;
  const nextDue = connection.status === 'Linked' && setting?.syncSchedule && lastEnded && !running ? new Date(Date.parse(lastEnded) + setting.syncSchedule * HOUR).toISOString() : undefined;
  const refresh = async () => {
    setBusy(true);
    setNote(null);
    try {
      await ok(api.POST('/companies/{companyId}/data/queue/{dataType}', { params: { path: { companyId, dataType: type as never }, query: { connectionId: connection.id } } }));
      props.onChange();
    } catch (e) {
      // The in-progress rule is a state, not a failure: show it in the cell.
      if (e instanceof ApiError && /already in progress|still in progress/i.test(e.message)) setNote('Already in progress');
      else setNote(errorText(e));
      props.onChange();
    } finally {
      setBusy(false);
    }
  };
  const label = `${type} on ${connection.platformName}`;
  return (
    <td class={`cell fresh-${fresh}`} data-type={type} data-status={status ?? 'none'}>
      <div class="cell-body">
        <div class="cell-top">
          <Badge status={status}>{status ?? 'Not pulled'}</Badge>
          {running && cell.latest?.progress !== undefined ? (
            <progress max={100} value={cell.latest.progress} aria-label={`${label} progress`}>
              {cell.latest.progress}%
            </progress>
          ) : null}
        </div>
        <span class="small">Last success {cell.lastSuccess ? ago(cell.lastSuccess, now) : 'never'}</span>
        {nextDue ? <span class="small muted">next due {inFuture(nextDue, now)}</span> : null}
        {connection.status === 'Linked' ? (
          <button type="button" class="btn btn-small" disabled={running || busy} onClick={refresh} aria-label={running ? `${label}: in progress` : `Refresh ${label}`}>
            {running ? 'In progress' : busy ? 'Queuing…' : 'Refresh'}
          </button>
        ) : null}
      </div>
      {cell.latest?.errorMessage && !running ? (
        <div class="small text-bad clamp" title={cell.latest.errorMessage}>
          {cell.latest.errorMessage}
        </div>
      ) : null}
      {note ? (
        <div class="small text-info" role="status">
          {note}
        </div>
      ) : null}
    </td>
  );
}

function Connections({ companyId, connections, onChange }: { companyId: string; connections: Connection[]; onChange: () => void }) {
  return (
    <section aria-labelledby="conns-title">
      <h2 id="conns-title">Connections</h2>
      <div class="cards">
        {connections.map((c) => (
          <ConnectionCard key={c.id} companyId={companyId} c={c} onChange={onChange} />
        ))}
        {connections.length === 0 ? <p class="muted">No connections.</p> : null}
      </div>
    </section>
  );
}

function ConnectionCard({ companyId, c, onChange }: { companyId: string; c: Connection; onChange: () => void }) {
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      onChange();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const path = { companyId, connectionId: c.id };
  const activeErrors = (c.dataConnectionErrors ?? []).filter((e) => e.status !== 'Resolved');
  return (
    <article class="card conn-card" aria-label={`${c.platformName} connection`}>
      <header class="conn-head">
        <h3>
          <PlatformMark platformKey={c.integrationKey} size={24} /> {c.platformName}
        </h3>
        <Badge status={c.status} />
      </header>
      <dl class="facts">
        <dt>Connection</dt>
        <dd class="mono small">{c.id}</dd>
        <dt>Created</dt>
        <dd>{fmtDate(c.created)}</dd>
        {c.connectionInfo?.tenantName ? (
          <>
            <dt>Organisation</dt>
            <dd>{c.connectionInfo.tenantName}</dd>
          </>
        ) : null}
        <dt>Refresh token lapses</dt>
        <dd>{c.refreshTokenExpiresAt ? `${fmtDate(c.refreshTokenExpiresAt)} (${inFuture(c.refreshTokenExpiresAt)})` : '—'}</dd>
        <dt>Last keep-alive</dt>
        <dd>{c.lastKeepAlive ? ago(c.lastKeepAlive) : '—'}</dd>
      </dl>
      {activeErrors.map((e, i) => (
        <p key={i} class="text-bad small">
          {e.errorMessage ?? e.statusText}
        </p>
      ))}
      <div class="row wrap">
        {c.status === 'Linked' ? (
          <button type="button" class="btn" onClick={() => act(() => ok(api.PATCH('/companies/{companyId}/connections/{connectionId}', { params: { path }, body: { status: 'Unlinked' } })))}>
            Unlink
          </button>
        ) : (
          <a class="btn" href={c.linkUrl} target="_blank" rel="noopener">
            {c.status === 'PendingAuth' ? 'Open link page' : 'Re-link'}
          </a>
        )}
        {confirmDelete ? (
          <>
            <button type="button" class="btn btn-danger" onClick={() => act(() => ok(api.DELETE('/companies/{companyId}/connections/{connectionId}', { params: { path } })))}>
              Confirm delete
            </button>
            <button type="button" class="btn btn-ghost" onClick={() => setConfirmDelete(false)}>
              Cancel
            </button>
          </>
        ) : (
          <button type="button" class="btn btn-ghost text-bad" onClick={() => setConfirmDelete(true)}>
            Delete…
          </button>
        )}
      </div>
      {c.status !== 'Linked' ? (
        <div class="small">
          Link URL: <CopyButton text={c.linkUrl} label="Copy" />
        </div>
      ) : null}
      {error ? (
        <p class="field-error" role="alert">
          {error}
        </p>
      ) : null}
    </article>
  );
}

function SettingsEditor({ companyId, settings, onSaved }: { companyId: string; settings: SyncSettings; onSaved: () => void }) {
  const [rows, setRows] = useState<SyncSetting[]>(settings.settings);
  const [open, setOpen] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    if (!open) setRows(settings.settings);
  }, [settings, open]);
  const set = (i: number, patch: Partial<SyncSetting>) => setRows((r) => r.map((s, j) => (j === i ? { ...s, ...patch } : s)));
  const statements = new Set(['balanceSheet', 'profitAndLoss', 'cashFlowStatement']);
  return (
    <section aria-labelledby="settings-title" class="card">
      <div class="row between">
        <h2 id="settings-title">Sync settings</h2>
        <button type="button" class="btn" aria-expanded={open} aria-controls="settings-form" onClick={() => setOpen(!open)}>
          {open ? 'Close' : 'Edit'}
        </button>
      </div>
      <p class="muted small">
        {settings.overridesDefaults ? 'This company overrides the profile defaults.' : 'This company uses the profile defaults.'} A type is pulled again its schedule's hours
        after its last pull ended; 0 = never.
      </p>
      {open ? (
        <form
          id="settings-form"
          onSubmit={async (e) => {
            e.preventDefault();
            setMsg(null);
            try {
              await ok(api.POST('/companies/{companyId}/syncSettings', { params: { path: { companyId } }, body: { companyId, overridesDefaults: true, settings: rows } }));
              setMsg({ ok: true, text: 'Saved. The scheduler applies it at its next tick.' });
              onSaved();
            } catch (err) {
              setMsg({ ok: false, text: errorText(err) });
            }
          }}
        >
          <TableWrap label="Sync settings">
            <table class="table compact">
              <thead>
                <tr>
                  <th scope="col">Data type</th>
                  <th scope="col">Schedule (hours)</th>
                  <th scope="col">Fetch on link</th>
                  <th scope="col">Months to sync</th>
                  <th scope="col">Sync from (UTC)</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((s, i) => (
                  <tr key={s.dataType}>
                    <th scope="row">
                      {s.dataType}
                      {s.isLocked ? <span class="muted small"> (locked)</span> : null}
                    </th>
                    <td>
                      <input
                        type="number"
                        min={0}
                        max={8760}
                        class="num"
                        aria-label={`${s.dataType} schedule in hours`}
                        value={s.syncSchedule}
                        disabled={s.isLocked}
                        onInput={(e) => set(i, { syncSchedule: Number((e.currentTarget as HTMLInputElement).value) })}
                      />
                    </td>
                    <td>
                      <input type="checkbox" aria-label={`${s.dataType} fetch on first link`} checked={s.fetchOnFirstLink} disabled={s.isLocked} onChange={(e) => set(i, { fetchOnFirstLink: (e.currentTarget as HTMLInputElement).checked })} />
                    </td>
                    <td>
                      {statements.has(s.dataType) ? (
                        <input
                          type="number"
                          min={1}
                          max={120}
                          class="num"
                          aria-label={`${s.dataType} months to sync`}
                          value={s.monthsToSync ?? ''}
                          placeholder="24"
                          disabled={s.isLocked}
                          onInput={(e) => {
                            const v = (e.currentTarget as HTMLInputElement).value;
                            set(i, { monthsToSync: v === '' ? undefined : Number(v) });
                          }}
                        />
                      ) : (
                        <span class="muted">—</span>
                      )}
                    </td>
                    <td>
                      <input
                        type="date"
                        aria-label={`${s.dataType} sync from date`}
                        value={s.syncFromUtc ? s.syncFromUtc.slice(0, 10) : ''}
                        disabled={s.isLocked}
                        onInput={(e) => {
                          const v = (e.currentTarget as HTMLInputElement).value;
                          set(i, { syncFromUtc: v ? `${v}T00:00:00.000Z` : undefined });
                        }}
                      />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
          <div class="row">
            <button type="submit" class="btn btn-primary">
              Save settings
            </button>
            {msg ? (
              <span role="status" class={msg.ok ? 'text-ok' : 'text-bad'}>
                {msg.text}
              </span>
            ) : null}
          </div>
        </form>
      ) : msg ? (
        <p role="status" class={msg.ok ? 'text-ok' : 'text-bad'}>
          {msg.text}
        </p>
      ) : null}
    </section>
  );
}
