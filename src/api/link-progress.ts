/**
 * What the Link pages show of the pull a link started (src/store/first-pull.repository.ts), in words a business
 * understands: per data type waiting / reading / done / not available / could not be read, and an outcome once every
 * type has ended. No error text of the platform reaches the page (the application sees it through the API).
 */
import { isInProgress, type DatasetStatus } from '../domain/statuses.js';
import type { FirstPull } from '../store/first-pull.repository.js';

export type Tone = 'info' | 'ok' | 'bad' | 'muted';

export interface LinkProgress {
  state: 'running' | 'complete' | 'failed' | 'none';
  headline: string;
  intro: string;
  summary: string;
  tone: Tone;
  types: { dataType: string; label: string; status: string; progress: number; text: string; tone: Tone }[];
}

/** "chartOfAccounts" → "Chart of accounts", "company" → "Company information". */
export function dataTypeLabel(dataType: string): string {
  if (dataType === 'company') return 'Company information';
  const words = dataType.replace(/-/g, ' ').replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function typeState(status: string, description: string | null, progress: number, platform: string): { text: string; tone: Tone } {
  if (status === 'Queued') return { text: 'Waiting', tone: 'info' };
  if (isInProgress(status as DatasetStatus)) {
    if (description?.startsWith('Paused')) return { text: `Paused: ${platform} asked to slow down`, tone: 'info' };
    return { text: progress > 0 ? `Reading… ${progress}%` : 'Reading…', tone: 'info' };
  }
  if (status === 'Complete') return { text: 'Done', tone: 'ok' };
  if (status === 'NotSupported') return { text: `Not available from ${platform}`, tone: 'muted' };
  if (status === 'Cancelled') return { text: 'Cancelled', tone: 'muted' };
  if (status === 'AuthError' || status === 'PermissionsError') return { text: 'Access was refused', tone: 'bad' };
  if (status === 'RateLimitError') return { text: `${platform} kept asking to slow down`, tone: 'bad' };
  return { text: 'Could not be read', tone: 'bad' };
}

export function linkProgress(pull: FirstPull | undefined, names: { platform: string; client: string }): LinkProgress {
  const { platform, client } = names;
  if (!pull || pull.datasets.length === 0) {
    return {
      state: 'none',
      headline: 'Connected',
      intro: `Your ${platform} account is connected to ${client}.`,
      summary: `Nothing is read right away; ${client} reads your data on its schedule. You can close this window.`,
      tone: 'ok',
      types: [],
    };
  }
  const types = pull.datasets.map((d) => ({ dataType: d.dataType, label: dataTypeLabel(d.dataType), status: d.status, progress: d.progress, ...typeState(d.status, d.statusDescription, d.progress, platform) }));
  const ended = types.filter((t) => !isInProgress(t.status as DatasetStatus));
  const failed = types.filter((t) => t.tone === 'bad');
  const running = pull.completedAt === null && ended.length < types.length;
  if (running) {
    return {
      state: 'running',
      headline: 'Reading your data',
      intro: `Your ${platform} account is connected. ${client} is reading your data for the first time; you can close this window at any time, the reading goes on.`,
      summary: `${ended.length} of ${types.length} data types read${failed.length ? `, ${failed.length} could not be read` : ''}.`,
      tone: 'info',
      types,
    };
  }
  if (failed.length) {
    const some = failed.slice(0, 3).map((t) => t.label.toLowerCase());
    return {
      state: 'failed',
      headline: 'Connected, but some data could not be read',
      intro: `Your ${platform} account is connected to ${client}.`,
      summary: `${failed.length} of ${types.length} data types could not be read (${some.join(', ')}${failed.length > 3 ? '…' : ''}). ${client} can see why and will try again; you do not need to connect again unless ${client} asks you to.`,
      tone: 'bad',
      types,
    };
  }
  return {
    state: 'complete',
    headline: 'All done',
    intro: `Your ${platform} account is connected to ${client}.`,
    summary: `Your data has been read (${types.filter((t) => t.status === 'Complete').length} data types). You can close this window.`,
    tone: 'ok',
    types,
  };
}
