import { useEffect, useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { ApiError, api, getRecord, getStatement, listRecords, ok, RECORD_TYPES, STATEMENTS, type RecordType, type Statement } from '../api/client';
import { ErrorBox, errorText, Loading, PageHeader, Pager, TableWrap, useAsync } from '../components/ui';
import { CompanyTabs } from './company-tabs';

const PAGE_SIZE = 50;
const DEFAULT_COLUMNS: Record<string, string[]> = {
  invoices: ['invoiceNumber', 'customerRef.customerName', 'issueDate', 'dueDate', 'totalAmount', 'amountDue', 'status', 'modifiedDate'],
  bills: ['reference', 'supplierRef.supplierName', 'issueDate', 'dueDate', 'totalAmount', 'amountDue', 'status', 'modifiedDate'],
  creditNotes: ['creditNoteNumber', 'customerRef.customerName', 'issueDate', 'totalAmount', 'status'],
  payments: ['date', 'customerRef.customerName', 'totalAmount', 'currency', 'modifiedDate'],
  billPayments: ['date', 'supplierRef.supplierName', 'totalAmount', 'currency', 'modifiedDate'],
  customers: ['customerName', 'emailAddress', 'status', 'modifiedDate'],
  suppliers: ['supplierName', 'emailAddress', 'status', 'modifiedDate'],
  accounts: ['nominalCode', 'name', 'type', 'status', 'currentBalance'],
};

/** Dotted path lookup; objects and arrays render as compact JSON. */
function cell(rec: Record<string, unknown>, path: string): string {
  let v: unknown = rec;
  for (const k of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Column candidates from the records on screen: top-level scalars and one level into objects (customerRef.id…). */
function columnsOf(rows: Record<string, unknown>[]): string[] {
  const out = new Set<string>();
  for (const r of rows.slice(0, 20))
    for (const [k, v] of Object.entries(r)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k2, v2] of Object.entries(v)) if (typeof v2 !== 'object') out.add(`${k}.${k2}`);
      if (!v || typeof v !== 'object') out.add(k);
    }
  return [...out];
}

export function Records() {
  const { params } = useRoute();
  const loc = useLocation();
  const id = params.id!;
  const type = (params.type ?? 'invoices') as RecordType | Statement;
  const isStatement = (STATEMENTS as readonly string[]).includes(type);
  const company = useAsync(() => ok(api.GET('/companies/{companyId}', { params: { path: { companyId: id } } })), [id]);
  // Connection-only types are read from the company's most recently linked connection (the API's current one).
  const current = (company.data?.dataConnections ?? [])
    .slice()
    .sort((a, b) => Number(b.status === 'Linked') - Number(a.status === 'Linked') || (b.created ?? '').localeCompare(a.created ?? ''))[0]?.id;
  return (
    <main id="main" class="container">
      <CompanyTabs id={id} name={company.data?.name} />
      <PageHeader title="Records" sub="The cached data, read through the same list endpoints as any client.">
        <label for="type-pick" class="inline-label">
          Data type
        </label>
        <select id="type-pick" value={type} onChange={(e) => loc.route(`/app/companies/${id}/records/${(e.currentTarget as HTMLSelectElement).value}`)}>
          <optgroup label="Records">
            {RECORD_TYPES.map((t) => (
              <option key={t.segment} value={t.segment}>
                {t.segment}
                {t.connectionOnly ? ' (per connection)' : ''}
              </option>
            ))}
          </optgroup>
          <optgroup label="Financial statements">
            {STATEMENTS.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </optgroup>
        </select>
      </PageHeader>
      {isStatement ? <StatementView companyId={id} kind={type as Statement} /> : company.data ? <RecordList key={type} companyId={id} type={type as RecordType} connectionId={current} /> : <Loading />}
    </main>
  );
}

function RecordList({ companyId, type, connectionId }: { companyId: string; type: RecordType; connectionId: string | undefined }) {
  const loc = useLocation();
  const q = loc.query;
  const page = Math.max(1, Number(q.page ?? 1) || 1);
  const userQuery = q.query ?? '';
  const showDeleted = q.deleted === '1';
  const orderBy = q.orderBy ?? '';
  const [draft, setDraft] = useState(userQuery);
  const [cols, setCols] = useState<string[] | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const go = (p: number, over: { query?: string; deleted?: boolean; orderBy?: string } = {}) => {
    const sp = new URLSearchParams();
    const nq = over.query ?? userQuery;
    if (nq) sp.set('query', nq);
    if (over.deleted ?? showDeleted) sp.set('deleted', '1');
    const ob = over.orderBy ?? orderBy;
    if (ob) sp.set('orderBy', ob);
    sp.set('page', String(p));
    loc.route(`/app/companies/${companyId}/records/${type}?${sp}`);
  };
  // Deleted records are hidden by adding the indexed filter metadata.isDeleted!=true to the user's query.
  const query = [userQuery ? `{${userQuery}}` : '', showDeleted ? '' : 'metadata.isDeleted!=true'].filter(Boolean).join('&&');
  const list = useAsync(
    () => listRecords(companyId, type, { page, pageSize: PAGE_SIZE, ...(query ? { query } : {}), ...(orderBy ? { orderBy } : {}) }, connectionId),
    [companyId, type, page, query, orderBy, connectionId],
  );
  const queryError = list.error instanceof ApiError && list.error.status === 400 ? list.error : undefined;
  const rows = list.data?.results ?? [];
  const available = columnsOf(rows);
  const shown = cols ?? (DEFAULT_COLUMNS[type]?.filter((c) => available.includes(c) || !rows.length) ?? available.filter((c) => !c.startsWith('metadata.')).slice(0, 7));
  const visible = ['id', ...shown.filter((c) => c !== 'id')];
  return (
    <>
      <form
        class="card filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          go(1, { query: draft.trim() });
        }}
      >
        <div class="grow">
          <label for="records-query">Query</label>
          <input
            id="records-query"
            class="mono"
            value={draft}
            placeholder="totalAmount>1000&&status!=Paid"
            onInput={(e) => setDraft((e.currentTarget as HTMLInputElement).value)}
            aria-invalid={queryError ? 'true' : undefined}
            aria-describedby={queryError ? 'records-query-error' : 'records-query-help'}
          />
          {queryError ? (
            <p id="records-query-error" class="field-error" role="alert">
              {queryError.detail}
            </p>
          ) : (
            <p id="records-query-help" class="hint">
              Operators <code>= != ~ &gt; &lt; &gt;= &lt;=</code>, <code>&amp;&amp;</code>, <code>||</code>, <code>{'{ }'}</code>; dotted paths like <code>customerRef.id</code>.
            </p>
          )}
        </div>
        <div>
          <label for="records-order">Order by</label>
          <input
            id="records-order"
            class="mono short"
            placeholder="-modifiedDate"
            value={orderBy}
            aria-describedby="records-order-help"
            onChange={(e) => go(1, { orderBy: (e.currentTarget as HTMLInputElement).value.trim() })}
          />
          {/* Indexed orders (records.repository INDEXED_ORDERS, docs/api.md); any other order sorts every match, so the API serves it for at most 10,000 (by totalAmount over 1,000,000 invoices took 28 s). */}
          <p id="records-order-help" class="hint">
            Indexed: <code>id</code>, <code>modifiedDate</code>, <code>sourceModifiedDate</code>. Others need a query matching at most 10,000 records.
          </p>
        </div>
        <div class="check">
          <input id="show-deleted" type="checkbox" checked={showDeleted} onChange={(e) => go(1, { deleted: (e.currentTarget as HTMLInputElement).checked })} />
          <label for="show-deleted">Show deleted</label>
        </div>
        <button type="submit" class="btn btn-primary">
          Search
        </button>
      </form>
      {available.length ? (
        <details class="colpicker">
          <summary>Columns ({visible.length})</summary>
          <fieldset>
            <legend class="sr-only">Columns to show</legend>
            {available.map((c) => (
              <label key={c} class="check">
                <input
                  type="checkbox"
                  checked={visible.includes(c)}
                  disabled={c === 'id'}
                  onChange={(e) => {
                    const on = (e.currentTarget as HTMLInputElement).checked;
                    setCols(on ? [...shown, c] : shown.filter((x) => x !== c));
                  }}
                />
                {c}
              </label>
            ))}
          </fieldset>
        </details>
      ) : null}
      {list.error && !queryError ? <ErrorBox error={list.error} title={`Could not read ${type}`} /> : null}
      {list.loading && !list.data ? <Loading /> : null}
      {open ? <RecordDetail companyId={companyId} type={type} id={open} connectionId={connectionId} onClose={() => setOpen(null)} /> : null}
      {list.data && !list.error ? (
        <>
          <TableWrap label={`${type} records`}>
            <table class="table records">
              <thead>
                <tr>
                  {visible.map((c) => (
                    <th scope="col" key={c}>
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.length === 0 ? (
                  <tr>
                    <td colSpan={visible.length} class="empty">
                      No records match.
                    </td>
                  </tr>
                ) : null}
                {rows.map((r) => {
                  const deleted = (r.metadata as { isDeleted?: boolean } | undefined)?.isDeleted;
                  return (
                    <tr key={String(r.id)} class={deleted ? 'deleted' : undefined}>
                      {visible.map((c) =>
                        c === 'id' ? (
                          <td key={c}>
                            <button type="button" class="linkish mono" onClick={() => setOpen(String(r.id))}>
                              {String(r.id).slice(0, 13)}
                            </button>
                            {deleted ? <span class="badge badge-bad">deleted</span> : null}
                          </td>
                        ) : (
                          <td key={c} class="clip">
                            {cell(r, c)}
                          </td>
                        ),
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
          <Pager page={page} pageSize={PAGE_SIZE} total={list.data.totalResults} onPage={(p) => go(p)} label={type} />
        </>
      ) : null}
    </>
  );
}

function RecordDetail({ companyId, type, id, connectionId, onClose }: { companyId: string; type: RecordType; id: string; connectionId: string | undefined; onClose: () => void }) {
  const rec = useAsync(() => getRecord(companyId, type, id, connectionId), [companyId, type, id, connectionId]);
  return (
    <section class="card detail" aria-labelledby="record-title" tabIndex={-1} ref={(el) => el?.focus()}>
      <div class="row between">
        <h2 id="record-title">
          {type} <span class="mono small">{id}</span>
        </h2>
        <button type="button" class="btn btn-ghost" onClick={onClose}>
          Close
        </button>
      </div>
      <ErrorBox error={rec.error} />
      {rec.data ? (
        <pre class="json" tabIndex={0} aria-label="Record JSON">
          {JSON.stringify(rec.data, null, 2)}
        </pre>
      ) : (
        <Loading />
      )}
    </section>
  );
}

interface Line {
  name?: string | null;
  value: number;
  items?: Line[] | null;
}

/** Rows of a statement: every line of every section, in the first period's order, matched by name path. */
function statementRows(reports: Record<string, any>[], sections: string[]) {
  const rows: { key: string; label: string; depth: number; values: (number | undefined)[]; total?: boolean }[] = [];
  const find = (r: Record<string, any>, path: string[]): Line | undefined => {
    let cur: Line | undefined = r[path[0]!];
    for (const n of path.slice(1)) cur = cur?.items?.find((i) => i.name === n);
    return cur;
  };
  const walk = (line: Line, path: string[], depth: number) => {
    rows.push({ key: path.join('/'), label: depth === 0 ? path[0]! : line.name ?? '', depth, values: reports.map((r) => find(r, path)?.value), total: depth === 0 });
    for (const c of line.items ?? []) walk(c, [...path, c.name ?? ''], depth + 1);
  };
  for (const s of sections) {
    const first = reports.find((r) => r[s]);
    if (first) walk(first[s], [s], 0);
  }
  return rows;
}

function StatementView({ companyId, kind }: { companyId: string; kind: Statement }) {
  const [periodLength, setPeriodLength] = useState(1);
  const [periods, setPeriods] = useState(6);
  const st = useAsync(() => getStatement(companyId, kind, periodLength, periods), [companyId, kind, periodLength, periods]);
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => setErr(st.error ? errorText(st.error) : null), [st.error]);
  const reports: Record<string, any>[] = st.data?.reports ?? [];
  const sections = kind === 'profitAndLoss' ? ['income', 'costOfSales', 'expenses', 'otherIncome', 'otherExpenses'] : kind === 'balanceSheet' ? ['assets', 'liabilities', 'equity'] : ['cashReceipts', 'cashPayments'];
  const totals = kind === 'profitAndLoss' ? ['grossProfit', 'netOperatingProfit', 'netOtherIncome', 'netProfit'] : kind === 'balanceSheet' ? ['netAssets'] : [];
  const rows = statementRows(reports, sections);
  const money = (n: number | undefined) => (n === undefined ? '' : n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
  return (
    <>
      <div class="card filters">
        <div>
          <label for="period-length">Months per period</label>
          <input id="period-length" type="number" class="num" min={1} max={12} value={periodLength} onChange={(e) => setPeriodLength(Number((e.currentTarget as HTMLInputElement).value) || 1)} />
        </div>
        <div>
          <label for="periods">Periods</label>
          <input id="periods" type="number" class="num" min={1} max={120} value={periods} onChange={(e) => setPeriods(Number((e.currentTarget as HTMLInputElement).value) || 1)} />
        </div>
        {st.data?.currency ? <p class="muted">Currency {st.data.currency}</p> : null}
      </div>
      {err ? (
        <p class="alert alert-error" role="alert">
          {err}
        </p>
      ) : null}
      {st.loading && !st.data ? <Loading /> : null}
      {st.data && !err ? (
        <TableWrap label={`${kind} table`}>
          <table class="table statement">
            <thead>
              <tr>
                <th scope="col">Line</th>
                {reports.map((r, i) => (
                  <th scope="col" class="num" key={i}>
                    {r.date ? String(r.date).slice(0, 10) : `${String(r.fromDate).slice(0, 7)} → ${String(r.toDate).slice(0, 7)}`}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.key} class={row.total ? 'section' : undefined}>
                  <th scope="row" style={{ paddingLeft: `${0.75 + row.depth * 1.1}rem` }}>
                    {row.label}
                  </th>
                  {row.values.map((v, i) => (
                    <td class="num" key={i}>
                      {money(v)}
                    </td>
                  ))}
                </tr>
              ))}
              {totals.map((t) => (
                <tr key={t} class="total">
                  <th scope="row">{t}</th>
                  {reports.map((r, i) => (
                    <td class="num" key={i}>
                      {money(r[t])}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
    </>
  );
}
