import { RequestValidationError, type ValidationItem } from './errors.js';

/**
 * Company name rule (platform-api.md §5.1, §7.2): characters outside `[A-Za-z0-9\s\-',&@.?!]` are removed,
 * not rejected; a name that is empty afterwards is a 400.
 */
export function sanitizeCompanyName(raw: string, itemId = 'name'): string {
  const cleaned = raw.replace(/[^A-Za-z0-9\s\-',&@.?!]/g, '').replace(/\s+/g, ' ').trim();
  if (cleaned.length === 0) {
    throw RequestValidationError.of(itemId, 'Name must contain at least one allowed character (letters, digits, spaces, - \' , & @ . ? !).', 'Pattern', 'ClientsApi');
  }
  return cleaned;
}

export const MAX_TAGS = 10;
export const MAX_TAG_KEY = 27;
export const MAX_TAG_VALUE = 100;

/** Tags: at most 10; key 1–27 characters, value at most 100 characters, both strings. */
export function validateTags(tags: Record<string, unknown>, itemId = 'tags'): Record<string, string> {
  const errors: ValidationItem[] = [];
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS) {
    errors.push({ itemId, message: `A company may have at most ${MAX_TAGS} tags.`, validatorName: 'MaxItems' });
  }
  for (const [k, v] of entries) {
    if (k.length < 1 || k.length > MAX_TAG_KEY) {
      errors.push({ itemId: `${itemId}.${k}`, message: `Tag keys must be 1 to ${MAX_TAG_KEY} characters long.`, validatorName: 'Length' });
    }
    if (typeof v !== 'string') {
      errors.push({ itemId: `${itemId}.${k}`, message: 'Tag values must be strings.', validatorName: 'Type' });
    } else if (v.length > MAX_TAG_VALUE) {
      errors.push({ itemId: `${itemId}.${k}`, message: `Tag values must be at most ${MAX_TAG_VALUE} characters long.`, validatorName: 'Length' });
    }
  }
  if (errors.length) throw new RequestValidationError(errors, 'ClientsApi');
  return tags as Record<string, string>;
}
