import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ok, type Company, type DataStatus } from '../api/client';
import { ago, Badge, CopyButton, PlatformMark, ErrorBox, errorText, inFuture, Loading, PageHeader, Pager, TableWrap, useAsync } from '../components/ui';

const PAGE_SIZE = 20;
/** Refresh tokens lapsing within this are flagged. */
const TOKEN_WARN_MS = 14 * 86_400_000;

interface Row {
  company: Company;
  status?: DataStatus;
  statusError?: string;
}

/** The stalest data type: one that never completed (but was pulled), else the oldest lastSuccessfulSync. */
export function stalest(status: DataStatus | undefined): { type: string; at?: string } | undefined {
  if (!status) return undefined;
  let worst: { type: string; at?: string } | undefined;
  for (const [type, s] of Object.entries(status)) {
    if (s.currentStatus === 'NotSupported') continue;
    if (!s.lastSuccessfulSync) {
      if (s.currentStatus !== 'Initial') return { type };
      continue;
    }
    if (!worst || (worst.at && s.lastSuccessfulSync < worst.at)) worst = { type, at: s.lastSuccessfulSync };
  }
  return worst;
}

function lastError(row: Row): string | undefined {
  for (const c of row.company.dataConnections ?? []) {
    const active = (c.dataConnectionErrors ?? []).filter((e) => e.status !== 'Resolved');
    const e = active[active.length - 1];
    if (e) return `${c.platformName}: ${e.errorMessage ?? e.statusText ?? 'error'}`;
  }
  const failed = Object.entries(row.status ?? {}).filter(([, s]) => /Error$/.test(s.currentStatus));
  if (failed.length) return failed.map(([t, s]) => `${t}: ${s.currentStatus}`).slice(0, 2).join(', ') + (failed.length > 2 ? ` +${failed.length - 2}` : '');
  return row.statusError;
}

function tokenCell(company: Company) {
  const linked = (company.dataConnections ?? []).filter((c) => c.status === 'Linked' && c.refreshTokenExpiresAt);
  if (!linked.length) return <span class="muted">—</span>;
  const soonest = linked.map((c) => c.refreshTokenExpiresAt!).sort()[0]!;
  const left = Date.parse(soonest) - Date.now();
  return left < TOKEN_WARN_MS ? <Badge status="Deauthorized">lapses {inFuture(soonest)}</Badge> : <span>{inFuture(soonest)}</span>;
}

export function Companies() {
  const loc = useLocation();
  const page = Math.max(1, Number(loc.query.page ?? 1) || 1);
  const query = loc.query.query ?? '';
  const [draft, setDraft] = useState(query);
  const go = (p: number, q: string) => loc.route(`/app/companies?${new URLSearchParams({ ...(q ? { query: q } : {}), page: String(p) })}`);

  const list = useAsync(async () => {
    const res = await ok(api.GET('/companies', { params: { query: { page, pageSize: PAGE_SIZE, ...(query ? { query } : {}), orderBy: '-created' } } }));
    // Only the companies on this page: one dataStatus call each, in parallel.
    const rows: Row[] = await Promise.all(
      res.results.map(async (company) => {
        try {
          const status = await ok(api.GET('/companies/{companyId}/dataStatus', { params: { path: { companyId: company.id } } }));
          return { company, status };
        } catch (e) {
          return { company, statusError: errorText(e) };
        }
      }),
    );
    return { rows, total: res.totalResults };
  }, [page, query]);

  return (
    <main id="main" class="container">
      <PageHeader title="Companies" sub="Every company, its connections and how fresh its data is." />
      <CreateCompany onCreated={() => list.reload(true)} />
      <form
        class="searchbar"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          go(1, draft.trim());
        }}
      >
        <label for="company-query">Filter (query language)</label>
        <div class="row">
          <input
            id="company-query"
            class="mono"
            placeholder="name~Acme"
            value={draft}
            onInput={(e) => setDraft((e.currentTarget as HTMLInputElement).value)}
            aria-describedby="company-query-help"
            aria-invalid={list.error ? 'true' : undefined}
          />
          <button class="btn" type="submit">
            Search
          </button>
        </div>
        <p id="company-query-help" class="hint">
          e.g. <code>name~Acme</code>, <code>{'{name~a||name~b}'}</code>. Lists are paged on the server.
        </p>
      </form>
      <ErrorBox error={list.error} title="Could not list companies" />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data ? (
        <>
          <TableWrap label="Companies">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">Company</th>
                  <th scope="col">Connections</th>
                  <th scope="col">Stalest data</th>
                  <th scope="col">Refresh token</th>
                  <th scope="col">Last error</th>
                  <th scope="col">Link URL</th>
                </tr>
              </thead>
              <tbody>
                {list.data.rows.length === 0 ? (
                  <tr>
                    <td colSpan={6} class="empty">
                      No companies{query ? ' match this filter' : ' yet: create one above'}.
                    </td>
                  </tr>
                ) : null}
                {list.data.rows.map((row) => {
                  const s = stalest(row.status);
                  const err = lastError(row);
                  return (
                    <tr key={row.company.id}>
                      <td>
                        <a href={`/app/companies/${row.company.id}`} class="strong">
                          {row.company.name}
                        </a>
                      </td>
                      <td>
                        {(row.company.dataConnections ?? []).length === 0 ? <span class="muted">none</span> : null}
                        {(row.company.dataConnections ?? []).map((c) => (
                          <div key={c.id} class="conn-line">
                            <PlatformMark platformKey={c.integrationKey} /> {c.platformName} <Badge status={c.status} />
                          </div>
                        ))}
                      </td>
                      <td>{s ? <span>{s.type} · {s.at ? ago(s.at) : <Badge status="FetchError">never completed</Badge>}</span> : <span class="muted">—</span>}</td>
                      <td>{tokenCell(row.company)}</td>
                      <td class="error-cell">{err ? <span class="text-bad">{err}</span> : <span class="muted">none</span>}</td>
                      <td>
                        <CopyButton text={row.company.redirect} label="Copy link" />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
          <Pager page={page} pageSize={PAGE_SIZE} total={list.data.total} onPage={(p) => go(p, query)} label="companies" />
        </>
      ) : null}
    </main>
  );
}

function CreateCompany({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<Company | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <section class="card" aria-labelledby="create-company">
      <h2 id="create-company">Create a company</h2>
      <form
        class="row"
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            const c = await ok(api.POST('/companies', { body: { name: name.trim() } }));
            setCreated(c);
            setName('');
            onCreated();
          } catch (err) {
            setError(errorText(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <label class="sr-only" for="new-company-name">
          Company name
        </label>
        <input id="new-company-name" placeholder="Company name" value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
        <button class="btn btn-primary" type="submit" disabled={busy || !name.trim()}>
          Create
        </button>
      </form>
      {error ? (
        <p class="field-error" role="alert">
          {error}
        </p>
      ) : null}
      {created ? (
        <div class="created" role="status">
          <p>
            Created <a href={`/app/companies/${created.id}`}>{created.name}</a>. Send the business this link to connect its accounting software:
          </p>
          <CopyButton text={created.redirect} label="Copy link URL" />
        </div>
      ) : null}
    </section>
  );
}
