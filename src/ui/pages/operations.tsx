import { api, ok } from '../api/client';
import { BarLineChart } from '../components/chart';
import { duration, ErrorBox, fmtNum, Loading, PageHeader, TableWrap, useAsync, useInterval } from '../components/ui';

/** GET /operations/summary: the numbers /metrics exports, as JSON behind the API key; refreshed every 5 s. */
export function Operations() {
  const s = useAsync(() => ok(api.GET('/operations/summary')), []);
  useInterval(() => void s.reload(true), 5000);
  const d = s.data;
  const lastHour = d?.pullsPerHour[d.pullsPerHour.length - 1];
  const day = d?.pullsPerHour.reduce((a, h) => a + h.complete + h.other, 0) ?? 0;
  return (
    <main id="main" class="container">
      <PageHeader title="Operations" sub="Queue, pulls and webhooks across every process sharing this database." />
      <ErrorBox error={s.error} title="Could not read the operations summary" />
      {s.loading && !d ? <Loading /> : null}
      {d ? (
        <>
          <div class="stats" role="list">
            <Stat label="Queued pulls" value={fmtNum(d.queue.queued)} note={d.queue.oldestQueuedSeconds ? `oldest waiting ${duration(d.queue.oldestQueuedSeconds * 1000)}` : 'queue empty'} />
            <Stat label="Running pulls" value={fmtNum(d.queue.running)} note={Object.entries(d.queue.byStatus).filter(([k, v]) => k !== 'Queued' && v).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'} />
            <Stat label="Pulls this hour" value={fmtNum(lastHour ? lastHour.complete + lastHour.other : 0)} note={`${fmtNum(day)} in 24 h`} />
            <Stat label="Webhook backlog" value={fmtNum(d.webhookBacklog)} note="deliveries pending or retrying" />
          </div>
          <section class="card" aria-labelledby="pph-title">
            <h2 id="pph-title">Pulls per hour (24 h)</h2>
            <BarLineChart
              title="Pulls per hour"
              points={d.pullsPerHour.map((h) => ({ at: Date.parse(h.hour), bar: h.complete + h.other, line: h.other, tone: h.other ? 'bad' : 'ok' }))}
              barLabel="pulls ended"
              lineLabel="pulls not Complete"
            />
          </section>
          <section class="card" aria-labelledby="platforms-title">
            <h2 id="platforms-title">Platforms</h2>
            <p class="small muted">{d.process.description}.</p>
            <TableWrap label="Calls and 429s per platform">
              <table class="table compact">
                <thead>
                  <tr>
                    <th scope="col">Platform</th>
                    <th scope="col" class="num">Calls</th>
                    <th scope="col" class="num">429 received</th>
                  </tr>
                </thead>
                <tbody>
                  {d.process.sourceCalls.length === 0 ? (
                    <tr>
                      <td colSpan={3} class="empty">
                        No platform calls yet.
                      </td>
                    </tr>
                  ) : null}
                  {d.process.sourceCalls.map((c) => (
                    <tr key={c.platform}>
                      <th scope="row">{c.platform}</th>
                      <td class="num">{fmtNum(c.count)}</td>
                      <td class="num">{fmtNum(d.process.rateLimited.find((r) => r.platform === c.platform)?.count ?? 0)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
            <h3>Pulls finished by this process</h3>
            <p class="small">{d.process.pullsFinished.length ? d.process.pullsFinished.map((p) => `${p.status} ${fmtNum(p.count)}`).join(' · ') : 'none yet'}</p>
            <h3>Webhook attempts by this process</h3>
            <p class="small">{d.process.webhookAttempts.length ? d.process.webhookAttempts.map((p) => `${p.outcome} ${fmtNum(p.count)}`).join(' · ') : 'none yet'}</p>
          </section>
        </>
      ) : null}
    </main>
  );
}

function Stat({ label, value, note }: { label: string; value: string; note: string }) {
  return (
    <div class="card stat" role="listitem">
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      <div class="small muted">{note}</div>
    </div>
  );
}
