import { useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { api, ok, type PullOperation } from '../api/client';
import { BarLineChart } from '../components/chart';
import { Badge, duration, ErrorBox, fmtDate, fmtNum, Loading, PageHeader, Pager, TableWrap, useAsync, useInterval, isInProgress } from '../components/ui';
import { CompanyTabs } from './company-tabs';

const PAGE_SIZE = 50;
const STATUSES = ['Complete', 'Queued', 'Fetching', 'Processing', 'FetchError', 'MapError', 'AuthError', 'RateLimitError', 'PermissionsError', 'InternalError', 'ProcessingError', 'Cancelled', 'NotSupported'];

const took = (op: PullOperation) => (op.completed ? Date.parse(op.completed) - Date.parse(op.requested) : undefined);

/** The query-language filter of the form's fields; values are quoted by the API's rules (no spaces needed here). */
function buildQuery(f: { status: string; dataType: string; errored: boolean; extra: string }): string {
  const parts: string[] = [];
  if (f.status) parts.push(`status=${f.status}`);
  if (f.dataType) parts.push(`dataType=${f.dataType}`);
  if (f.errored) parts.push('isErrored=true');
  if (f.extra.trim()) parts.push(`{${f.extra.trim()}}`);
  return parts.join('&&');
}

export function History() {
  const { params } = useRoute();
  const loc = useLocation();
  const id = params.id!;
  const q = loc.query;
  const page = Math.max(1, Number(q.page ?? 1) || 1);
  const filters = { status: q.status ?? '', dataType: q.dataType ?? '', errored: q.errored === '1', extra: q.extra ?? '' };
  const [draft, setDraft] = useState(filters);
  const [open, setOpen] = useState<string | null>(q.open ?? null);
  const go = (p: number, f: typeof filters) => {
    const sp = new URLSearchParams();
    if (f.status) sp.set('status', f.status);
    if (f.dataType) sp.set('dataType', f.dataType);
    if (f.errored) sp.set('errored', '1');
    if (f.extra) sp.set('extra', f.extra);
    sp.set('page', String(p));
    loc.route(`/app/companies/${id}/history?${sp}`);
  };
  const company = useAsync(() => ok(api.GET('/companies/{companyId}', { params: { path: { companyId: id } } })), [id]);
  const types = useAsync(() => ok(api.GET('/companies/{companyId}/dataStatus', { params: { path: { companyId: id } } })).then((s) => Object.keys(s).sort()), [id]);
  const query = buildQuery(filters);
  const list = useAsync(
    () => ok(api.GET('/companies/{companyId}/data/history', { params: { path: { companyId: id }, query: { page, pageSize: PAGE_SIZE, orderBy: '-requested', ...(query ? { query } : {}) } } })),
    [id, page, query],
  );
  const running = list.data?.results.some((op) => isInProgress(op.status));
  useInterval(() => void list.reload(true), running ? 2000 : 0);
  const points = (list.data?.results ?? [])
    .filter((op) => op.completed)
    .map((op) => ({
      at: Date.parse(op.requested),
      bar: took(op)! / 1000,
      line: (op.recordsAdded ?? 0) + (op.recordsUpdated ?? 0) + (op.recordsDeleted ?? 0),
      tone: op.isErrored ? ('bad' as const) : ('ok' as const),
    }));
  const selected = list.data?.results.find((op) => op.id === open);
  return (
    <main id="main" class="container">
      <CompanyTabs id={id} name={company.data?.name} />
      <PageHeader title="Pull history" sub="Every pull of this company, newest first." />
      <form
        class="filters card"
        onSubmit={(e) => {
          e.preventDefault();
          go(1, draft);
        }}
      >
        <div>
          <label for="f-status">Status</label>
          <select id="f-status" value={draft.status} onChange={(e) => setDraft({ ...draft, status: (e.currentTarget as HTMLSelectElement).value })}>
            <option value="">Any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </div>
        <div>
          <label for="f-type">Data type</label>
          <select id="f-type" value={draft.dataType} onChange={(e) => setDraft({ ...draft, dataType: (e.currentTarget as HTMLSelectElement).value })}>
            <option value="">Any</option>
            {(types.data ?? []).map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </div>
        <div class="check">
          <input id="f-errored" type="checkbox" checked={draft.errored} onChange={(e) => setDraft({ ...draft, errored: (e.currentTarget as HTMLInputElement).checked })} />
          <label for="f-errored">Failed only</label>
        </div>
        <div class="grow">
          <label for="f-extra">More (query language)</label>
          <input id="f-extra" class="mono" placeholder="requested>=2026-01-01" value={draft.extra} onInput={(e) => setDraft({ ...draft, extra: (e.currentTarget as HTMLInputElement).value })} />
        </div>
        <button class="btn btn-primary" type="submit">
          Apply
        </button>
      </form>
      <ErrorBox error={list.error} title="Could not read the history" />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data ? (
        <>
          <section class="card" aria-labelledby="chart-title">
            <h2 id="chart-title">Duration and records changed (this page)</h2>
            <BarLineChart points={points} title="Pull durations and records changed" barLabel="duration (s)" lineLabel="records added+updated+deleted" barFormat={(n) => duration(n * 1000)} lineFormat={(n) => fmtNum(Math.round(n))} />
          </section>
          {selected ? <PullDetail op={selected} onClose={() => setOpen(null)} /> : null}
          <TableWrap label="Pull operations">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">Requested</th>
                  <th scope="col">Data type</th>
                  <th scope="col">Status</th>
                  <th scope="col">Duration</th>
                  <th scope="col" class="num">Added</th>
                  <th scope="col" class="num">Updated</th>
                  <th scope="col" class="num">Deleted</th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {list.data.results.length === 0 ? (
                  <tr>
                    <td colSpan={8} class="empty">
                      No pulls match.
                    </td>
                  </tr>
                ) : null}
                {list.data.results.map((op) => {
                  const d = took(op);
                  return (
                    <tr key={op.id} data-status={op.status}>
                      <td>
                        <button type="button" class="linkish" onClick={() => setOpen(op.id)} aria-label={`Details of the ${op.dataType} pull requested ${fmtDate(op.requested)}`}>
                          {fmtDate(op.requested)}
                        </button>
                      </td>
                      <td>{op.dataType}</td>
                      <td>
                        <Badge status={op.status} />
                        {isInProgress(op.status) ? <span class="small muted"> {op.progress}%</span> : null}
                      </td>
                      <td>{d === undefined ? '—' : duration(d)}</td>
                      <td class="num">{fmtNum(op.recordsAdded)}</td>
                      <td class="num">{fmtNum(op.recordsUpdated)}</td>
                      <td class="num">{fmtNum(op.recordsDeleted)}</td>
                      <td class="error-cell">
                        {op.errorMessage ? (
                          <button type="button" class="linkish text-bad clamp" onClick={() => setOpen(op.id)}>
                            {op.errorMessage}
                          </button>
                        ) : null}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
          <Pager page={page} pageSize={PAGE_SIZE} total={list.data.totalResults} onPage={(p) => go(p, filters)} label="pulls" />
        </>
      ) : null}
    </main>
  );
}

function PullDetail({ op, onClose }: { op: PullOperation; onClose: () => void }) {
  return (
    <section class="card detail" aria-labelledby="pull-detail-title" tabIndex={-1} ref={(el) => el?.focus()}>
      <div class="row between">
        <h2 id="pull-detail-title">
          {op.dataType} pull <Badge status={op.status} />
        </h2>
        <button type="button" class="btn btn-ghost" onClick={onClose}>
          Close
        </button>
      </div>
      <dl class="facts">
        <dt>Pull id</dt>
        <dd class="mono">{op.id}</dd>
        <dt>Connection</dt>
        <dd class="mono">{op.connectionId}</dd>
        <dt>Requested</dt>
        <dd>{fmtDate(op.requested)}</dd>
        <dt>Completed</dt>
        <dd>{fmtDate(op.completed)}</dd>
        {op.statusDescription ? (
          <>
            <dt>Status detail</dt>
            <dd>{op.statusDescription}</dd>
          </>
        ) : null}
      </dl>
      {op.errorMessage ? (
        <>
          <h3>Error</h3>
          <pre class="error-text">{op.errorMessage}</pre>
        </>
      ) : null}
    </section>
  );
}
