import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { LocationProvider, Router, Route, useLocation } from 'preact-iso';
import { api, auth, ok, type Profile } from './api/client';
import { brandPalette } from '../domain/brand-colour';
import { SignIn } from './pages/sign-in';
import { Companies } from './pages/companies';
import { CompanyPage } from './pages/company';
import { History } from './pages/history';
import { Records } from './pages/records';
import { Webhooks } from './pages/webhooks';
import { Operations } from './pages/operations';
import './styles.css';

/** Only http(s) and inline images (as the Link pages): a profile URL never becomes another scheme. */
const safeImage = (url: string | undefined) => (url && /^(https?:|data:image\/)/i.test(url) ? url : undefined);

/**
 * The profile's branding, as on the Link pages: its name and icon in the top bar, and its brandColor (made AA-safe by
 * the same palette function) as the dashboard's accent.
 */
function useProfile(): Profile | undefined {
  const [profile, setProfile] = useState<Profile>();
  useEffect(() => {
    ok(api.GET('/profile')).then(setProfile, () => undefined);
  }, []);
  useEffect(() => {
    const p = brandPalette(profile?.brandColor);
    const root = document.documentElement.style;
    if (p) {
      root.setProperty('--primary', p.accent);
      root.setProperty('--primary-hover', p.accentHover);
    } else {
      root.removeProperty('--primary');
      root.removeProperty('--primary-hover');
    }
  }, [profile?.brandColor]);
  return profile;
}

function Nav() {
  const { path } = useLocation();
  const profile = useProfile();
  const icon = safeImage(profile?.iconUrl);
  const link = (href: string, label: string, match: (p: string) => boolean) => (
    <a href={href} aria-current={match(path) ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <header class="topbar">
      <a class="brand" href="/app/companies">
        {icon ? (
          <img src={icon} alt="" width={22} height={22} />
        ) : (
          <svg aria-hidden="true" width="22" height="22" viewBox="0 0 24 24">
            <path d="M4 12a8 8 0 0 1 13.7-5.6M20 12a8 8 0 0 1-13.7 5.6" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" />
            <path d="M18 2v5h-5M6 22v-5h5" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round" />
          </svg>
        )}
        <span class="brand-name">{profile?.name ?? 'Syncline'}</span>
      </a>
      <nav aria-label="Main">
        {link('/app/companies', 'Companies', (p) => p === '/app' || p.startsWith('/app/companies'))}
        {link('/app/webhooks', 'Webhooks', (p) => p.startsWith('/app/webhooks'))}
        {link('/app/operations', 'Operations', (p) => p.startsWith('/app/operations'))}
      </nav>
      <button type="button" class="btn btn-ghost signout" onClick={() => auth.signOut()}>
        Sign out
      </button>
    </header>
  );
}

function NotFound() {
  return (
    <main id="main" class="container">
      <h1>Page not found</h1>
      <p>
        <a href="/app/companies">Go to companies</a>
      </p>
    </main>
  );
}

function App() {
  const [key, setKey] = useState(auth.key());
  useEffect(() => auth.subscribe(() => setKey(auth.key())), []);
  if (!key) return <SignIn />;
  return (
    <LocationProvider>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <Nav />
      <Router>
        <Route path="/app" component={Companies} />
        <Route path="/app/companies" component={Companies} />
        <Route path="/app/companies/:id" component={CompanyPage} />
        <Route path="/app/companies/:id/history" component={History} />
        <Route path="/app/companies/:id/records" component={Records} />
        <Route path="/app/companies/:id/records/:type" component={Records} />
        <Route path="/app/webhooks" component={Webhooks} />
        <Route path="/app/operations" component={Operations} />
        <Route default component={NotFound} />
      </Router>
    </LocationProvider>
  );
}

render(<App />, document.getElementById('root')!);
