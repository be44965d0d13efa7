import { useState } from 'preact/hooks';
import { api, ok, type Webhook } from '../api/client';
import { Badge, ErrorBox, errorText, fmtDate, Loading, PageHeader, Pager, TableWrap, useAsync, useInterval } from '../components/ui';

const EVENT_TYPES = [
  'read.completed',
  'company.created',
  'company.deleted',
  'connection.created',
  'connection.connected',
  'connection.disconnected',
  'connection.reconnected',
  'connection.failed',
  'connection.deleted',
];
const PAGE_SIZE = 25;

export function Webhooks() {
  const list = useAsync(() => ok(api.GET('/webhooks')).then((r) => r.results), []);
  const [selected, setSelected] = useState<string | null>(null);
  const current = list.data?.find((w) => w.id === selected) ?? list.data?.[0];
  return (
    <main id="main" class="container">
      <PageHeader title="Webhooks" sub="Consumers, what they receive, and what their endpoints answered." />
      <CreateWebhook onCreated={(id) => {
        setSelected(id);
        void list.reload(true);
      }} />
      <ErrorBox error={list.error} title="Could not list webhooks" />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data ? (
        <section aria-labelledby="consumers-title">
          <h2 id="consumers-title">Consumers</h2>
          {list.data.length === 0 ? <p class="muted">No consumers yet.</p> : null}
          <div class="cards">
            {list.data.map((w) => (
              <Consumer key={w.id} w={w} selected={current?.id === w.id} onSelect={() => setSelected(w.id)} onDeleted={() => list.reload(true)} />
            ))}
          </div>
        </section>
      ) : null}
      {current ? <DeliveryLog key={current.id} webhook={current} /> : null}
    </main>
  );
}

function CreateWebhook({ onCreated }: { onCreated: (id: string) => void }) {
  const [url, setUrl] = useState('');
  const [types, setTypes] = useState<string[]>(['read.completed']);
  const [tags, setTags] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  return (
    <details class="card">
      <summary>
        <h2 class="inline">Add a consumer</h2>
      </summary>
      <form
        class="stack"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          try {
            const companyTags = tags.split(',').map((t) => t.trim()).filter(Boolean);
            const w = await ok(api.POST('/webhooks', { body: { url: url.trim(), eventTypes: types, ...(companyTags.length ? { companyTags } : {}) } }));
            setSecret((w as Webhook).signingSecret ?? null);
            setUrl('');
            onCreated(w.id);
          } catch (err) {
            setError(errorText(err));
          }
        }}
      >
        <label for="wh-url">Endpoint URL</label>
        <input id="wh-url" type="url" placeholder="https://example.com/syncline" value={url} onInput={(e) => setUrl((e.currentTarget as HTMLInputElement).value)} />
        <fieldset>
          <legend>Events</legend>
          <div class="checks">
            {EVENT_TYPES.map((t) => (
              <label key={t} class="check">
                <input type="checkbox" checked={types.includes(t)} onChange={(e) => setTypes((e.currentTarget as HTMLInputElement).checked ? [...types, t] : types.filter((x) => x !== t))} />
                {t}
              </label>
            ))}
          </div>
        </fieldset>
        <label for="wh-tags">Company tags (optional, comma-separated key:value)</label>
        <input id="wh-tags" placeholder="region:eu" value={tags} onInput={(e) => setTags((e.currentTarget as HTMLInputElement).value)} />
        <div>
          <button type="submit" class="btn btn-primary" disabled={!url.trim() || !types.length}>
            Add consumer
          </button>
        </div>
        {error ? (
          <p class="field-error" role="alert">
            {error}
          </p>
        ) : null}
        {secret ? (
          <p role="status">
            Signing secret (shown once here; <em>Show secret</em> reads it again): <code class="secret">{secret}</code>
          </p>
        ) : null}
      </form>
    </details>
  );
}

function Consumer({ w, selected, onSelect, onDeleted }: { w: Webhook; selected: boolean; onSelect: () => void; onDeleted: () => void }) {
  const [secret, setSecret] = useState<string | null>(null);
  const [confirm, setConfirm] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const path = { webhookId: w.id };
  const run = async (fn: () => Promise<void>) => {
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <article class={`card consumer${selected ? ' selected' : ''}`} aria-label={`Webhook consumer ${w.url}`}>
      <header class="conn-head">
        <h3 class="mono small break">{w.url}</h3>
        {w.disabled ? <Badge status="FetchError">disabled</Badge> : <Badge status="Complete">active</Badge>}
      </header>
      <p class="small">
        Events: {w.eventTypes.map((t) => <code key={t} class="tag">{t}</code>)}
        {w.companyTags?.length ? <> · tags: {w.companyTags.map((t) => <code key={t} class="tag">{t}</code>)}</> : null}
      </p>
      <div class="row wrap">
        <button type="button" class="btn" aria-pressed={selected} onClick={onSelect}>
          Delivery log
        </button>
        <button type="button" class="btn" onClick={() => run(async () => setSecret((await ok(api.GET('/webhooks/{webhookId}/secret', { params: { path } }))).key))}>
          Show secret
        </button>
        <button type="button" class="btn" onClick={() => run(async () => setSecret((await ok(api.POST('/webhooks/{webhookId}/secret/rotate', { params: { path } }))).key))}>
          Rotate secret
        </button>
        {confirm ? (
          <button type="button" class="btn btn-danger" onClick={() => run(async () => {
            await ok(api.DELETE('/webhooks/{webhookId}', { params: { path } }));
            onDeleted();
          })}>
            Confirm delete
          </button>
        ) : (
          <button type="button" class="btn btn-ghost text-bad" onClick={() => setConfirm(true)}>
            Delete…
          </button>
        )}
      </div>
      {secret ? (
        <p class="small" role="status">
          Signing secret: <code class="secret">{secret}</code>{' '}
          <button type="button" class="btn btn-small btn-ghost" onClick={() => setSecret(null)}>
            Hide
          </button>
        </p>
      ) : null}
      {error ? (
        <p class="field-error" role="alert">
          {error}
        </p>
      ) : null}
    </article>
  );
}

function DeliveryLog({ webhook }: { webhook: Webhook }) {
  const [page, setPage] = useState(1);
  const [eventId, setEventId] = useState('');
  const [filter, setFilter] = useState('');
  const [since, setSince] = useState('');
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const log = useAsync(
    () => ok(api.GET('/webhooks/{webhookId}/attempts', { params: { path: { webhookId: webhook.id }, query: { page, pageSize: PAGE_SIZE, ...(filter ? { eventId: filter } : {}) } } })),
    [webhook.id, page, filter],
  );
  useInterval(() => void log.reload(true), 5000);
  const replay = async (eventId: string) => {
    setMsg(null);
    try {
      await ok(api.POST('/webhooks/{webhookId}/events/{eventId}/replay', { params: { path: { webhookId: webhook.id, eventId } } }));
      setMsg({ ok: true, text: `Event ${eventId.slice(0, 8)}… queued for delivery again.` });
      setTimeout(() => void log.reload(true), 800);
    } catch (e) {
      setMsg({ ok: false, text: errorText(e) });
    }
  };
  return (
    <section aria-labelledby="log-title" class="card">
      <h2 id="log-title">
        Delivery log <span class="muted small mono">{webhook.url}</span>
      </h2>
      <div class="filters">
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            setPage(1);
            setFilter(eventId.trim());
          }}
        >
          <label for="log-event" class="inline-label">
            Event id
          </label>
          <input id="log-event" class="mono" value={eventId} onInput={(e) => setEventId((e.currentTarget as HTMLInputElement).value)} />
          <button class="btn" type="submit">
            Filter
          </button>
        </form>
        <form
          class="row"
          onSubmit={async (e) => {
            e.preventDefault();
            setMsg(null);
            try {
              await ok(api.POST('/webhooks/{webhookId}/recover', { params: { path: { webhookId: webhook.id } }, body: { since: new Date(since).toISOString() } }));
              setMsg({ ok: true, text: `Every event that failed since ${fmtDate(new Date(since).toISOString())} is queued again.` });
            } catch (err) {
              setMsg({ ok: false, text: errorText(err) });
            }
          }}
        >
          <label for="recover-since" class="inline-label">
            Resend failed since
          </label>
          <input id="recover-since" type="datetime-local" value={since} onInput={(e) => setSince((e.currentTarget as HTMLInputElement).value)} />
          <button class="btn" type="submit" disabled={!since}>
            Resend
          </button>
        </form>
      </div>
      {msg ? (
        <p role="status" class={msg.ok ? 'text-ok' : 'text-bad'}>
          {msg.text}
        </p>
      ) : null}
      <ErrorBox error={log.error} />
      {log.data ? (
        <>
          <TableWrap label="Delivery attempts">
            <table class="table">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Event</th>
                  <th scope="col">Attempt</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">Latency</th>
                  <th scope="col">Response</th>
                  <th scope="col">
                    <span class="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {log.data.results.length === 0 ? (
                  <tr>
                    <td colSpan={7} class="empty">
                      No delivery attempts yet.
                    </td>
                  </tr>
                ) : null}
                {log.data.results.map((a) => (
                  <tr key={a.id} data-event={a.eventId}>
                    <td>{fmtDate(a.timestamp)}</td>
                    <td>
                      {a.eventType}
                      <div class="mono small muted">{a.eventId.slice(0, 8)}…</div>
                    </td>
                    <td>#{a.attempt}</td>
                    <td>{a.success ? <Badge status="Complete">{a.statusCode ?? 'ok'}</Badge> : <Badge status="FetchError">{a.statusCode ?? 'no answer'}</Badge>}</td>
                    <td class="num">{a.durationMs} ms</td>
                    <td class="small response-cell">
                      {a.error ?? (a.success ? 'accepted' : '')}
                      <ResponseBody body={a.responseBody} truncated={a.responseBodyTruncated} />
                    </td>
                    <td>
                      <button type="button" class="btn btn-small" onClick={() => replay(a.eventId)} aria-label={`Replay event ${a.eventId}`}>
                        Replay
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
          <Pager page={page} pageSize={PAGE_SIZE} total={log.data.totalResults} onPage={setPage} label="attempts" />
        </>
      ) : null}
    </section>
  );
}

/** What the receiver answered: its first 1 KiB as the API keeps it, as text (never rendered as HTML). */
function ResponseBody({ body, truncated }: { body?: string; truncated?: boolean }) {
  if (body === undefined) return null;
  if (body === '') return <div class="muted">empty body</div>;
  const oneLine = body.replace(/\s+/g, ' ').trim();
  return (
    <details class="response-body">
      <summary>
        <span class="mono">{oneLine.length > 40 ? `${oneLine.slice(0, 40)}…` : oneLine}</span>
      </summary>
      <pre class="json">{body}</pre>
      {truncated ? <p class="hint">First 1 KiB of a longer body.</p> : null}
    </details>
  );
}
