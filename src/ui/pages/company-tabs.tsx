import { useLocation } from 'preact-iso';

export function CompanyTabs({ id, name }: { id: string; name?: string }) {
  const { path } = useLocation();
  const tab = (href: string, label: string, current: boolean) => (
    <a href={href} class="tab" aria-current={current ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <p class="crumbs">
        <a href="/app/companies">Companies</a> <span aria-hidden="true">/</span> <span>{name ?? '…'}</span>
      </p>
      <nav class="tabs" aria-label="Company">
        {tab(`/app/companies/${id}`, 'Overview', path === `/app/companies/${id}`)}
        {tab(`/app/companies/${id}/history`, 'Pull history', path.endsWith('/history'))}
        {tab(`/app/companies/${id}/records`, 'Records', path.includes('/records'))}
      </nav>
    </>
  );
}
